"""A fuzzer nobody here wrote (schemathesis, GraphQL mode) against the served app: ``thidua
serve`` in a subprocess, over real HTTP, on a database holding the demo, with the token of the
demo province's officer. Every operation of the schema gets valid and invalid queries.

Must hold for every answer: no HTTP 5xx, no ``INTERNAL`` (an unexpected exception, masked),
every error with a code; and the server's log stays one JSON object a line.

Reproducible: Hypothesis is derandomized (the same cases on every run). THIDUA_FUZZ_EXAMPLES
sets the examples per operation (default 60: about 2,400 requests, under a minute on two
cores; a few hundred, by hand, for a longer hunt). Every crash found becomes a test of its own
(tests/gateway/test_errors.py)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.graphql import nodes

from services.demo import loader as demo
from services.demo import plans as demo_plans
from services.gateway.runtime import Runtime
from services.gateway.schema import build_schema
from shared.auth import TokenService
from shared.settings import Settings
from tests.conftest import fresh_database, with_database
from tests.gateway.test_serve import THIDUA, free_port, wait_ready

EXAMPLES = int(os.environ.get("THIDUA_FUZZ_EXAMPLES", "60"))
# The server is fuzzed as in production, GraphiQL and introspection off: the fuzzer reads the
# schema from the code that serves it (the same types; only introspection differs).
# BigInt as schemathesis has it (any integer) and as careless clients send it: digits in a
# string, decimals, words.
schemathesis.graphql.scalar(
    "BigInt",
    st.one_of(
        st.integers().map(nodes.Int),
        st.integers().map(str).map(nodes.String),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.text(max_size=20).map(nodes.String),
    ),
)
SCHEMA = schemathesis.graphql.from_dict(
    build_schema(Settings(database_url="postgresql://localhost/x", graphiql=True)).introspect()
)
OPERATIONS = [result.ok().label for result in SCHEMA.get_all_operations()]


@dataclass(frozen=True)
class Served:
    base_url: str
    headers: dict[str, str]
    log: Path


@pytest.fixture(scope="module")
async def demo_database(server_url, settings) -> Settings:
    """A database of its own (the fuzzer writes whatever it likes), with the demo loaded."""
    url = await fresh_database(server_url)
    app_url = with_database(settings.app_database_url, urlsplit(url).path.lstrip("/"))
    own = settings.model_copy(update={"database_url": url, "app_database_url": app_url})
    runtime = await Runtime.start(own)
    try:
        await demo.load_demo(runtime)
    finally:
        await runtime.close()
    return own


@pytest.fixture(scope="module")
def served(demo_database: Settings, tmp_path_factory) -> Iterator[Served]:
    where = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env.update(
        THIDUA_DATA_DIR=str(where / ".thidua"),
        THIDUA_DATABASE_URL=demo_database.database_url or "",
        THIDUA_APP_DATABASE_URL=demo_database.app_database_url or "",
        THIDUA_JWT_SECRET=demo_database.jwt_secret or "",
        THIDUA_PORT=str(port),
        THIDUA_LOG_JSON="true",
        THIDUA_GRAPHIQL="false",
    )
    log = where / "server.log"  # stdout: the log; stderr: the command's own one-line banner
    with log.open("w") as sink, (where / "stderr.txt").open("w") as banner:
        proc = subprocess.Popen([THIDUA, "serve"], env=env, stdout=sink, stderr=banner)
    base = f"http://127.0.0.1:{port}"
    token = TokenService.from_settings(demo_database).issue(
        tenant=demo_plans.PROVINCE, roles=["officer"], subject="fuzzer", ttl=timedelta(hours=1)
    )
    try:
        wait_ready(base, proc)
        yield Served(f"{base}/graphql", {"Authorization": f"Bearer {token}"}, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def cases(label: str) -> st.SearchStrategy:
    operation = SCHEMA.find_operation_by_label(label)
    return st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )


def problems(status: int, text: str) -> list[str]:
    """What is wrong with one answer: a 5xx, a body that is not JSON, INTERNAL, a codeless error."""
    if status >= 500:
        return [f"HTTP {status}: {text[:500]}"]
    try:
        body = json.loads(text)
    except ValueError:
        return [f"HTTP {status}, not JSON: {text[:500]}"]
    if not isinstance(body, dict) or not {"data", "errors"} & body.keys():
        return [f"HTTP {status}, not a GraphQL answer: {text[:500]}"]
    found = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code is None or code == "INTERNAL":
            found.append(f"HTTP {status}, error with code {code}: {error}")
    return found


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_input_makes_the_served_app_fail(label, served, session):
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(label))
    def one_case(case) -> None:
        response = case.call(base_url=served.base_url, session=session, headers=served.headers)
        found = problems(response.status_code, response.text)
        assert not found, f"{case.body}\n{found}"

    one_case()


def test_the_fuzzed_server_logged_json_lines_only(served):
    # Runs after the fuzzing above (pytest keeps the file's order): whatever it sent, the log is
    # still one JSON object a line, and nothing reached error level.
    lines = [line for line in served.log.read_text().splitlines() if line.strip()]
    assert lines, "the server logged nothing at all"
    parsed = [json.loads(line) for line in lines]
    errors = [line for line in parsed if line.get("level") in {"error", "critical"}]
    assert not errors, errors[:3]
