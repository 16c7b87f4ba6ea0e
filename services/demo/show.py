"""What ``thidua demo`` prints: what the demo holds, and tokens and queries to try it with."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.demo.loader import DemoSummary, load_demo
from services.demo.province import ProvinceSummary, load_province
from services.demo.reports import FIRST, LAST
from services.gateway.cli_reports import summary_table, unit_summary
from services.gateway.runtime import Runtime
from services.reporting.domain import report_id
from services.reporting.projections import PROJECTION as REPORTING
from services.reporting.schema import UnitSummary
from shared.auth import TokenService
from shared.errors import DomainError
from shared.projections import projection_status
from shared.settings import Settings

LEVEL_NAMES = {
    "national": "Tổng Liên đoàn",
    "provincial": "LĐLĐ tỉnh, thành phố",
    "sector": "Công đoàn ngành trung ương",
    "upper": "Công đoàn cấp trên trực tiếp cơ sở",
    "grassroots": "Công đoàn cơ sở",
}
EXAMPLE_QUERY = (
    "{ campaigns { name unitId status phases { name starts ends reportDue } "
    "indicators { code name target actual achievement } "
    "childRegistrations { totalCount onTime late notYet "
    "edges { node { unitName status registeredOn } } pageInfo { hasNextPage endCursor } } } }"
)
GRASSROOTS_QUERY = (
    "{ me { unit { name } } myRegistrations { campaignId contents late status } "
    "campaigns { name unitId status } }"
)
TOKEN_TTL = timedelta(hours=8)
DEMO_YEAR = 2021
CATCH_UP_S = 120.0


@dataclass(frozen=True, slots=True)
class DemoToken:
    who: str
    tenant: str
    roles: tuple[str, ...]
    token: str


def demo_tokens(settings: Settings, summary: DemoSummary) -> list[DemoToken]:
    """Tokens for the province's officer and a grassroots unit's officer, as ``thidua token
    issue`` makes them (DomainError where the settings cannot issue tokens)."""
    service = TokenService.from_settings(settings)
    wanted = [
        (
            "Cán bộ thi đua LĐLĐ tỉnh Ninh Bình",
            summary.province,
            "can-bo.ldld-ninh-binh",
            "officer",
        ),
        (
            "Cán bộ CĐCS Công ty CP Du lịch Tràng An",
            summary.grassroots,
            "can-bo.trang-an",
            "officer",
        ),
        # The awards of 2021: who appraised and decided them, who sat on the council.
        ("Cán bộ thi đua LĐLĐ huyện Hoa Lư", summary.upper, "can-bo.hoa-lu", "officer"),
        ("Người ký quyết định LĐLĐ huyện Hoa Lư", summary.upper, "chu-tich.hoa-lu", "approver"),
        (
            "Thành viên Hội đồng TĐKT LĐLĐ huyện Hoa Lư",
            summary.upper,
            "hoi-dong.chu-tich",
            "council",
        ),
    ]
    return [
        DemoToken(
            who,
            tenant,
            (role,),
            service.issue(tenant=tenant, roles=[role], subject=subject, ttl=TOKEN_TTL),
        )
        for who, tenant, subject, role in wanted
    ]


async def load_and_show(console: Console, settings: Settings, *, province_units: int = 0) -> None:
    """``thidua demo``: load the demo (and a province of ``province_units`` upper-level units,
    if any), then print what it holds and how to try it."""
    runtime = await Runtime.start(settings)
    try:
        summary = await load_demo(runtime)
        province = await load_province(runtime, province_units) if province_units else None
        year = await _province_year(runtime, summary.province)
    finally:
        await runtime.close()
    show(console, summary, settings)
    if province is not None:
        show_province(console, province)
    if year is not None:
        console.print()
        console.print(summary_table(year, f"Tổng hợp năm {DEMO_YEAR} của LĐLĐ tỉnh Ninh Bình"))
    _show_report(console, summary, settings)


async def _behind(conn: Any) -> int:
    """The units whose logs reporting's live version has not yet counted to their heads."""
    found = await projection_status(conn, [REPORTING])
    return sum(s.tenants_behind for s in found if s.state == "live")


def _show_report(console: Console, summary: DemoSummary, settings: Settings) -> None:
    rid = report_id(summary.province, FIRST, LAST)
    base = f"http://{settings.host}:{settings.port}"
    console.print(
        f"\n[bold]Báo cáo tổng kết {FIRST}–{LAST}[/] of the province (a draft, its sections "
        f"written; LĐLĐ huyện Hoa Lư sent its own by the province's due day): report {rid}"
    )
    console.print(
        f"  {base}/reports/{rid}/docx, /pdf (the province's token); "
        "{ reportsBelow(firstYear: 2020, lastYear: 2025) { unitName status } }",
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


async def _province_year(runtime: Runtime, province: str) -> UnitSummary | None:
    """The province's summary of the demo's year, once reporting has counted every log (a
    data directory loaded before reporting existed is counted now, in the background)."""
    deadline = time.monotonic() + CATCH_UP_S
    async with runtime.projector_pool.acquire() as conn:
        while await _behind(conn) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)  # the runner is in this process, but says nothing of it
    found = await unit_summary(runtime, province, DEMO_YEAR, DEMO_YEAR)
    return found and found[0]


def show_province(console: Console, province: ProvinceSummary) -> None:
    wrote = ", ".join(f"{name} {count}" for name, count in province.written.items())
    console.print(
        f"\n[bold]Province {province.province}[/]: {province.units} upper-level units, "
        f"{province.registered} registered with its campaign ({province.late} late). "
        f"Written now: {wrote}."
    )


def show(console: Console, summary: DemoSummary, settings: Settings) -> None:
    """Print what the demo holds and how to try it."""
    _show_outcome(console, summary)
    _show_units(console, summary)
    _show_campaigns(console, summary)
    _show_awards(console, summary)
    _show_tokens(console, summary, settings)


def _show_outcome(console: Console, summary: DemoSummary) -> None:
    if summary.fresh:
        wrote = ", ".join(f"{name} {count}" for name, count in summary.written.items())
        console.print(f"[bold green]Demo loaded.[/] Written now: {wrote}.")
    else:
        console.print("[bold]The demo was already loaded:[/] nothing new was written.")


def _show_awards(console: Console, summary: DemoSummary) -> None:
    decisions, recipients, revoked = summary.awards
    console.print(
        f"Awards of 2021: {decisions} decisions (LĐLĐ huyện Hoa Lư, Tổng Liên đoàn), "
        f"{recipients} standing recipients, {revoked} revoked: a proposal of CĐCS Du lịch Tràng "
        "An returned once, passed by two councils, its Bằng khen forwarded through the province "
        "to TLĐ (queries: README, Awards)."
    )


def _show_units(console: Console, summary: DemoSummary) -> None:
    table = Table(title=f"Units ({summary.unit_count})", title_justify="left")
    table.add_column("level")
    table.add_column("cấp")
    table.add_column("units", justify="right")
    for level, name in LEVEL_NAMES.items():
        if summary.units.get(level):
            table.add_row(level, name, str(summary.units[level]))
    console.print(table)


def _show_campaigns(console: Console, summary: DemoSummary) -> None:
    console.print(f"\n[bold]Campaigns ({len(summary.campaigns)})[/]")
    for line in summary.campaigns:
        regs = line.registrations
        status = f"launched {line.launched_on:%d/%m/%Y}" if line.launched_on else line.status
        phases = "; ".join(f"{n} {s:%d/%m/%Y}–{e:%d/%m/%Y}" for n, s, e in line.phases)
        console.print(f"• [bold]{escape(line.name)}[/]")
        console.print(f"  {escape(line.unit_name)} ({line.unit_id}), {line.kind}, {status}")
        if line.carries_out:
            console.print(f"  carries out the campaign of {escape(line.carries_out)}")
        console.print(f"  phases: {phases}")
        console.print(
            f"  {line.indicators} indicators; units directly below: {regs['on_time']} registered "
            f"on time, {regs['late']} late, {regs['not_yet']} not yet"
        )
    r = summary.registrations
    console.print(
        f"\nRegistrations with the launching units: {r['on_time']} on time, {r['late']} late, "
        f"{r['not_yet']} not yet. "
        f"Progress reports: {summary.progress_reports} ({summary.progress_late} late). "
        f"Phases reviewed (sơ kết): {summary.reviews}."
    )
    registered, recognised, benefit = summary.initiatives
    console.print(
        f"Pledges (giao ước thi đua): {summary.pledges:,}. Works for plaques: {summary.works}. "
        f"Initiatives: {registered} registered, {recognised} recognised, "
        f"benefit {benefit:,} đồng."
    )


def _show_tokens(console: Console, summary: DemoSummary, settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}/graphql"
    try:
        tokens = demo_tokens(settings, summary)
    except DomainError as exc:
        console.print(f"[yellow]No token issued[/] ({exc.code}: {escape(exc.message)})")
        return
    console.print()
    console.print(f"[bold]Try it[/]: run [cyan]thidua serve[/] (in another terminal), open {base}")
    console.print(
        "and set the header [cyan]Authorization: Bearer <token>[/] (GraphiQL: the Headers tab) "
        "with one of these tokens (valid 8 hours; `thidua demo` again gives new ones):"
    )
    for token in tokens:
        console.print(f"\n[bold]{escape(token.who)}[/] ({token.tenant}, {', '.join(token.roles)}):")
        console.print(token.token, soft_wrap=True, markup=False, highlight=False, emoji=False)
    console.print("\nThe province's officer could ask:")
    console.print(EXAMPLE_QUERY, soft_wrap=True, markup=False, highlight=False, emoji=False)
    console.print("A grassroots unit's officer could ask:")
    console.print(GRASSROOTS_QUERY, soft_wrap=True, markup=False, highlight=False, emoji=False)
    console.print("\nOr with curl:")
    curl = (
        f'curl -s {base} -H "Authorization: Bearer {tokens[0].token}" '
        "-H 'Content-Type: application/json' "
        f'-d \'{{"query": "{EXAMPLE_QUERY}"}}\''
    )
    console.print(curl, soft_wrap=True, markup=False, highlight=False, emoji=False)
