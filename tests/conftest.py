"""Fixtures: a real PostgreSQL for the whole session, and a fresh database on it.

The server is the embedded one (pgserver) started here in a temporary directory, or the one at
``THIDUA_TEST_DATABASE_URL`` when that is set (its user must be allowed to create databases).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from services.gateway.runtime import Runtime
from shared.db import APP_ROLE, EmbeddedPostgres, owner_connection, with_user
from shared.eventstore import EventStore
from shared.migrate import migrate
from shared.settings import Settings


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Admin URL of the server the suite runs against."""
    given = os.environ.get("THIDUA_TEST_DATABASE_URL")
    if given:
        yield given
        return
    embedded = EmbeddedPostgres(tmp_path_factory.mktemp("embedded"), cleanup="delete")
    embedded.start()
    try:
        yield embedded.admin_url()
    finally:
        embedded.stop()


def with_database(url: str, name: str) -> str:
    """The same server URL, naming another database."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def fresh_database(server_url: str, *, migrated: bool = True) -> str:
    name = f"thidua_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(server_url, name)
    if migrated:
        async with owner_connection(url) as owner:
            await migrate(owner)
    return url


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> str:
    return await fresh_database(server_url)


@pytest.fixture(scope="session")
def app_database_url(database_url: str) -> str:
    """The pool logs in as thidua_app (trust on the embedded server's socket; for another server,
    THIDUA_TEST_APP_DATABASE_URL gives its URL, database name aside, password included)."""
    given = os.environ.get("THIDUA_TEST_APP_DATABASE_URL")
    if given:
        return with_database(given, urlsplit(database_url).path.lstrip("/"))
    return with_user(database_url, APP_ROLE)


@pytest.fixture(scope="session")
def settings(
    database_url: str, app_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        database_url=database_url,
        app_database_url=app_database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        pool_max_size=40,
        notify_interval_ms=5,
        poll_interval_s=0.5,
        log_json=False,
        jwt_secret="the-test-suites-own-secret-of-at-least-32-bytes",
        aggregate_cache_check=True,  # every cached aggregate compared with its stream's fold
    )


@pytest.fixture(scope="session")
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    rt = await Runtime.start(settings)
    try:
        yield rt
    finally:
        await rt.close()


@pytest.fixture
def store(runtime: Runtime) -> EventStore:
    return runtime.store


@pytest.fixture
async def owner(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the database owner (superuser here): what an attacker with full access has."""
    async with owner_connection(database_url) as conn:
        yield conn


@pytest.fixture
def tenant() -> str:
    """A tenant id no other test uses."""
    return f"t-{uuid.uuid4().hex[:12]}"


GOLDEN = Path(__file__).parent / "golden"
