"""REST: a file of people uploaded to the caller's unit, and a document of a proposal's dossier
(GraphQL is a poor fit for files).

``POST /people`` with ``multipart/form-data``, the file in the field ``file`` (CSV in UTF-8, or
XLSX; its columns: services/awards/bulk.py ``read_file``), and the caller's ``Authorization:
Bearer`` token. The answer is the same as GraphQL's ``registerPeople``: how many rows came, were
written, were already there, and each refused row with its number in the file, its error's
code and message.

The caller's role and unit are checked before the body is read; the file is read by the guarded
reader (shared/uploads.py) in a worker thread, its limits there."""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from litestar import Request, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Response

from services.awards.bulk import read_file, read_nominee_file, register_people
from services.awards.commands import authorise, commands_of
from services.awards.commands_proposals import import_nominees, proposal_commands_of
from services.awards.domain import DOCUMENT_KINDS, ProposalInvalid, check_proposal_fields
from shared import access
from shared.auth import Principal, Unauthenticated
from shared.bulk import MAX_ERRORS_SHOWN, BulkResult, result_body
from shared.clock import today
from shared.errors import DomainError, NotFound
from shared.settings import Settings
from shared.text import clean
from shared.uploads import MULTIPART_SLACK, error_response, read_document, receive_file

log = structlog.get_logger(__name__)


def people_upload(settings: Settings) -> HTTPRouteHandler:
    @post(
        "/people",
        request_max_body_size=settings.max_upload_bytes + MULTIPART_SLACK,
        include_in_schema=False,
    )
    async def upload_people(request: Request[Any, Any, Any]) -> Response[Any]:
        principal = request.state.principal
        try:
            if principal is None:
                raise Unauthenticated()
            result = await _upload(request, principal, settings)
        except DomainError as exc:
            log.info("upload_refused", code=exc.code, tenant=getattr(principal, "tenant", None))
            return error_response(exc)
        return Response(result_body(result), status_code=200)

    return upload_people


async def _upload(
    request: Request[Any, Any, Any], principal: Principal, settings: Settings
) -> BulkResult:
    runtime = request.app.state.runtime
    async with access.scope(runtime.pool, principal) as conn:
        await authorise(conn, principal)  # before a byte of the file is read
    upload = await receive_file(request, settings.max_upload_bytes)
    rows, refused = await runtime.parsers.run(
        read_file, upload.file, max_rows=settings.max_bulk_rows
    )
    return await register_people(
        commands_of(runtime), principal, rows, max_rows=settings.max_bulk_rows, refused=refused
    )


def document_upload(settings: Settings) -> HTTPRouteHandler:
    """``POST /proposals/{id}/documents?kind=memo`` (``memo``, ``achievement_report``,
    ``council_minutes`` or ``other``), the file in the multipart field ``file``: a document of
    the dossier, stored once by its SHA-256, which goes into the proposal's event. The caller's
    own draft is checked before a byte is read; the bytes are read and hashed in a worker
    thread."""

    @post(
        "/proposals/{proposal_id:str}/documents",
        request_max_body_size=settings.max_upload_bytes + MULTIPART_SLACK,
        include_in_schema=False,
    )
    async def upload_document(
        request: Request[Any, Any, Any], proposal_id: FromPath[str], kind: str = ""
    ) -> Response[Any]:
        principal = request.state.principal
        try:
            if principal is None:
                raise Unauthenticated()
            body = await _store_document(request, principal, proposal_id, kind[:64], settings)
        except DomainError as exc:
            log.info(
                "upload_refused",
                code=exc.code,
                proposal=proposal_id[:64],
                tenant=getattr(principal, "tenant", None),
            )
            return error_response(exc)
        return Response(body, status_code=200)

    return upload_document


async def _store_document(
    request: Request[Any, Any, Any],
    principal: Principal,
    proposal_id: str,
    kind: str,
    settings: Settings,
) -> dict[str, Any]:
    runtime = request.app.state.runtime
    proposals = proposal_commands_of(runtime)
    try:
        pid = uuid.UUID(proposal_id)
    except ValueError:
        raise NotFound(proposal_id[:64], id=proposal_id[:64]) from None
    if kind not in DOCUMENT_KINDS:
        raise ProposalInvalid(
            "kind: memo, achievement_report, council_minutes hay other.", field="kind"
        )
    await proposals.require_draft_of(principal, pid)  # before a byte of the file is read
    upload = await receive_file(request, settings.max_upload_bytes)
    document = await runtime.parsers.run(read_document, upload.file, settings.max_upload_bytes)
    await proposals.attach(
        principal,
        pid,
        kind=kind,
        sha256=document.sha256,
        name=upload.filename or "tai-lieu",
        size=document.size,
        media_type=document.media_type,
        content=document.content,
    )
    return {
        "sha256": document.sha256,
        "size": document.size,
        "mediaType": document.media_type,
        "kind": kind,
    }


def proposal_import(settings: Settings) -> HTTPRouteHandler:
    """``POST /proposals/import?title=…&kind=regular&year=2025`` (``topic`` for a thematic one),
    a lower unit's proposal file in the multipart field ``file`` (columns: services/awards/bulk.py
    ``read_nominee_file``): a new draft proposal of the caller's unit with a nominee for each
    good row, each bad row named with its code. The caller is checked before the file is read;
    nothing is drafted for a file that cannot be read."""

    @post(
        "/proposals/import",
        request_max_body_size=settings.max_upload_bytes + MULTIPART_SLACK,
        include_in_schema=False,
    )
    async def import_proposal(
        request: Request[Any, Any, Any],
        title: str = "",
        kind: str = "regular",
        year: str = "",
        topic: str = "",
    ) -> Response[Any]:
        principal = request.state.principal
        try:
            if principal is None:
                raise Unauthenticated()
            body = await _import(request, principal, title, kind, year, topic, settings)
        except DomainError as exc:
            log.info("upload_refused", code=exc.code, tenant=getattr(principal, "tenant", None))
            return error_response(exc)
        return Response(body, status_code=200)

    return import_proposal


async def _import(
    request: Request[Any, Any, Any],
    principal: Principal,
    title: str,
    kind: str,
    year_text: str,
    topic: str,
    settings: Settings,
) -> dict[str, Any]:
    runtime = request.app.state.runtime
    async with access.scope(runtime.pool, principal) as conn:
        await authorise(conn, principal)  # before a byte of the file is read
    if not year_text.isascii() or not year_text.isdigit() or len(year_text) != 4:
        raise ProposalInvalid("Năm: bốn chữ số.", field="year")
    year = int(year_text)
    title, topic = clean(title[:600]), clean(topic[:600])
    check_proposal_fields(title, kind[:20], topic, year, today())  # before the file, too
    upload = await receive_file(request, settings.max_upload_bytes)
    rows = await runtime.parsers.run(
        read_nominee_file, upload.file, max_rows=settings.max_bulk_rows
    )
    proposals = proposal_commands_of(runtime)
    pid, added, errors, error_count = await import_nominees(
        proposals,
        principal,
        rows,
        title=title,
        kind=kind[:20],
        year=year,
        topic=topic,
        max_rows=settings.max_bulk_rows,
    )
    return {"proposalId": str(pid)} | result_body(
        BulkResult(
            received=len(rows),
            written=added,
            error_count=error_count,
            errors=errors[:MAX_ERRORS_SHOWN],
        )
    )
