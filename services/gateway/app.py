"""``create_app(settings)``: the one place the web application is assembled."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import anyio
import asyncpg
import orjson
import structlog
from litestar import Litestar, Request, get
from litestar.background_tasks import BackgroundTasks
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.response import Response
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_401_UNAUTHORIZED,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from strawberry.litestar import make_graphql_controller

from services.awards.downloads import decision_downloads
from services.awards.uploads import document_upload, people_upload, proposal_import
from services.campaign.uploads import pledge_upload
from services.gateway.errors import EXCEPTION_HANDLERS, GRAPHQL_PATH, error_body, json_errors
from services.gateway.logs import configure_logging
from services.gateway.runtime import Runtime
from services.gateway.schema import build_schema
from services.gateway.verifications import Verifications
from services.reporting.downloads import report_downloads
from services.reporting.rollups import RollupKeeper
from services.reporting.tables import table_downloads
from shared import migrate
from shared.auth import LEEWAY_SECONDS, TokenService, VerifiedToken, bearer
from shared.errors import DomainError
from shared.revocations import RevocationList
from shared.settings import Settings
from shared.uploads import refusal

log = structlog.get_logger(__name__)

VERIFIED_TOKENS = 4096  # tokens remembered: each at most 8 KB (shared/auth.py MAX_TOKEN_BYTES)


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


def _sub_response(custom_context: NamedDependency[Any]) -> Response[Any]:
    """What strawberry's controller hands resolvers for headers and cookies of the answer. It
    waits for our context, and the root value for strawberry's, so that Litestar resolves one
    provider at a time: a batch of several costs a task group for every request."""
    return Response({}, background=BackgroundTasks([]))


async def _no_root_value(context: NamedDependency[Any]) -> None:
    return None


def encode_json(data: object) -> bytes:
    """A GraphQL answer as JSON, by orjson; an int past 64 bits (a BigInt), which orjson
    refuses, by the standard library, as strawberry writes every answer."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, separators=(",", ":")).encode()


def served(controller: type) -> type:
    """The GraphQL controller, cheaper per request than strawberry makes it: its answer's
    sub-response is built on the event loop (strawberry's provider is sync_to_thread: a hop to
    a worker thread and back for every request), its providers resolve one after the other,
    and answers are encoded with orjson."""

    class ServedController(controller):  # type: ignore[misc,valid-type]
        dependencies: ClassVar[dict[str, Provide]] = {
            **controller.dependencies,
            "response": Provide(_sub_response, sync_to_thread=False),
            "root_value": Provide(_no_root_value),
        }

        def encode_json(self, data: object) -> str | bytes:
            return encode_json(data)

    ServedController.__name__ = controller.__name__
    return ServedController


class VerifiedTokens:
    """Tokens this process verified, by their text, until they expire: PyJWT's decoding and
    signature check cost more than all the rest of authenticating a request. What verification
    decides of a token depends on nothing but the token, the keys and the clock, and a valid
    token only stops being valid at its expiry; revocation is still checked at every request.
    Not for keys fetched from a JWKS URL, which the issuer may withdraw before a token expires."""

    def __init__(
        self,
        tokens: TokenService,
        size: int = VERIFIED_TOKENS,
        clock: Callable[[], float] = time.time,  # PyJWT's clock: seconds since the epoch
    ) -> None:
        self.tokens = tokens
        self.size = size
        self.clock = clock
        self.known: dict[str, tuple[VerifiedToken, float]] = {}

    def verify(self, token: str) -> VerifiedToken:
        known = self.known.pop(token, None)
        if known is None or self.clock() >= known[1]:
            known = (self.tokens.verify_token(token), _expiry(token) + LEEWAY_SECONDS)
        if len(self.known) >= self.size:  # the oldest goes
            del self.known[next(iter(self.known))]
        self.known[token] = known  # last in line again
        return known[0]


def _expiry(token: str) -> float:
    """The ``exp`` claim of a token just verified (so well formed, and a number)."""
    payload = token.split(".")[1]
    return float(orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


def create_app(settings: Settings, runtime: Runtime | None = None) -> Litestar:
    """The Litestar app. It starts its own runtime on startup unless one is handed in (tests)."""
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if runtime is not None:  # handed in, started and closed by its owner
            yield
            return
        app.state.runtime = await Runtime.start(settings)
        keeper = RollupKeeper(app.state.runtime.pool, settings.report_keep_interval_s)
        keeper.start()
        try:
            yield
        finally:
            await keeper.stop()
            await app.state.runtime.close()

    tokens = TokenService.from_settings(settings)
    verified_tokens = VerifiedTokens(tokens)
    revocations = RevocationList(tokens.max_ttl, settings.revocation_refresh_s)

    def _with_token(path: str) -> bool:
        """Every route acts for its caller but the probes: a route added later is covered
        without being listed here."""
        return path not in ("/health", "/ready")

    async def authenticate(request: Request[Any, Any, Any]) -> Response[Any] | None:
        """Who calls: no token, anonymous (reaching only version, serverTime and health); a bad
        token, 401 before any resolver runs."""
        request.state.principal = None
        if not _with_token(request.url.path):
            return None
        try:
            token = bearer(request.headers.get("authorization"))
            if token is not None:
                if settings.jwt_jwks_url:  # may fetch the issuer's keys over the network
                    verified = await anyio.to_thread.run_sync(tokens.verify_token, token)
                else:
                    verified = verified_tokens.verify(token)
                await revocations.check(request.app.state.runtime.pool, verified)
                request.state.principal = verified.principal
        except DomainError as exc:
            log.info("token_refused", code=exc.code, path=request.url.path)
            status = getattr(exc, "http_status", HTTP_401_UNAUTHORIZED)
            if request.url.path != GRAPHQL_PATH:  # a REST route's shape, as its own refusals
                return refusal(exc.code, exc.message, status, exc.shown())
            body = error_body(exc.message, exc.code)
            return Response(body, status_code=status, headers={"WWW-Authenticate": "Bearer"})
        return None

    verifications = Verifications(max_age_s=settings.verification_cache_s)

    async def graphql_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {
            "runtime": request.app.state.runtime,
            "principal": request.state.principal,
            "verifications": verifications,
            # A mutation repeated with the same key answers as the first did (shared/commands.py).
            "idempotency_key": request.headers.get("idempotency-key"),
        }

    schema = build_schema(settings)
    graphql = served(
        json_errors(
            make_graphql_controller(
                schema,
                path=GRAPHQL_PATH,
                graphql_ide="graphiql" if settings.graphiql_enabled else None,
                context_getter=graphql_context,
            )
        )
    )
    return Litestar(
        route_handlers=[
            health,
            ready,
            graphql,
            pledge_upload(settings),
            people_upload(settings),
            document_upload(settings),
            proposal_import(settings),
            *decision_downloads(),
            *report_downloads(schema),
            *table_downloads(schema),
        ],
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
