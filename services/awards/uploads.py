"""REST: a file of people uploaded to the caller's unit (GraphQL is a poor fit for files).

``POST /people`` with ``multipart/form-data``, the file in the field ``file`` (CSV in UTF-8, or
XLSX; its columns: services/awards/bulk.py ``read_file``), and the caller's ``Authorization:
Bearer`` token. The answer is the same as GraphQL's ``registerPeople``: how many rows came, were
written, were already there, and each refused row with its number in the file, its error's
code and message.

The caller's role and unit are checked before the body is read; the file is read by the guarded
reader (shared/uploads.py) in a worker thread, its limits there."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, post
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response

from services.awards.bulk import read_file, register_people
from services.awards.commands import authorise, commands_of
from shared import access
from shared.auth import Principal, Unauthenticated
from shared.bulk import BulkResult, result_body
from shared.errors import DomainError
from shared.settings import Settings
from shared.uploads import MULTIPART_SLACK, error_response, receive_file

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
