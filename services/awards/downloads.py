"""REST: a decision's documents (issue 14, point 15), for whoever may read the decision (it is
published to the deciding unit's subtree; anyone else gets 404).

- ``GET /decisions/{id}/pdf``: the decision with its list of recipients;
- ``GET /decisions/{id}/xlsx``: the same list as a workbook;
- ``GET /decisions/{id}/certificates/{itemId}``: one recipient's certificate (PDF).

A person's name is printed as the reader may read it (the register's own reach), "(đã xóa)" once
erased; the documents are made in a worker thread.
"""

from __future__ import annotations

import uuid
from typing import Any

import anyio.to_thread
import structlog
from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Response

from services.awards.documents import (
    DecisionDocument,
    Line,
    certificate_pdf,
    decision_pdf,
    decision_xlsx,
)
from shared import access, catalogue
from shared.auth import Principal, Unauthenticated
from shared.documents import download_headers
from shared.errors import DomainError, NotFound
from shared.uploads import error_response

log = structlog.get_logger(__name__)

PDF, XLSX = "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _document(
    request: Request[Any, Any, Any], decision_id: str
) -> tuple[DecisionDocument, list[str]]:
    principal: Principal | None = request.state.principal
    if principal is None:
        raise Unauthenticated()
    try:
        did = uuid.UUID(decision_id)
    except ValueError:
        raise NotFound(decision_id[:64], id=decision_id[:64]) from None
    async with access.scope(request.app.state.runtime.pool, principal) as conn:
        decision = await conn.fetchrow(
            "SELECT tenant_id, unit_name, code, title, decided_on, signer FROM decisions "
            "WHERE decision_id = $1",
            did,
        )
        if decision is None:
            raise NotFound(decision_id[:64], id=decision_id[:64])
        rows = await conn.fetch(
            "SELECT r.item_id, r.award, r.kind, r.cash_vnd, r.subject, r.revoked_on, "
            "r.person_id, r.proposer, r.proposal_id, u.name AS unit_name "
            "FROM decision_recipients r LEFT JOIN units u ON u.tenant_id = r.unit_id "
            "WHERE r.tenant_id = $1 AND r.decision_id = $2 ORDER BY r.item_id",
            decision["tenant_id"],
            did,
        )
        # People and summaries by their keys as parameters: a join on a cast column (or on a
        # concatenation) scanned the table once per recipient under row-level security.
        people = {
            r["person_id"]: r
            for r in await conn.fetch(
                "SELECT person_id::text AS person_id, full_name, status FROM people "
                "WHERE person_id = ANY ($1::uuid[])",
                [r["person_id"] for r in rows if r["person_id"]],
            )
        }
        summaries = {
            (r["proposal_id"], r["nominee_id"]): r["summary"]
            for r in await conn.fetch(
                "SELECT n.proposal_id, n.nominee_id, n.summary FROM proposal_nominees n "
                "JOIN unnest($1::text[], $2::uuid[], $3::text[]) AS k(tenant_id, proposal_id, "
                "nominee_id) ON n.tenant_id = k.tenant_id AND n.proposal_id = k.proposal_id "
                "AND n.nominee_id = k.nominee_id",
                [r["proposer"] for r in rows],
                [r["proposal_id"] for r in rows],
                [r["item_id"].partition(":")[2] for r in rows],
            )
        }
    lines = [
        _line(
            r,
            people.get(r["person_id"]),
            summaries.get((r["proposal_id"], r["item_id"].partition(":")[2]), ""),
        )
        for r in rows
    ]
    document = DecisionDocument(
        unit_name=decision["unit_name"] or decision["tenant_id"],
        code=decision["code"],
        title=decision["title"],
        decided_on=decision["decided_on"],
        signer=decision["signer"],
        lines=tuple(lines),
    )
    return document, [r["item_id"] for r in rows]


def _line(r: Any, person: Any, summary: str) -> Line:
    if r["subject"] == "person":
        if person is not None and person["status"] == "erased":
            name = "(đã xóa)"
        else:
            name = (person["full_name"] if person is not None else None) or "(không đọc được)"
    else:
        name = r["unit_name"] or "(tập thể)"
    award = catalogue.award_name(r["award"])
    if r["revoked_on"] is not None:
        award += f" (đã hủy bỏ {r['revoked_on'].isoformat()})"
    return Line(
        name=name,
        award_name=award,
        kind=r["kind"],
        cash_vnd=r["cash_vnd"],
        summary=summary or "",
    )


def _refused(exc: DomainError, decision_id: str) -> Response[Any]:
    log.info("download_refused", code=exc.code, decision=decision_id[:64])
    return error_response(exc)


def decision_downloads() -> list[HTTPRouteHandler]:
    @get("/decisions/{decision_id:str}/pdf", include_in_schema=False)
    async def decision_as_pdf(
        request: Request[Any, Any, Any], decision_id: FromPath[str]
    ) -> Response[Any]:
        try:
            document, _ = await _document(request, decision_id)
        except DomainError as exc:
            return _refused(exc, decision_id)
        body = await anyio.to_thread.run_sync(decision_pdf, document)
        return Response(body, media_type=PDF, headers=download_headers(f"{document.code}.pdf"))

    @get("/decisions/{decision_id:str}/xlsx", include_in_schema=False)
    async def decision_as_xlsx(
        request: Request[Any, Any, Any], decision_id: FromPath[str]
    ) -> Response[Any]:
        try:
            document, _ = await _document(request, decision_id)
        except DomainError as exc:
            return _refused(exc, decision_id)
        body = await anyio.to_thread.run_sync(decision_xlsx, document)
        return Response(body, media_type=XLSX, headers=download_headers(f"{document.code}.xlsx"))

    @get("/decisions/{decision_id:str}/certificates/{item_id:str}", include_in_schema=False)
    async def certificate(
        request: Request[Any, Any, Any], decision_id: FromPath[str], item_id: FromPath[str]
    ) -> Response[Any]:
        try:
            document, items = await _document(request, decision_id)
            if item_id not in items:
                raise NotFound(item_id[:200], id=item_id[:200])
        except DomainError as exc:
            return _refused(exc, decision_id)
        line = document.lines[items.index(item_id)]
        body = await anyio.to_thread.run_sync(certificate_pdf, document, line)
        return Response(
            body, media_type=PDF, headers=download_headers(f"Giấy chứng nhận {document.code}.pdf")
        )

    return [decision_as_pdf, decision_as_xlsx, certificate]
