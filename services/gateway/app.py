"""``create_app(settings)``: the one place the web application is assembled."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import asyncpg
import structlog
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.response import Response
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_401_UNAUTHORIZED,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from strawberry.litestar import make_graphql_controller

from services.campaign.uploads import pledge_upload
from services.gateway.errors import EXCEPTION_HANDLERS, error_body, json_errors
from services.gateway.logs import configure_logging
from services.gateway.runtime import Runtime
from services.gateway.schema import build_schema
from services.gateway.verifications import Verifications
from shared import migrate
from shared.auth import TokenService, bearer
from shared.errors import DomainError
from shared.revocations import RevocationList
from shared.settings import Settings

log = structlog.get_logger(__name__)


@get("/health", sync_to_thread=False, include_in_schema=False)
def health() -> dict[str, str]:
    """Liveness: the process answers. It does not touch the database."""
    return {"status": "ok"}


@get("/ready", include_in_schema=False)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Readiness: the database answers and every migration is applied."""
    runtime: Runtime = request.app.state.runtime
    try:
        async with runtime.pool.acquire(timeout=2) as conn:
            waiting = await migrate.pending(conn)
    except (
        OSError,
        TimeoutError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        DomainError,
    ) as exc:
        body = {"status": "unavailable", "reason": f"database: {type(exc).__name__}"}
        return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    if waiting:
        body = {"status": "unavailable", "reason": "migrations pending", "pending": len(waiting)}
        return Response(body, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response({"status": "ready"}, status_code=HTTP_200_OK)


def create_app(settings: Settings, runtime: Runtime | None = None) -> Litestar:
    """The Litestar app. It starts its own runtime on startup unless one is handed in (tests)."""
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if runtime is not None:  # handed in, started and closed by its owner
            yield
            return
        app.state.runtime = await Runtime.start(settings)
        try:
            yield
        finally:
            await app.state.runtime.close()

    tokens = TokenService.from_settings(settings)
    revocations = RevocationList(tokens.max_ttl, settings.revocation_refresh_s)

    async def authenticate(request: Request[Any, Any, Any]) -> Response[Any] | None:
        """Who calls: no token, anonymous (reaching only version, serverTime and health); a bad
        token, 401 before any resolver runs."""
        request.state.principal = None
        if request.url.path != "/graphql" and not request.url.path.startswith("/campaigns/"):
            return None
        try:
            token = bearer(request.headers.get("authorization"))
            if token is not None:
                verify = tokens.verify_token
                if settings.jwt_jwks_url:  # may fetch the issuer's keys over the network
                    verified = await anyio.to_thread.run_sync(verify, token)
                else:
                    verified = verify(token)
                await revocations.check(request.app.state.runtime.pool, verified)
                request.state.principal = verified.principal
        except DomainError as exc:
            log.info("token_refused", code=exc.code, path=request.url.path)
            status = getattr(exc, "http_status", HTTP_401_UNAUTHORIZED)
            body = error_body(exc.message, exc.code)
            return Response(body, status_code=status, headers={"WWW-Authenticate": "Bearer"})
        return None

    verifications = Verifications(max_age_s=settings.verification_cache_s)

    async def graphql_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {
            "runtime": request.app.state.runtime,
            "principal": request.state.principal,
            "verifications": verifications,
        }

    graphql = json_errors(
        make_graphql_controller(
            build_schema(settings),
            path="/graphql",
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            context_getter=graphql_context,
        )
    )
    return Litestar(
        route_handlers=[health, ready, graphql, pledge_upload(settings)],
        before_request=authenticate,
        lifespan=[lifespan],
        state=State({"runtime": runtime}),
        request_max_body_size=settings.max_request_bytes,
        openapi_config=None,
        exception_handlers=EXCEPTION_HANDLERS,
        # The root logger is configure_logging's (JSON lines); Litestar's default would
        # replace its handler with a plain-text one.
        logging_config=None,
    )
