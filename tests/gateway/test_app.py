"""The web application: health, readiness, GraphQL and its limits."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import strawberry

from services.gateway.app import create_app
from services.gateway.errors import DomainErrors
from services.gateway.runtime import Runtime
from services.gateway.schema import product_version
from shared.db import owner_connection
from shared.errors import NotFound
from shared.settings import Settings
from tests.conftest import fresh_database, with_database


def client_for(app) -> httpx.AsyncClient:
    # In the test's own event loop, where the session's pool lives.
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client(settings, runtime):
    async with client_for(create_app(settings, runtime)) as c:
        yield c


async def test_health_answers_without_the_database(client):
    response = await client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_when_the_database_answers_and_migrations_are_applied(client):
    response = await client.get("/ready")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


@asynccontextmanager
async def ready_probe_on_fresh_database(server_url, settings):
    """A runtime on a database of its own (so its schema_migrations can be tampered with),
    and an owner connection to do it with; yields (owner, ask /ready)."""
    url = await fresh_database(server_url)
    app_url = with_database(settings.app_database_url, urlsplit(url).path.lstrip("/"))
    runtime = await Runtime.start(
        settings.model_copy(update={"database_url": url, "app_database_url": app_url})
    )

    async def ready():
        async with client_for(create_app(settings, runtime)) as client:
            return await client.get("/ready")

    try:
        async with owner_connection(url) as owner:
            yield owner, ready
    finally:
        await runtime.close()


async def test_not_ready_while_a_migration_is_pending(server_url, settings):
    async with ready_probe_on_fresh_database(server_url, settings) as (owner, ready):
        await owner.execute("DELETE FROM schema_migrations WHERE version = 1")
        response = await ready()
    assert response.status_code == 503
    assert response.json()["reason"] == "migrations pending"


async def test_not_ready_when_an_applied_migration_was_edited(server_url, settings):
    async with ready_probe_on_fresh_database(server_url, settings) as (owner, ready):
        await owner.execute("UPDATE schema_migrations SET checksum = 'edited'")
        response = await ready()
    assert response.status_code == 503
    assert "MigrationError" in response.json()["reason"]


async def test_graphql_answers_version_and_server_time(client):
    response = await client.post("/graphql", json={"query": "{ version serverTime }"})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["version"] == product_version() != "0+unknown"
    served = datetime.fromisoformat(data["serverTime"])
    assert abs(served - datetime.now(UTC)) < timedelta(seconds=5)


async def test_graphql_over_get_too(client):
    response = await client.get("/graphql", params={"query": "{ version }"})
    assert response.json()["data"]["version"] == product_version()


async def test_a_syntax_error_is_reported_as_such(client):
    response = await client.post("/graphql", json={"query": "{ version "})
    [error] = response.json()["errors"]
    assert "Syntax Error" in error["message"]


async def test_a_value_refused_by_its_type_is_said_in_vietnamese_without_pythons_words(client):
    dated = await client.post(
        "/graphql",
        json={
            "query": "query ($at: DateTime!) { summary(firstYear: 2021, asOf: $at) { unitId } }",
            "variables": {"at": "garbage"},
        },
    )
    [error] = dated.json()["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["message"].startswith("Giá trị không hợp lệ: ")
    assert "DateTime" in error["message"] and "invalid literal" not in error["message"]
    wide = await client.post(
        "/graphql", json={"query": "{ summary(firstYear: 2147483648) { unitId } }"}
    )
    [error] = wide.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"].startswith("Câu truy vấn không hợp lệ: Int cannot represent")


async def test_too_many_aliases_are_refused(client, settings):
    many = " ".join(f"a{i}: version" for i in range(settings.graphql_max_aliases + 1))
    response = await client.post("/graphql", json={"query": f"{{ {many} }}"})
    assert "data" not in response.json() or response.json()["data"] is None
    assert "aliases" in response.json()["errors"][0]["message"]


async def test_too_many_tokens_are_refused(client, settings):
    many = " ".join("version" for _ in range(settings.graphql_max_tokens + 1))
    response = await client.post("/graphql", json={"query": f"{{ {many} }}"})
    assert "token" in response.json()["errors"][0]["message"].lower()


async def test_a_request_body_over_the_limit_is_refused(client, settings):
    padding = "#" * (settings.max_request_bytes + 1)
    response = await client.post("/graphql", json={"query": "{ version }" + padding})
    assert response.status_code == 413
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "REQUEST_TOO_LARGE"
    limit = f"{settings.max_request_bytes:,}".replace(",", ".")  # Vietnamese digit groups
    assert error["message"] == f"Yêu cầu quá lớn (tối đa {limit} byte)."


async def test_what_the_http_layer_refuses_has_a_code_and_a_vietnamese_message(client):
    """No such path, or a method the path does not take: refused before any route runs, in
    the shape of the path's other refusals (GraphQL's on /graphql, ``code`` and ``message``
    on the others), never Litestar's English without a code."""
    nowhere = await client.get("/khong-co")
    assert nowhere.status_code == 404
    assert (nowhere.json()["code"], nowhere.json()["message"]) == (
        "NOT_FOUND",
        "Không có đường dẫn này.",
    )
    wrong = await client.delete("/graphql")
    assert wrong.status_code == 405
    [error] = wrong.json()["errors"]
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"
    assert error["message"] == "Đường dẫn này không nhận phương thức này."
    assert "GET" in wrong.headers["allow"] and "POST" in wrong.headers["allow"]


def test_graphiql_is_on_by_default_only_with_the_embedded_database():
    assert Settings(database_url=None).graphiql_enabled
    assert not Settings(database_url="postgresql://db.example/thidua").graphiql_enabled
    assert Settings(database_url="postgresql://db.example/thidua", graphiql=True).graphiql_enabled


async def test_graphiql_and_introspection_when_on(settings, runtime):
    opened = settings.model_copy(update={"graphiql": True})
    async with client_for(create_app(opened, runtime)) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        response = await client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}
        )
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_graphiql_and_introspection_can_be_switched_off(settings, runtime):
    closed = settings.model_copy(update={"graphiql": False})
    async with client_for(create_app(closed, runtime)) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert "graphiql" not in page.text.lower()
        response = await client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}
        )
        assert "introspection" in response.json()["errors"][0]["message"].lower()


def test_domain_errors_keep_code_and_message_and_others_are_masked():
    @strawberry.type
    class Query:
        @strawberry.field
        def missing(self) -> str:
            raise NotFound("Phong trào 42.")

        @strawberry.field
        def broken(self) -> str:
            raise RuntimeError("password=hunter2 in a stack trace")

    schema = strawberry.Schema(query=Query, extensions=[DomainErrors])
    missing = schema.execute_sync("{ missing }").errors[0]
    assert missing.message == "Không tìm thấy. Phong trào 42."
    assert missing.extensions == {"code": "NOT_FOUND"}
    broken = schema.execute_sync("{ broken }").errors[0]
    assert "hunter2" not in broken.message
    assert broken.extensions == {"code": "INTERNAL"}
