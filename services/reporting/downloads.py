"""REST: a period report as DOCX and PDF, and a summary's figures as XLSX, for whoever may read
them (anyone else gets 404, as GraphQL answers null).

- ``GET /reports/{id}/docx`` and ``/reports/{id}/pdf``: the unit itself gets its report as it
  stands (figures now); a level above gets what was sent (the sent version's sections, the
  figures as the log held them when it was sent);
- ``GET /summaries/{unitId}/{firstYear}/{lastYear}/xlsx``: a unit's summary of those years.

The documents are made in a worker thread, after the caller's rights were checked.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import anyio.to_thread
import structlog
from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Response

from services.reporting.documents import ReportDocument, report_docx, report_pdf, summary_xlsx
from services.reporting.domain import SECTIONS
from services.reporting.schema import UnitSummary, span, summary_of, years_asked
from services.reporting.summaries import read_figures
from services.reporting.tables import TABLES, Refused, reader_context, table_rows
from shared import access
from shared.auth import Principal, Unauthenticated
from shared.clock import VIETNAM, today
from shared.documents import download_headers
from shared.errors import DomainError, NotFound
from shared.text import has_control
from shared.uploads import error_response

log = structlog.get_logger(__name__)

TYPICAL_IN_REPORT = 10  # of each, in the report (the rest: their tables' XLSX)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNIT_ID_CHARS = 64


def _principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal | None = request.state.principal
    if principal is None:
        raise Unauthenticated()
    return principal


async def _name(conn: Any, unit: str | None) -> str:
    """A unit's name as the reader reads it, or, for a unit above the reader's own (out of its
    reach, migration 0072), the name alone: its own report is headed by it."""
    if unit is None:
        return ""
    return (
        await conn.fetchval(
            "SELECT coalesce((SELECT name FROM units WHERE tenant_id = $1), "
            "(SELECT name FROM thidua_names_above(ARRAY[$1])))",
            unit,
        )
        or unit
    )


async def _document(request: Request[Any, Any, Any], raw_id: str, schema: Any) -> ReportDocument:
    principal = _principal(request)
    try:
        rid = uuid.UUID(raw_id)
    except ValueError:
        raise NotFound(raw_id[:64], id=raw_id[:64]) from None
    async with access.scope(request.app.state.runtime.pool, principal) as conn:
        report = await conn.fetchrow("SELECT * FROM reports WHERE report_id = $1", rid)
        if report is None:
            raise NotFound(raw_id[:64], id=raw_id[:64])
        own = report["unit_id"] == principal.tenant  # else: what was sent, as it was sent
        at = None if own else report["submitted_at"]
        sections = {
            r["section"]: r["text"]
            for r in await conn.fetch(
                "SELECT DISTINCT ON (section) section, text FROM report_sections "
                "WHERE report_id = $1 AND ($2 OR sent) ORDER BY section, version DESC",
                rid,
                own,
            )
        }
        key = (report["unit_id"], report["first_year"], report["last_year"], at)
        rows = (await read_figures(conn, [key]))[0]
        if rows is None:  # never a table of zeros for figures the reader may not see
            raise NotFound(raw_id[:64], id=raw_id[:64])
        # the level above: where it was sent, for what was sent (a move since changes nothing
        # of it); for the unit's own copy, its parent now
        upper = (None if own else report["to_unit"]) or await conn.fetchval(
            "SELECT parent_id FROM units WHERE tenant_id = $1", report["unit_id"]
        )
        names = {u: await _name(conn, u) for u in {report["unit_id"], upper, report["to_unit"]}}
    sent_on = None if own else report["submitted_on"]
    moment = at.astimezone(VIETNAM) if at else datetime.now(UTC).astimezone(VIETNAM)
    typical = [
        await _typical(request, schema, kind, key[:3], at)
        for kind in ("exemplars", "exemplary-units")
    ]
    return ReportDocument(
        unit_name=names[report["unit_id"]],
        upper_name=names.get(upper, ""),
        to_name=names.get(report["to_unit"] or upper, "") or "Cấp trên",
        number=report["number" if own else "sent_number"],
        place=report["place" if own else "sent_place"],
        on=sent_on or today(),
        summary=summary_of(key, rows),
        sections={code: sections.get(code, "") for code in SECTIONS},
        as_of=f"lúc {moment:%H:%M} ngày {moment:%d/%m/%Y}",
        individuals=typical[0],
        collectives=typical[1],
    )


async def _typical(
    request: Request[Any, Any, Any],
    schema: Any,
    kind: str,
    period: tuple[str, int, int],
    at: datetime | None,
) -> list[list[Any]]:
    """The report's first typical individuals or collectives, as GraphQL answers the reader at
    the figures' moment (services/reporting/tables.py); none where it answers null or refuses
    (a member's token, a moment before the items' versions were rebuilt)."""
    context = reader_context(request)
    unit, first, last = period
    moment = at.isoformat() if at else None
    try:
        found = await table_rows(
            schema, context, TABLES[kind], unit, (first, last), moment, TYPICAL_IN_REPORT
        )
    except Refused as refused:
        if refused.code != "INVALID_INPUT":  # busy, or a bug: no report that looks whole
            raise
        log.info("report_typical_left_out", code=refused.code, kind=kind)
        return []
    return found[1] if found else []


async def _summary(
    request: Request[Any, Any, Any], unit: str, first: int, last: int
) -> tuple[UnitSummary, str]:
    principal = _principal(request)
    if has_control(unit):  # no unit's id holds one: not found, before any SQL
        raise NotFound(unit[:UNIT_ID_CHARS].encode("unicode_escape").decode())
    first, last = years_asked(first, last)
    key = (unit[:UNIT_ID_CHARS], first, last, None)
    async with access.scope(request.app.state.runtime.pool, principal) as conn:
        rows = (await read_figures(conn, [key]))[0]
        if rows is None:
            raise NotFound(unit[:UNIT_ID_CHARS], id=unit[:UNIT_ID_CHARS])
        name = await _name(conn, key[0])
    return summary_of(key, rows), name


def _named(document: ReportDocument, extension: str) -> str:
    return f"Báo cáo {document.first_year}-{document.last_year} {document.unit_name}.{extension}"


def _refused(exc: DomainError, what: str) -> Response[Any]:
    log.info("download_refused", code=exc.code, what=what[:64])
    return error_response(exc)


def report_downloads(schema: Any) -> list[HTTPRouteHandler]:
    """The routes; the report's typical ones are read through ``schema`` (the gateway's)."""

    @get("/reports/{report_id:str}/docx", include_in_schema=False)
    async def report_as_docx(
        request: Request[Any, Any, Any], report_id: FromPath[str]
    ) -> Response[Any]:
        try:
            document = await _document(request, report_id, schema)
        except DomainError as exc:
            return _refused(exc, report_id)
        body = await anyio.to_thread.run_sync(report_docx, document)
        return Response(body, media_type=DOCX, headers=download_headers(_named(document, "docx")))

    @get("/reports/{report_id:str}/pdf", include_in_schema=False)
    async def report_as_pdf(
        request: Request[Any, Any, Any], report_id: FromPath[str]
    ) -> Response[Any]:
        try:
            document = await _document(request, report_id, schema)
        except DomainError as exc:
            return _refused(exc, report_id)
        body = await anyio.to_thread.run_sync(report_pdf, document)
        return Response(body, media_type=PDF, headers=download_headers(_named(document, "pdf")))

    @get("/summaries/{unit_id:str}/{first_year:int}/{last_year:int}/xlsx", include_in_schema=False)
    async def summary_as_xlsx(
        request: Request[Any, Any, Any],
        unit_id: FromPath[str],
        first_year: FromPath[int],
        last_year: FromPath[int],
    ) -> Response[Any]:
        try:
            summary, name = await _summary(request, unit_id, first_year, last_year)
        except DomainError as exc:
            return _refused(exc, unit_id)
        body = await anyio.to_thread.run_sync(summary_xlsx, summary, name)
        headers = download_headers(f"Tổng hợp {span(first_year, last_year)} {name}.xlsx")
        return Response(body, media_type=XLSX, headers=headers)

    return [report_as_docx, report_as_pdf, summary_as_xlsx]
