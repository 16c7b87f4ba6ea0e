"""REST: the reporting tables a front end shows, as XLSX (issue 15, point 8: every table of
figures): ``GET /tables/{kind}/{unitId}/{firstYear}/{lastYear}/xlsx`` (``?asOf=`` a moment, as
GraphQL takes it), where kind is

- ``kpis``: the plan's annual targets, their target and actual (a sheet a year);
- ``compliance``: the deadlines on time, late, missing and pending (a sheet a year);
- ``exemplars`` and ``exemplary-units``: the period's typical individuals and collectives (the
  first 100).

Each is read by running, as the caller, the GraphQL query a front end would send: the same
resolvers, reach, limits and errors, and no second way of reading them. A refusal answers as
the other downloads do (``{code, message}``); a table out of reach (GraphQL's null) is 404. The
workbook is written in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import anyio.to_thread
import structlog
from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, Parameter
from litestar.response import Response

from services.reporting.documents import tables_xlsx
from services.reporting.schema import UNIT_ID_CHARS, span, years_asked
from services.reporting.templates.build_template import COLLECTIVE_COLUMNS, INDIVIDUAL_COLUMNS
from shared.auth import Unauthenticated
from shared.documents import download_headers
from shared.errors import DomainError, NotFound
from shared.text import has_control
from shared.uploads import error_response

log = structlog.get_logger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_KINDS_SAID = {
    "registrations": "Đăng ký thi đua",
    "phase_reports": "Sơ kết các đợt",
    "progress_reports": "Báo cáo các đợt của đơn vị đăng ký",
    "appraisals": "Thẩm định hồ sơ khen thưởng",
    "period_reports": "Báo cáo giai đoạn của cấp dưới",
}


@dataclass(frozen=True)
class Table:
    title: str
    found: str  # the query's field, with its selection; its value is the table
    per_year: bool  # a sheet a year, else one for the period
    header: tuple[str, ...]
    rows: Callable[[Any], list[list[Any]]]

    @property
    def query(self) -> str:
        asked = "$u: ID!, $first: Int!, $at: DateTime"
        if not self.per_year:
            asked += ", $last: Int!, $n: Int!"
        return f"query ({asked}) {{ unit(id: $u) {{ name }} found: {self.found} }}"


def _met(met: bool | None) -> str:
    return "" if met is None else "Đạt" if met else "Chưa đạt"


def _kpis(found: Any) -> list[list[Any]]:
    return [
        [t["name"], t["target"], t["actual"], t["part"], t["whole"], _met(t["met"])]
        for t in found["targets"]
    ]


def _compliance(found: Any) -> list[list[Any]]:
    return [
        [_KINDS_SAID.get(k["kind"], k["kind"]), k["onTime"], k["late"], k["missing"], k["pending"]]
        for k in found
    ]


def _exemplars(found: Any) -> list[list[Any]]:
    return [
        [
            n,
            e["name"],
            e["post"],
            e["unitName"],
            e["initiatives"],
            "; ".join(e["initiativeTitles"]),
            e["benefitVnd"],
            "; ".join(e["appliedAt"]),
            "Có" if e["bangLaoDongSangTao"] else "",
        ]
        for n, e in enumerate(found, start=1)
    ]


def _collectives(found: Any) -> list[list[Any]]:
    return [
        [
            n,
            u["unitName"],
            u["campaignsLaunched"],
            u["participants"],
            u["initiatives"],
            u["benefitVnd"],
            ", ".join(u["prizes"]),
            u["indicators"],
            u["indicatorsMet"],
        ]
        for n, u in enumerate(found, start=1)
    ]


TABLES = {
    "kpis": Table(
        "Chỉ tiêu thi đua hằng năm",
        "kpis(unitId: $u, year: $first, asOf: $at) "
        "{ targets { name target actual part whole met } }",
        True,
        ("Chỉ tiêu", "Mục tiêu (%)", "Thực hiện (%)", "Đạt", "Trên tổng số", "Kết quả"),
        _kpis,
    ),
    "compliance": Table(
        "Thực hiện đúng hạn",
        "compliance(unitId: $u, year: $first, asOf: $at) { kind onTime late missing pending }",
        True,
        ("Việc", "Đúng hạn", "Muộn", "Quá hạn chưa làm", "Chưa đến hạn"),
        _compliance,
    ),
    "exemplars": Table(
        "Cá nhân tiêu biểu",
        "exemplars(unitId: $u, firstYear: $first, lastYear: $last, first: $n, asOf: $at) "
        "{ name post unitName initiatives initiativeTitles benefitVnd appliedAt "
        "bangLaoDongSangTao }",
        False,
        INDIVIDUAL_COLUMNS,
        _exemplars,
    ),
    "exemplary-units": Table(
        "Tập thể tiêu biểu",
        "exemplaryUnits(unitId: $u, firstYear: $first, lastYear: $last, first: $n, asOf: $at) "
        "{ unitName campaignsLaunched participants initiatives benefitVnd prizes indicators "
        "indicatorsMet }",
        False,
        COLLECTIVE_COLUMNS,
        _collectives,
    ),
}


MOST = 100  # the typical ones a table holds: as many as GraphQL gives


async def table_rows(
    schema: Any,
    context: dict[str, Any],
    table: Table,
    unit: str,
    years: tuple[int, int],
    at: str | None,
    most: int = MOST,
) -> tuple[str, list[list[Any]]] | None:
    """The unit's name and ``table``'s rows for ``years``, read by GraphQL as ``context``'s
    caller reads them (None: out of reach). A refusal raises :class:`Refused`."""
    first, last = years
    asked: dict[str, Any] = {"u": unit, "first": first, "at": at}
    if not table.per_year:
        asked |= {"last": last, "n": most}
    result = await schema.execute(table.query, variable_values=asked, context_value=context)
    if result.errors:
        raise Refused(result.errors[0])
    if result.data["found"] is None:
        return None
    return (result.data["unit"] or {}).get("name") or unit, table.rows(result.data["found"])


async def _read(
    request: Request[Any, Any, Any],
    schema: Any,
    table: Table,
    unit: str,
    years: Sequence[tuple[int, int]],
    at: str | None,
) -> tuple[str, list[tuple[str, list[list[Any]]]]]:
    """The unit's name and a sheet for each of ``years``, read as the caller reads them."""
    context = reader_context(request)
    name, sheets = unit, []
    for first, last in years:
        found = await table_rows(schema, context, table, unit, (first, last), at)
        if found is None:
            raise NotFound(unit, id=unit)
        name, rows = found
        sheets.append((span(first, last), rows))
    return name, sheets


class Refused(DomainError):
    """GraphQL's refusal of a read a route makes through it: its code and message, as a client
    of /graphql gets them, so the route answers it as any domain error (error_response)."""

    def __init__(self, error: Any) -> None:
        self.code = (error.extensions or {}).get("code", "INVALID_INPUT")  # type: ignore[misc]
        self._said = error.message
        self.http_status = 500 if self.code == "INTERNAL" else 422
        super().__init__()

    @property
    def message(self) -> str:
        return self._said


def reader_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The context a route's read through the schema runs in: the caller's, as /graphql's."""
    return {"runtime": request.app.state.runtime, "principal": request.state.principal}


def table_downloads(schema: Any) -> list[HTTPRouteHandler]:
    """The route, reading through ``schema`` (the gateway's, with its extensions)."""

    @get(
        "/tables/{kind:str}/{unit_id:str}/{first_year:int}/{last_year:int}/xlsx",
        include_in_schema=False,
    )
    async def table_as_xlsx(
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        unit_id: FromPath[str],
        first_year: FromPath[int],
        last_year: FromPath[int],
        as_of: Annotated[str | None, Parameter(query="asOf")] = None,
    ) -> Response[Any]:
        try:
            if request.state.principal is None:
                raise Unauthenticated()
            table = TABLES.get(kind)
            if table is None or has_control(unit_id):
                raise NotFound(kind[:40].encode("unicode_escape").decode())
            first, last = years_asked(first_year, last_year)
            years = [(y, y) for y in range(first, last + 1)] if table.per_year else [(first, last)]
            unit = unit_id[:UNIT_ID_CHARS]
            name, sheets = await _read(request, schema, table, unit, years, as_of)
        except DomainError as exc:
            log.info("download_refused", code=exc.code, what=kind[:40])
            return error_response(exc)
        body = await anyio.to_thread.run_sync(
            tables_xlsx, f"{table.title}: {name}", table.header, sheets
        )
        headers = download_headers(f"{table.title} {span(first, last)} {name}.xlsx")
        return Response(body, media_type=XLSX, headers=headers)

    return [table_as_xlsx]
