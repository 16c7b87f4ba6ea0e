"""REST: a file of pledges uploaded to a campaign (GraphQL is a poor fit for files).

``POST /campaigns/{campaign_id}/pledges`` with ``multipart/form-data``, the file in the field
``file`` (CSV in UTF-8, or XLSX), and the caller's ``Authorization: Bearer`` token. The answer is
the same as GraphQL's ``registerPledges``: how many rows came, were written, were already there,
and each refused row with its number in the file, its error's code and message.

The caller's role, unit and the campaign are checked before the body is read; the file is read
by the guarded reader (shared/uploads.py) in a worker thread, its limits there."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import Request, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Response

from services.campaign.bulk import (
    authorise_pledges,
    read_file,
    register_pledges,
)
from services.campaign.commands import commands_of
from shared.auth import Principal, Unauthenticated
from shared.bulk import BulkResult, result_body
from shared.errors import DomainError
from shared.graphql import client_uuid
from shared.settings import Settings
from shared.uploads import MULTIPART_SLACK, error_response, receive_file

log = structlog.get_logger(__name__)


def pledge_upload(settings: Settings) -> HTTPRouteHandler:
    """The upload route, its body limited to the settings' upload size; its file parsed under
    the runtime's one bound for all upload routes (``Runtime.parsers``)."""

    @post(
        "/campaigns/{campaign_id:str}/pledges",
        request_max_body_size=settings.max_upload_bytes + MULTIPART_SLACK,
        include_in_schema=False,
    )
    async def upload_pledges(
        request: Request[Any, Any, Any], campaign_id: FromPath[str]
    ) -> Response[Any]:
        principal = request.state.principal
        try:
            if principal is None:
                raise Unauthenticated()
            result = await _upload(request, principal, campaign_id, settings)
        except DomainError as exc:
            log.info(
                "upload_refused",
                code=exc.code,
                campaign=campaign_id[:64],
                tenant=getattr(principal, "tenant", None),
            )
            return error_response(exc)
        return Response(result_body(result), status_code=200)

    return upload_pledges


async def _upload(
    request: Request[Any, Any, Any],
    principal: Principal,
    campaign_id: str,
    settings: Settings,
) -> BulkResult:
    runtime = request.app.state.runtime
    commands = commands_of(runtime)
    campaign = client_uuid(campaign_id)
    await authorise_pledges(commands, principal, campaign)  # before a byte of the file is read
    upload = await receive_file(request, settings.max_upload_bytes)
    rows = await runtime.parsers.run(read_file, upload.file, max_rows=settings.max_bulk_rows)
    return await register_pledges(
        commands, principal, campaign, rows, max_rows=settings.max_bulk_rows
    )
