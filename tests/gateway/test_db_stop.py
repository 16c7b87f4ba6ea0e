"""`thidua db stop` stops the embedded PostgreSQL, even after a server that used it was killed,
and does not pull it from under a server still running."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.gateway.test_serve import THIDUA, cli_env, free_port, postmaster_running, wait_ready


@pytest.fixture
def data_dir(tmp_path: Path):
    yield tmp_path / ".thidua"
    if postmaster_running(tmp_path / ".thidua"):  # whatever a failed test left running
        subprocess.run(
            [THIDUA, "db", "stop", "--force"], env=cli_env(tmp_path / ".thidua"), check=False
        )


def db_stop(data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [THIDUA, "db", "stop", *extra], env=cli_env(data_dir), capture_output=True, text=True
    )


def test_db_stop_refuses_under_a_running_server_and_stops_once_it_was_killed(data_dir):
    # Given a server on the embedded database
    port = free_port()
    server = subprocess.Popen(
        [THIDUA, "serve"],
        env=cli_env(data_dir, THIDUA_PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", server)
        # When the operator stops the database while the server runs: refused, still up
        refused = db_stop(data_dir)
        assert refused.returncode == 2 and "DATABASE_IN_USE" in refused.stderr
        assert "stopped" not in refused.stdout
        assert postmaster_running(data_dir)
    finally:
        # And the server dies without letting go of the database
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    assert postmaster_running(data_dir)
    # Then db stop stops it, and says so only because it did
    stopped = db_stop(data_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.strip() == "stopped"
    assert not postmaster_running(data_dir)
    assert db_stop(data_dir).stdout.strip() == "not running"


def test_db_stop_force_stops_it_under_a_running_server(data_dir):
    port = free_port()
    server = subprocess.Popen(
        [THIDUA, "serve"],
        env=cli_env(data_dir, THIDUA_PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", server)
        forced = db_stop(data_dir, "--force")
        assert forced.returncode == 0 and forced.stdout.strip() == "stopped", forced.stderr
        assert not postmaster_running(data_dir)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
