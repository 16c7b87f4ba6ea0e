"""Stopping the embedded PostgreSQL from outside the process that started it (``thidua db stop``).

pgserver counts the processes using a server in ``PGDATA/.handle_pids.json`` and stops it when the
last of them lets go. A process that was killed never lets go, so its id stays in the list and
pgserver would never stop the server again: ids of processes that no longer run are dropped here
first. Processes that do run are respected unless the operator forces the stop.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import psutil

from shared.errors import DomainError

HANDLES = ".handle_pids.json"


class DatabaseInUse(DomainError):
    code = "DATABASE_IN_USE"
    message_vi = (
        "Cơ sở dữ liệu nhúng đang được tiến trình khác dùng; hãy dừng chúng trước (hoặc --force)."
    )


class DatabaseNotStopped(DomainError):
    code = "DATABASE_NOT_STOPPED"
    message_vi = "Không dừng được PostgreSQL nhúng."


def _pgserver():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pgserver's import warns when XDG_RUNTIME_DIR is unset
        import pgserver.postgres_server as server
        import pgserver.utils as utils
    return server, utils


def embedded_running(pgdata: Path) -> bool:
    """Whether a postmaster runs for ``pgdata`` (its pid file names a live process)."""
    _, utils = _pgserver()
    if not pgdata.is_dir():
        return False
    info = utils.PostmasterInfo.read_from_pgdata(pgdata)
    return info is not None and info.is_running()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop_embedded(pgdata: Path, *, force: bool = False) -> None:
    """Stop the server of ``pgdata`` and wait until it is down. DatabaseInUse while another live
    process holds it (unless ``force``); DatabaseNotStopped if it still runs afterwards."""
    server, utils = _pgserver()
    handles = utils.DiskList(pgdata / HANDLES)
    with server.PostgresServer._lock:  # pgserver's own lock over the list, across processes
        users = [pid for pid in handles.get() if pid != os.getpid() and _alive(pid)]
        if users and not force:
            raise DatabaseInUse(f"Tiến trình: {', '.join(map(str, users))}.", pids=users)
        handles.put([])
    handle = server.get_server(pgdata, cleanup_mode="stop")
    handle.cleanup()  # the last (only) handle now: pgserver runs `pg_ctl -w stop`
    if embedded_running(pgdata):
        raise DatabaseNotStopped(str(pgdata))
