"""REST: a file of pledges uploaded to a campaign (GraphQL is a poor fit for files).

``POST /campaigns/{campaign_id}/pledges`` with ``multipart/form-data``, the file in the field
``file`` (CSV in UTF-8, or XLSX), and the caller's ``Authorization: Bearer`` token. The answer is
the same as GraphQL's ``registerPledges``: how many rows came, were written, were already there,
and each refused row with its number in the file, its error's code and message."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Response

from services.campaign.bulk import (
    BulkResult,
    BulkTooLarge,
    FileInvalid,
    read_file,
    register_pledges,
)
from services.campaign.commands import commands_of
from services.campaign.schema import client_uuid
from shared.auth import Unauthenticated
from shared.errors import DomainError
from shared.settings import Settings

_STATUS = {
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "BULK_TOO_LARGE": 413,
}


def error_response(exc: DomainError) -> Response[dict[str, Any]]:
    status = _STATUS.get(exc.code, getattr(exc, "http_status", 422))
    return Response({"code": exc.code, "message": exc.message}, status_code=status)


def result_body(result: BulkResult) -> dict[str, Any]:
    return {
        "received": result.received,
        "written": result.written,
        "unchanged": result.unchanged,
        "errorCount": result.error_count,
        "errors": [
            {"row": e.row, "code": e.code, "message": e.message, "field": e.field}
            for e in result.errors
        ],
    }


def pledge_upload(settings: Settings) -> HTTPRouteHandler:
    """The upload route, its body limited to the settings' upload size."""

    @post(
        "/campaigns/{campaign_id:str}/pledges",
        request_max_body_size=settings.max_upload_bytes,
        include_in_schema=False,
    )
    async def upload_pledges(
        request: Request[Any, Any, Any], campaign_id: FromPath[str]
    ) -> Response[Any]:
        try:
            principal = request.state.principal
            if principal is None:
                raise Unauthenticated()
            content = await _file(request)
            rows = read_file(content)
            runtime = request.app.state.runtime
            result = await register_pledges(
                commands_of(runtime),
                principal,
                client_uuid(campaign_id),
                rows,
                max_rows=settings.max_bulk_rows,
            )
        except DomainError as exc:
            return error_response(exc)
        return Response(result_body(result), status_code=200)

    return upload_pledges


async def _file(request: Request[Any, Any, Any]) -> bytes:
    try:
        form = await request.form()
    except ClientException as exc:  # a body over the limit, or not a form
        if exc.status_code == 413:
            raise BulkTooLarge("Tệp quá lớn.") from None
        raise FileInvalid("Gửi tệp trong trường 'file' của multipart/form-data.") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise FileInvalid("Gửi tệp trong trường 'file' của multipart/form-data.")
    return await upload.read()
