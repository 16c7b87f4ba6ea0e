from __future__ import annotations

import pytest


@pytest.fixture
def cli_env(settings, tmp_path) -> dict[str, str]:
    """What `thidua` run in a test needs to find the session's database."""
    return {
        "THIDUA_DATABASE_URL": settings.database_url,
        "THIDUA_APP_DATABASE_URL": settings.app_database_url,
        "THIDUA_DATA_DIR": str(tmp_path),
        "THIDUA_LOG_JSON": "false",
        "THIDUA_JWT_SECRET": settings.jwt_secret,
    }
