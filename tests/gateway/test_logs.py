"""The server's log: one JSON object a line, a refusal at info level with its code, only an
unexpected exception at error level, with its traceback inside its line."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
import pytest

from services.gateway.app import create_app
from services.gateway.runtime import Runtime
from shared.auth import TokenService

NOWHERE = "00000000-0000-0000-0000-000000000000"
REFUSED = (
    'mutation Amend { amendIndicatorTarget(campaignId: "' + NOWHERE + '", code: "c", '
    'target: 5, reason: "r") { id } }'
)
READ = 'query Read { campaign(id: "' + NOWHERE + '") { id } }'


@pytest.fixture
def json_settings(settings):
    return settings.model_copy(update={"log_json": True})


def token(settings) -> str:
    return TokenService.from_settings(settings).issue(
        tenant="ldld-ninh-binh", roles=["officer"], subject="s", ttl=timedelta(minutes=5)
    )


async def post(app, settings, query: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token(settings)}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    ) as client:
        return await client.post("/graphql", json={"query": query}, **kwargs)


def log_lines(captured: str) -> list[dict]:
    lines = [line for line in captured.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # each line, whole, is one JSON object


def events(lines: list[dict], name: str) -> list[dict]:
    return [line for line in lines if line.get("event") == name]


@pytest.fixture
def restore_logging(settings):
    yield
    create_app(settings)  # the suite's own (console) logging again, for the tests after


async def test_a_refusal_is_one_info_line_with_its_code_and_no_traceback(
    json_settings, runtime, capsys, restore_logging
):
    # Given the app logging JSON lines, when a mutation is refused (its campaign is nowhere),
    app = create_app(json_settings, runtime)
    capsys.readouterr()
    response = await post(app, json_settings, REFUSED)
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # then the log has one line for it: info, the code, the operation, and no traceback.
    lines = log_lines(capsys.readouterr().out)
    [refused] = events(lines, "graphql_refused")
    assert refused["level"] == "info" and refused["code"] == "NOT_FOUND"
    assert refused["operation"] == "Amend" and refused["path"] == ["amendIndicatorTarget"]
    assert not {"exception", "traceback", "exc_info"} & refused.keys()
    assert all(line["level"] != "error" for line in lines)


async def test_a_client_error_is_an_info_line_too(json_settings, runtime, capsys, restore_logging):
    app = create_app(json_settings, runtime)
    capsys.readouterr()
    await post(app, json_settings, "{ version ")
    await post(app, json_settings, "{ nosuchfield }")
    lines = log_lines(capsys.readouterr().out)
    codes = [line["code"] for line in events(lines, "graphql_refused")]
    assert all(line["level"] == "info" for line in lines)
    # The code logged is the code the client got, so the two can be matched.
    assert codes == ["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"]


async def test_a_refused_token_is_an_info_line_with_its_code(
    json_settings, runtime, capsys, restore_logging
):
    app = create_app(json_settings, runtime)
    capsys.readouterr()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": "Bearer not.a.token"},
    ) as client:
        response = await client.post("/graphql", json={"query": "{ version }"})
    assert response.status_code == 401
    code = response.json()["errors"][0]["extensions"]["code"]
    [refused] = events(log_lines(capsys.readouterr().out), "token_refused")
    assert refused["level"] == "info" and refused["code"] == code


async def test_an_unexpected_exception_is_one_error_line_with_the_traceback_inside(
    json_settings, capsys, restore_logging
):
    # Given a runtime whose pool is closed (the database gone from under the server),
    broken = await Runtime.start(json_settings)
    await broken.close()
    app = create_app(json_settings, broken)
    capsys.readouterr()
    # when a read needs the database,
    response = await post(app, json_settings, READ)
    # then the client sees INTERNAL and nothing more,
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL" and "pool" not in error["message"]
    # and the log has one error line for it, traceback inside the JSON.
    lines = log_lines(capsys.readouterr().out)
    errors = [line for line in lines if line["level"] == "error"]
    assert [e["event"] for e in errors] == ["graphql_internal_error"]
    assert "Traceback" in errors[0]["traceback"] and errors[0]["operation"] == "Read"


async def test_standard_library_records_are_json_lines_with_the_traceback_inside(
    json_settings, capsys, restore_logging
):
    # Strawberry, uvicorn and asyncpg log through the standard library, not structlog.
    create_app(json_settings)
    capsys.readouterr()
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        logging.getLogger("strawberry.execution").exception("an error\nover two lines")
    logging.getLogger("uvicorn.error").warning("Uvicorn says %s", "hello")
    lines = log_lines(capsys.readouterr().out)
    assert [line["event"] for line in lines] == ["an error\nover two lines", "Uvicorn says hello"]
    strawberry, uvicorn = lines
    assert strawberry["level"] == "error" and strawberry["logger"] == "strawberry.execution"
    assert strawberry["exception"][0]["exc_type"] == "ValueError"
    assert uvicorn["level"] == "warning"


async def test_an_http_level_failure_is_one_error_line_and_a_json_500(
    json_settings, runtime, capsys, restore_logging
):
    # Given a route that fails unexpectedly before GraphQL runs (authentication on a runtime
    # that has none),
    app = create_app(json_settings, runtime)
    app.state.runtime = None
    capsys.readouterr()
    response = await post(app, json_settings, READ)
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    lines = log_lines(capsys.readouterr().out)
    [error] = [line for line in lines if line["level"] == "error"]
    assert error["event"] == "http_internal_error"
    assert error["exception"][0]["exc_type"] == "AttributeError"
