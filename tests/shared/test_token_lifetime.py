"""A token's lifetime is capped (THIDUA_JWT_MAX_TTL), whoever signed it; issued tokens carry
an id."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from shared.auth import AuthConfigInvalid, TokenService
from shared.errors import InvalidInput
from shared.settings import Settings

SECRET = "s" * 40
YEAR_3000 = int(datetime(3000, 1, 1, tzinfo=UTC).timestamp())


def service(tmp_path: Path, **settings) -> TokenService:
    return TokenService.from_settings(Settings(data_dir=tmp_path, jwt_secret=SECRET, **settings))


def signed(**claims) -> str:
    now = int(time.time())
    base = {"sub": "u", "tenant": "t", "roles": ["officer"], "aud": "thidua", "iss": "thidua"}
    return jwt.encode({**base, "iat": now, **claims}, SECRET, algorithm="HS256")


def test_a_token_valid_until_the_year_3000_is_refused(tmp_path):
    with pytest.raises(Exception) as caught:
        service(tmp_path).verify(signed(exp=YEAR_3000))
    assert caught.value.code == "TOKEN_LIFETIME_TOO_LONG"


def test_the_cap_is_the_configured_one(tmp_path):
    now = int(time.time())
    day = signed(exp=now + 86400)
    assert service(tmp_path).verify(day).subject == "u"  # default 24h
    with pytest.raises(Exception) as caught:
        service(tmp_path, jwt_max_ttl="12h").verify(day)
    assert caught.value.code == "TOKEN_LIFETIME_TOO_LONG"


def test_issue_refuses_a_lifetime_over_the_cap_and_gives_each_token_an_id(tmp_path):
    tokens = service(tmp_path, jwt_max_ttl="12h")
    with pytest.raises(InvalidInput):
        tokens.issue(tenant="t", roles=["member"], subject="u", ttl=timedelta(hours=13))
    first, second = (
        tokens.verify_token(
            tokens.issue(tenant="t", roles=["member"], subject="u", ttl=timedelta(hours=12))
        )
        for _ in range(2)
    )
    assert first.token_id and second.token_id and first.token_id != second.token_id


@pytest.mark.parametrize("text", ["forever", "0h", "31d"])
def test_a_cap_that_cannot_work_is_a_configuration_error(tmp_path, text):
    with pytest.raises(AuthConfigInvalid):
        service(tmp_path, jwt_max_ttl=text)


@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_a_time_given_as_a_string_is_a_bad_claim_not_a_crash(tmp_path, claim):
    # Signed by the key's holder (an issuer that writes strings): this answered HTTP 500.
    now = int(time.time())
    claims = {"iat": now, "exp": now + 600}
    claims[claim] = str(claims[claim])
    with pytest.raises(Exception) as caught:
        service(tmp_path).verify(signed(**claims))
    assert caught.value.code == "TOKEN_BAD_CLAIMS"
