"""``thidua projections status | rebuild NAME`` and ``thidua projector``: the projections with
checkpoints (shared/projections.py) seen and run from the command line."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import structlog
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.gateway.projections import known_projections, live_projections, statuses
from services.gateway.runtime import Runtime
from shared.db import owner_connection
from shared.projection_rebuild import rebuild
from shared.projections import Projection, ProjectionRunner, ProjectionStatus
from shared.settings import Settings

log = structlog.get_logger(__name__)

projections_app = typer.Typer(help="Projections: read models kept from the log, with checkpoints.")
err = Console(stderr=True)


def _run(make):  # type: ignore[no-untyped-def]
    from services.gateway.cli import _run as run

    return run(make)


@projections_app.command("status")
def status() -> None:
    """Each projection's versions (live, building), how many units are behind, and by how much."""

    async def go() -> list[ProjectionStatus]:
        runtime = await Runtime.start(Settings(), run_projections=False)
        try:
            return await statuses(runtime)
        finally:
            await runtime.close()

    Console().print(_table(_run(go)))


def _table(found: list[ProjectionStatus]) -> Table:
    table = Table("projection", "version", "state", "units", "behind", "lag (events)", "lag (s)")
    for s in found:
        table.add_row(
            s.name,
            str(s.version),
            "live (inline)" if s.inline else s.state,
            str(s.tenants),
            str(s.tenants_behind),
            str(s.lag_events),
            f"{s.lag_seconds:.1f}",
        )
    return table


@projections_app.command("rebuild")
def rebuild_command(
    name: Annotated[str, typer.Argument(help="The projection, e.g. campaigns.")],
) -> None:
    """Build the next version of a projection beside the live one while the server keeps
    running, then swap it in (a short lock of its tables). Interrupted, it resumes where it
    stopped when run again."""
    projection = known_projections().get(name)
    if projection is None:
        known = ", ".join(sorted(known_projections()))
        err.print(
            f"[red]NOT_FOUND[/red]: không có phép chiếu '{escape(name)}' (có: {escape(known)})."
        )
        raise typer.Exit(2)
    if projection.inline:
        _refuse_inline(name)
    settings = Settings()

    async def go() -> int:
        runtime = await Runtime.start(settings, run_projections=False)
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
            ) as bar:
                task = bar.add_task(f"Dựng lại {name}", total=None)

                def report(applied: int, heads: int) -> None:
                    bar.update(task, completed=applied, total=max(heads, 1))

                async with owner_connection(runtime.url) as owner:
                    done = await rebuild(
                        owner,
                        runtime.projector_pool,
                        projection,
                        batch_size=settings.projection_batch_size,
                        progress=report,
                    )
            if projection.swapped is not None:
                await _after_swap(projection, runtime)
            return done.version
        finally:
            await runtime.close()

    print(f"{name}: version {_run(go)} is live")


async def _after_swap(projection: Projection, runtime: Runtime) -> None:
    """What the new version needs once live (reporting: its roll-ups kept ready). The version
    is live whatever happens here: a failure is said, not the rebuild's."""
    assert projection.swapped is not None
    err.print(f"{projection.name}: phiên bản mới đã dùng; đang chuẩn bị sẵn số liệu…")
    try:
        await projection.swapped(runtime.pool)
    except Exception as exc:
        log.warning("projection_swapped_hook_failed", projection=projection.name, error=str(exc))
        err.print(f"[yellow]Chưa chuẩn bị sẵn được[/yellow]: {escape(str(exc))}")


# An inline projection is applied by its commands under their own lock, and its rows span units
# (the registry's closure): a version built beside it tenant by tenant, by a role that may not
# run its write function, would be wrong. Its service rebuilds it whole, holding that lock.
_REBUILT_BY = {"registry": "thidua tenants rebuild"}


def _refuse_inline(name: str) -> None:
    command = _REBUILT_BY.get(name, "lệnh dựng lại của dịch vụ sở hữu nó")
    err.print(
        f"[red]PROJECTION_INLINE[/red]: phép chiếu '{escape(name)}' được ghi ngay trong lệnh, "
        f"không dựng lại theo từng đơn vị được; hãy chạy: {escape(command)}"
    )
    raise typer.Exit(2)


def projector() -> None:
    """Run the projection runner alone (for larger installations: set THIDUA_RUN_PROJECTIONS=
    false for the servers and run one or more of these; they share the units by themselves).
    Ctrl-C stops it after the batches in flight."""
    settings = Settings()
    names = ", ".join(p.name for p in live_projections()) or "none yet"
    err.print(f"Thi đua projector: {names}")

    async def go() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        runtime = await Runtime.start(settings, run_projections=True)
        try:
            assert isinstance(runtime.projections, ProjectionRunner)
            err.print("projector running; Ctrl-C stops it")
            await stopping.wait()
        finally:
            await runtime.close()  # the runner stops after its batches in flight

    _run(go)
