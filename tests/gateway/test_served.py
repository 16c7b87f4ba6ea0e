"""The served path's own per-request work: tokens verified once until they expire, answers
encoded whole, no worker thread or task group per request, a client that hung up logged as
no fault, uvicorn on its C parser."""

from __future__ import annotations

import gc
import json
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar._kwargs import kwargs_model
from litestar.utils import sync as litestar_sync

from services.gateway.app import VerifiedTokens, create_app, encode_json
from services.gateway.cli import tune_gc, uvicorn_options
from services.gateway.schema import product_version
from shared.auth import LEEWAY_SECONDS, TokenService, VerifiedToken
from shared.errors import DomainError
from tests.gateway.test_logs import events, log_lines


class CountingVerifier:
    """The real token service, counting how often it is asked."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self.calls = 0

    def verify_token(self, token: str) -> VerifiedToken:
        self.calls += 1
        return self.tokens.verify_token(token)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def verifier(settings) -> CountingVerifier:
    return CountingVerifier(TokenService.from_settings(settings))


def issue(verifier: CountingVerifier, minutes: int = 5) -> str:
    return verifier.tokens.issue(
        tenant="ldld-ninh-binh", roles=["officer"], subject="s", ttl=timedelta(minutes=minutes)
    )


def test_a_token_is_verified_once_while_it_is_valid(verifier):
    # Given a valid token, when it comes with three requests,
    verified = VerifiedTokens(verifier)  # type: ignore[arg-type]
    token = issue(verifier)
    answers = [verified.verify(token) for _ in range(3)]
    # then its signature and claims were checked once, and every request has its principal.
    assert verifier.calls == 1
    assert {a.principal.tenant for a in answers} == {"ldld-ninh-binh"}


def test_past_its_expiry_a_remembered_token_is_verified_again(verifier):
    # Given a token remembered as valid,
    clock = Clock()
    verified = VerifiedTokens(verifier, clock=clock)  # type: ignore[arg-type]
    token = issue(verifier, minutes=5)
    verified.verify(token)
    # when the clock passes its expiry and the leeway PyJWT gives it,
    clock.now += 5 * 60 + LEEWAY_SECONDS + 1
    verified.verify(token)
    # then it is not answered from memory: the token service decides again.
    assert verifier.calls == 2


def test_a_refused_token_is_never_remembered(verifier, settings):
    # Given a token signed with another secret,
    verified = VerifiedTokens(verifier)  # type: ignore[arg-type]
    other = settings.model_copy(update={"jwt_secret": "another-secret-of-at-least-32-bytes!"})
    forged = issue(CountingVerifier(TokenService.from_settings(other)))
    # when it comes twice, then it is refused twice, each time by the token service.
    for _ in range(2):
        with pytest.raises(DomainError) as refused:
            verified.verify(forged)
        assert refused.value.code == "TOKEN_BAD_SIGNATURE"
    assert verifier.calls == 2


def test_the_oldest_token_is_forgotten_first(verifier):
    # Given room for two tokens, when three come, the first is forgotten, not the others.
    verified = VerifiedTokens(verifier, size=2)  # type: ignore[arg-type]
    first, second, third = (issue(verifier, minutes=m) for m in (5, 6, 7))
    for token in (first, second, third):
        verified.verify(token)
    assert list(verified.known) == [second, third]


async def test_a_graphql_request_stays_on_the_event_loop(settings, runtime, monkeypatch):
    # Given a count of what Litestar hands to worker threads and task groups,
    handed: list[str] = []
    to_thread, task_group = litestar_sync.sync_to_thread, kwargs_model.create_task_group

    async def counted_to_thread(*args: Any, **kwargs: Any) -> Any:
        handed.append("thread")
        return await to_thread(*args, **kwargs)

    def counted_task_group() -> Any:
        handed.append("task group")
        return task_group()

    monkeypatch.setattr(litestar_sync, "sync_to_thread", counted_to_thread)
    monkeypatch.setattr(kwargs_model, "create_task_group", counted_task_group)
    # when a query is answered,
    transport = httpx.ASGITransport(app=create_app(settings, runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.post("/graphql", json={"query": "{ version }"})
    # then it was, without either (strawberry's own controller takes one of each per request).
    assert answer.json() == {"data": {"version": product_version()}}
    assert handed == []


def test_answers_are_encoded_whole_even_past_64_bits():
    # orjson refuses an int past 64 bits; a BigInt may be one.
    answer = {"data": {"benefitVnd": 2**70, "name": "Sáng kiến", "n": [1, None, 2.5]}}
    assert json.loads(encode_json(answer)) == answer
    small = {"data": {"version": "0.1.0"}}
    assert encode_json(small) == b'{"data":{"version":"0.1.0"}}'


async def test_a_client_that_hung_up_is_one_info_line_without_traceback(
    settings, runtime, capsys, restore_logging
):
    # Given the app logging JSON lines, when a client sends a request and is gone before its
    # body is read,
    app = create_app(settings.model_copy(update={"log_json": True}), runtime)
    capsys.readouterr()
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(http_scope("/graphql"), receive, send)  # type: ignore[arg-type]
    # then the log has one info line for it, with no traceback, and no error.
    lines = log_lines(capsys.readouterr().out)
    [gone] = events(lines, "client_disconnected")
    assert gone["level"] == "info" and gone["path"] == "/graphql"
    assert not {"exception", "traceback", "exc_info"} & gone.keys()
    assert all(line["level"] != "error" for line in lines)


def http_scope(path: str) -> dict:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"20")]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("test", 80),
        "client": ("127.0.0.1", 50000),
    }


def test_serve_runs_uvicorn_on_its_c_parser_without_access_lines(settings):
    # Given the options `thidua serve` runs uvicorn with, when uvicorn loads them,
    config = uvicorn.Config(Litestar(route_handlers=[]), **uvicorn_options(settings))
    config.load()
    # then it parses HTTP with httptools (not the pure-Python h11) and writes no access line.
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    assert config.access_log is False


def test_serve_collects_young_objects_less_often_as_set(settings):
    # Given the thresholds Python's collector starts with
    before = gc.get_threshold()
    try:
        # When `thidua serve` tunes it, set to 50,000 and then to 0
        tune_gc(settings.model_copy(update={"gc_young_threshold": 50_000}))
        tuned = gc.get_threshold()
        gc.set_threshold(*before)
        tune_gc(settings.model_copy(update={"gc_young_threshold": 0}))
        # Then a young collection waits for 50,000 allocations; 0 keeps Python's own
        assert tuned == (50_000, 20, 10)
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)


@pytest.fixture
def restore_logging(settings):
    yield
    create_app(settings)  # the suite's own (console) logging again, for the tests after
