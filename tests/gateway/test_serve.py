"""`thidua serve` as a newcomer runs it: embedded PostgreSQL, real HTTP, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

THIDUA = Path(sys.executable).with_name("thidua")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env.update(THIDUA_DATA_DIR=str(data_dir), THIDUA_LOG_JSON="false", **extra)
    return env


def wait_ready(base: str, proc: subprocess.Popen, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server exited"
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not become ready")


def postmaster_running(data_dir: Path) -> bool:
    return (data_dir / "pgdata" / "postmaster.pid").exists()


@pytest.fixture
def data_dir(tmp_path: Path):
    yield tmp_path / ".thidua"
    # Whatever a failed test left running is stopped.
    if postmaster_running(tmp_path / ".thidua"):
        subprocess.run([THIDUA, "db", "stop"], env=cli_env(tmp_path / ".thidua"), check=False)


def test_serve_on_the_embedded_default_then_ctrl_c_stops_everything(data_dir):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [THIDUA, "serve"],
        env=cli_env(data_dir, THIDUA_PORT=str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(base, proc)
        assert postmaster_running(data_dir)
        assert httpx.get(f"{base}/health").json() == {"status": "ok"}
        answer = httpx.post(f"{base}/graphql", json={"query": "{ version serverTime }"}).json()
        assert answer["data"]["version"] and answer["data"]["serverTime"]
        page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0, proc.stderr.read()
    assert not postmaster_running(data_dir), "Ctrl-C left the embedded PostgreSQL running"


def test_db_url_leaves_the_embedded_server_up_for_psql_and_db_stop_stops_it(data_dir):
    env = cli_env(data_dir)
    url = subprocess.run([THIDUA, "db", "url"], env=env, capture_output=True, text=True, check=True)
    assert url.stdout.startswith("postgresql://") and "/thidua" in url.stdout
    assert postmaster_running(data_dir)
    # The same data directory is reused: migrating twice applies nothing the second time.
    first = subprocess.run([THIDUA, "db", "migrate"], env=env, capture_output=True, text=True)
    again = subprocess.run([THIDUA, "db", "migrate"], env=env, capture_output=True, text=True)
    assert "applied 0001_event_store" in first.stdout and again.stdout.strip() == "up to date"
    stop = subprocess.run([THIDUA, "db", "stop"], env=env, capture_output=True, text=True)
    assert stop.returncode == 0
    assert not postmaster_running(data_dir)


def test_a_bad_tenant_id_is_a_clear_error(data_dir):
    result = subprocess.run(
        [THIDUA, "verify", "--tenant", "không hợp lệ"],
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "TENANT_INVALID" in result.stderr
    assert not postmaster_running(data_dir)  # refused before any database was started
