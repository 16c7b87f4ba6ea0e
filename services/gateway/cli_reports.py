"""``thidua reports summary | rebuild``: the reporting projection's summaries read, and the
projection rebuilt, from the command line."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.gateway.runtime import Runtime
from services.reporting.schema import (
    SummaryFigures,
    UnitSummary,
    moment_asked,
    span,
    summary_of,
    years_asked,
)
from services.reporting.summaries import read_figures
from shared import access
from shared.settings import Settings

reports_app = typer.Typer(help="Reports: yearly and 5-year summaries rolled up over the tree.")
err = Console(stderr=True)


def _run(make):  # type: ignore[no-untyped-def]
    from services.gateway.cli import _run as run

    return run(make)


async def unit_summary(
    runtime: Runtime, unit: str, first: int, last: int, as_of: datetime | None = None
) -> tuple[UnitSummary, str] | None:
    """``unit``'s summary as the unit itself reads it, and its name (None: no such unit)."""
    key = (unit, first, last, as_of)
    async with access.as_unit(runtime.pool, unit) as conn:
        name = await conn.fetchval("SELECT name FROM units WHERE tenant_id = $1", unit)
        rows = (await read_figures(conn, [key]))[0]
    return (summary_of(key, rows), name) if name is not None and rows is not None else None


_ROWS = (
    (
        "Phong trào phát động (cụ thể hóa)",
        lambda f: f"{f.campaigns_launched} ({f.campaigns_carried_out})",
    ),
    (
        "Đăng ký thi đua: đúng hạn / muộn",
        lambda f: f"{f.registrations_on_time} / {f.registrations_late}",
    ),
    ("Sơ kết: đúng hạn / muộn", lambda f: f"{f.phase_reviews_on_time} / {f.phase_reviews_late}"),
    ("Tổng kết: đúng hạn / muộn", lambda f: f"{f.conclusions_on_time} / {f.conclusions_late}"),
    ("Giao ước thi đua", lambda f: f"{f.pledges:,}"),
    ("Công trình, sản phẩm", lambda f: f"{f.works:,}"),
    ("Sáng kiến được công nhận", lambda f: f"{f.initiatives:,}"),
    ("Giá trị làm lợi (đồng)", lambda f: f"{f.initiative_benefit_vnd:,}"),
    ("Đề nghị khen thưởng", lambda f: f"{f.proposals:,}"),
    ("Quyết định khen thưởng", lambda f: f"{f.decisions:,}"),
    ("Cá nhân / tập thể được khen", lambda f: f"{f.awarded_persons:,} / {f.awarded_collectives:,}"),
    ("Lao động trực tiếp (%)", lambda f: _share(f.awarded_direct_workers, f.direct_worker_share)),
    ("Nữ (%)", lambda f: _share(f.awarded_women, f.women_share)),
    ("Tiền thưởng (đồng)", lambda f: f"{f.cash_vnd:,}"),
)


WIDE = 200  # columns: ten years and the period's total, each a sum of đồng


def _share(count: int, share: float | None) -> str:
    return f"{count:,}" + (f" ({share}%)" if share is not None else "")


def summary_table(summary: UnitSummary, title: str = "") -> Table:
    """The summary as a table: a column a year, and the whole period's when it spans several."""
    columns: list[tuple[str, SummaryFigures]] = [(str(y.year), y) for y in summary.years]
    if len(columns) > 1:
        columns.append((f"{summary.first_year}–{summary.last_year}", summary.total))
    table = Table(title=title or f"Tổng hợp {summary.unit_id}", title_justify="left")
    table.add_column("")
    for name, _ in columns:
        # a narrow terminal (or none: 80 columns) folds a sum of đồng, never cuts it short
        table.add_column(name, justify="right", overflow="fold")
    for label, value in _ROWS:
        table.add_row(label, *(value(figures) for _, figures in columns))
    return table


@reports_app.command("summary")
def summary_command(
    unit: Annotated[str, typer.Argument(help="The unit (its id).")],
    first_year: Annotated[int, typer.Argument(help="The first year, e.g. 2021.")],
    last_year: Annotated[
        int | None, typer.Argument(help="The last year (default: the first).")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", help="As the log held it at this moment (ISO, with its zone)."),
    ] = None,
) -> None:
    """A unit's summary: its own figures with those of the units below it, as the tree stood on
    each day, a column a year."""

    async def go() -> tuple[UnitSummary, str] | None:
        first, last = years_asked(first_year, last_year)
        moment = moment_asked(as_of)
        runtime = await Runtime.start(Settings(), run_projections=False)
        try:
            return await unit_summary(runtime, unit, first, last, moment)
        finally:
            await runtime.close()

    found = _run(go)
    if found is None:
        err.print(f"[red]NOT_FOUND[/red]: không có đơn vị '{escape(unit)}'.")
        raise typer.Exit(2)
    summary, name = found
    years = span(summary.first_year, summary.last_year)
    console = Console()
    if not console.is_terminal:  # a file or a pipe: as wide as the table, not 80 columns
        console = Console(width=max(console.width, WIDE))
    console.print(summary_table(summary, escape(f"Tổng hợp {years}: {name} ({unit})")))


@reports_app.command("rebuild")
def rebuild() -> None:
    """Rebuild every reporting figure from the log beside the live ones, with progress, then swap
    them in; the server keeps answering meanwhile (``thidua projections rebuild reporting``)."""
    from services.gateway.cli_projections import rebuild_command

    rebuild_command("reporting")
