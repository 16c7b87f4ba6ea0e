"""Where the database is, and the pool the application uses.

With no ``THIDUA_DATABASE_URL`` the embedded PostgreSQL of the ``pgserver`` package is started in
``DATA_DIR/pgdata`` (created on first use, reused afterwards). Every pooled connection switches to
the ``thidua_app`` role, which may append to the log and read it but never rewrite it.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import warnings
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from asyncpg.pool import PoolAcquireContext

from shared.errors import DomainError
from shared.settings import Settings

APP_ROLE = "thidua_app"
PROJECTOR_ROLE = "thidua_projector"
EMBEDDED_DATABASE = "thidua"
CleanupMode = Literal["stop", "delete"] | None


SET_REACH = (
    "SELECT set_config('thidua.tenant', $1, $3::boolean), "
    "set_config('thidua.reach', $2, $3::boolean)"
)


def lock_key(name: str) -> int:
    """An advisory transaction lock's key for ``name`` (a kind of lock and what it is on): the
    first 8 bytes of its SHA-256, so that keys of different kinds never meet by design."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def set_reach(
    conn: asyncpg.Connection, tenant: str, reach: str, *, local: bool = True
) -> None:
    """The unit and reach row-level security reads by (shared/access.py): for the transaction
    (``local``), or for the session, which its user must reset before the connection goes back
    (the pool does not reset sessions: see ``_keep_session``)."""
    await conn.execute(SET_REACH, tenant, reach, local)


@asynccontextmanager
async def transaction(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A transaction, or a savepoint inside the one ``conn`` is in. A request's scope opens its
    transaction by hand (its BEGIN and its reach in one round trip, shared/access.py), which
    asyncpg's own ``transaction()`` refuses to nest in."""
    if not conn.is_in_transaction():
        async with conn.transaction():
            yield
        return
    name = f"thidua_{next(_savepoints)}"
    await conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        await conn.execute(f"ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
        raise
    await conn.execute(f"RELEASE SAVEPOINT {name}")


_savepoints = itertools.count()


class EmbeddedPostgres:
    """The pgserver-managed PostgreSQL in a data directory.

    ``cleanup="stop"`` stops the server when the last process using it exits; ``None`` leaves it
    running (so ``thidua db url`` can hand its address to psql); ``"delete"`` also removes it.
    """

    def __init__(self, data_dir: Path, cleanup: CleanupMode = "stop") -> None:
        self.pgdata = Path(data_dir).expanduser().resolve() / "pgdata"
        self.cleanup = cleanup
        self._server: Any = None

    def start(self) -> str:
        """Start (or join) the server; the URL of its ``thidua`` database."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pgserver's import warns when XDG_RUNTIME_DIR is unset
            import pgserver

            self._server = pgserver.get_server(self.pgdata, cleanup_mode=self.cleanup)
        return self._server.get_uri(database=EMBEDDED_DATABASE)

    def admin_url(self) -> str:
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class Database:
    """Resolves the database URL from settings, starting the embedded server when there is none."""

    def __init__(self, settings: Settings, cleanup: CleanupMode = "stop") -> None:
        self.settings = settings
        self.embedded = EmbeddedPostgres(settings.data_dir, cleanup) if settings.embedded else None
        self._url: str | None = None

    async def app_url(self) -> str:
        """The URL the application's pool logs in with: as ``thidua_app`` where possible."""
        if self.settings.app_database_url:
            return self.settings.app_database_url
        owner = await self.url()
        return with_user(owner, APP_ROLE) if self.embedded is not None else owner

    async def url(self) -> str:
        if self._url is None:
            if self.embedded is None:
                self._url = str(self.settings.database_url)
            else:
                self._url = await asyncio.to_thread(self.embedded.start)
                await ensure_database(self.embedded.admin_url(), EMBEDDED_DATABASE)
        return self._url

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
        self._url = None


def with_user(url: str, user: str) -> str:
    """The same URL logging in as another user (without the owner's password)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}@{host}"))


async def ensure_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            except asyncpg.DuplicateDatabaseError:
                pass  # another process created it first
    finally:
        await conn.close()


async def _as_app_role(conn: asyncpg.Connection) -> None:
    # A no-op when the pool logs in as thidua_app (it should); a fallback when it logs in as the
    # owner, where RESET ROLE could undo it (see Settings.app_database_url).
    await conn.execute(f"SET ROLE {APP_ROLE}")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without ``RESET ALL``: our sessions hold no state but the role (set once, at
    connect; per-request settings are ``SET LOCAL``), and asyncpg itself still rolls back an open
    transaction and drops listeners. The default reset costs a round trip per checkout, which
    halved append throughput here."""


class ServiceBusy(DomainError, TimeoutError):
    """No connection came free in time, or a statement ran past its limit: the request is
    refused, and the client may try again (nothing was written). Also a TimeoutError, which is
    what asyncpg raised here before, so code that already treats a slow checkout as a timeout
    (readiness, the revocation list's reload) keeps doing so."""

    code = "SERVICE_BUSY"
    message_vi = "Máy chủ đang bận, vui lòng thử lại sau."
    http_status: ClassVar[int] = 503


class _BoundedAcquire(PoolAcquireContext):
    """A checkout that gives up after its timeout with :class:`ServiceBusy`."""

    __slots__ = ()

    async def __aenter__(self) -> asyncpg.Connection:
        try:
            return await super().__aenter__()
        except TimeoutError:
            raise _busy(self.timeout) from None

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._checkout().__await__()

    async def _checkout(self) -> asyncpg.Connection:
        # ``await pool.acquire()``: the caller releases the connection itself.
        return await self.__aenter__()


def _busy(timeout: float | None) -> ServiceBusy:
    return ServiceBusy(f"(không có kết nối cơ sở dữ liệu sau {timeout} giây)", waited_s=timeout)


class BoundedPool(asyncpg.Pool):
    """A pool whose every checkout waits at most ``acquire_timeout`` seconds, including those
    ``pool.fetch`` and the like make: under overload a request is refused (SERVICE_BUSY) rather
    than queued without end, and code that waits for a second connection while holding one
    (which no command should) fails and lets go instead of waiting for ever."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return _BoundedAcquire(self, self.acquire_timeout if timeout is None else timeout)


@contextmanager
def cancelled_as_busy() -> Iterator[None]:
    """A statement the server cancelled (statement_timeout) answers SERVICE_BUSY: the
    transaction around it is rolled back, so nothing was written."""
    try:
        yield
    except asyncpg.QueryCanceledError as exc:
        raise ServiceBusy("(một câu lệnh chạy quá thời gian cho phép)") from exc


def server_settings(settings: Settings) -> dict[str, str]:
    """Per-session limits (PostgreSQL counts them in milliseconds; 0 means none): a stuck
    statement, or a transaction whose client went quiet, cannot keep a connection forever."""
    return {
        "statement_timeout": str(round(settings.statement_timeout_s * 1000)),
        "idle_in_transaction_session_timeout": str(
            round(settings.idle_in_transaction_timeout_s * 1000)
        ),
    }


async def create_pool(url: str, settings: Settings) -> BoundedPool:
    """The application's pool: every connection acts as ``thidua_app``, and waits, for a
    connection or for a statement, are bounded by ``settings``."""
    pool = BoundedPool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=_as_app_role,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        acquire_timeout=settings.pool_acquire_timeout_s,
        server_settings={**server_settings(settings), **APP_PLANS},
    )
    return await pool


def optional(value: object, condition: str, parameter: str) -> str:
    """A filter's SQL: ``condition`` when ``value`` is given, else ``parameter IS NULL`` (true,
    and it still names the parameter, whose type the statement must know). The application's
    plans are generic (:data:`APP_PLANS`), and in a generic plan ``($2 IS NULL OR campaign_id =
    $2)`` cannot use the column's index; one statement for each set of filters given can."""
    return condition if value is not None else f"{parameter} IS NULL"


# Row-level security makes each read of the application a large plan (a phase's policy reads
# its campaign's, which reads the closure: some 180 subplans), and PostgreSQL, finding the
# generic plan of a prepared statement no cheaper than a custom one, planned it again on every
# execution: 1.5 ms of planning for 0.05 ms of work. The statements are prepared once per
# connection (asyncpg's cache) and their plans kept; an ANALYZE still invalidates them. The
# projection runner's too: its survey, planned anew each round, was most of a round's time
# (registerInitiative at one writer 255 → 303/s; the bulk pledge kept its 56% of the store).
APP_PLANS = {"plan_cache_mode": "force_generic_plan"}


# Up to this many keys, a lookup keeps its generic plan: planning a statement anew under
# row-level security costs more than a generic plan's walk of the index for a few keys (5 ms of
# planning for 0.1 ms of work: two authors' names, at every registerInitiative).
FEW_KEYS = 64


@asynccontextmanager
async def planned_for_arguments(
    conn: asyncpg.Connection, keys: int | None = None
) -> AsyncIterator[None]:
    """Inside a transaction: the statements within are planned for their very arguments, then
    the connection's generic plans again. For a bulk lookup or update by an array of keys
    (``= ANY ($1)``): a generic plan knows neither the array's length nor, just after a bulk
    write, the table's, and may scan the table searching the whole array for each row (2 s for
    10,000 pledges; 90 ms for each 1,600 council votes); planned for the array, PostgreSQL
    hashes it or walks the index. ``keys``: how many the array holds, if known (at most
    :data:`FEW_KEYS`: the generic plan is kept)."""
    if keys is not None and keys <= FEW_KEYS:
        yield
        return
    await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
    try:
        yield
    finally:
        await conn.execute("SET LOCAL plan_cache_mode TO DEFAULT")


async def _as_projector_role(conn: asyncpg.Connection) -> None:
    await conn.execute(f"SET ROLE {PROJECTOR_ROLE}")


async def create_projector_pool(url: str, settings: Settings) -> BoundedPool:
    """The projection runner's pool (shared/projections.py), small: ``url`` is the owner's, and
    every connection acts as ``thidua_projector``, which reads every log and writes any
    read-model row but cannot append to the log."""
    pool = BoundedPool(
        url,
        min_size=1,
        max_size=settings.projector_pool_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=_as_projector_role,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        acquire_timeout=settings.pool_acquire_timeout_s,
        server_settings={**server_settings(settings), **APP_PLANS},
    )
    return await pool


@asynccontextmanager
async def owner_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the URL's own user: for migrations and operator tools, not requests."""
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


# From this many rows an insert goes by COPY where it may. RowRuns' parts are this size too:
# larger parts overlap less with building the next (parts of 1,000 made a runner's bulk pledge
# slower by COPY than by INSERT in parts of 500).
COPY_FROM_ROWS = 500


async def insert_rows(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[tuple[Any, ...]],
    *,
    skip_existing: bool = False,
    secured: bool | None = None,
) -> None:
    """Insert many rows into ``table`` (``columns``: name and SQL type). By COPY where the
    connection may use it, i.e. row-level security does not apply to it (an owner's connection
    in an operator tool): at 500,000 rows it is twice as fast as the other way, one INSERT from
    arrays, which is what the application's own role gets. ``skip_existing``: a row whose key is
    there already is left out (always by the INSERT). ``secured``: whether row-level security
    applies, if the caller knows (else it is asked, for a bulk write)."""
    if not rows:
        return
    names = [name for name, _ in columns]
    # Asking costs a round trip, worth it only for a bulk write (a registry command writes a
    # handful of rows). COPY cannot skip a row that is there already.
    bulk = len(rows) >= COPY_FROM_ROWS and not skip_existing
    if bulk and secured is None:
        secured = await conn.fetchval("SELECT row_security_active($1::regclass)", table)
    if bulk and not secured:
        await conn.copy_records_to_table(table, columns=names, records=rows)
        return
    arrays = [list(column) for column in zip(*rows, strict=True)]
    unnest = ", ".join(f"${i}::{kind}[]" for i, (_, kind) in enumerate(columns, 1))
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) SELECT * FROM unnest({unnest})"
        + (" ON CONFLICT DO NOTHING" if skip_existing else ""),
        *arrays,
    )


T = TypeVar("T")


class InFlight(Generic[T]):
    """One statement at a time on a connection, sent while the caller makes the next (a bulk's
    rows, a bulk command's parts): the database's work and Python's overlap. Any other
    statement on the connection waits for :meth:`finished` first; the caller's ``finally``
    calls :meth:`settled`, so that a failed transaction can roll back."""

    def __init__(self) -> None:
        self.pending: asyncio.Future[T] | None = None

    async def start(self, statement: Awaitable[T]) -> None:
        """``statement`` sent, once the one before has finished (its error raised here)."""
        await self.finished()
        self.pending = asyncio.ensure_future(statement)
        await asyncio.sleep(0)  # sent now, not when the caller next waits

    async def finished(self) -> T | None:
        """The statement in flight finished: its result (None if there was none)."""
        pending, self.pending = self.pending, None
        return None if pending is None else await pending

    async def settled(self) -> None:
        """The statement in flight, if any, finished (its failure is the caller's to report),
        even if the caller is cancelled meanwhile, again and again: a ROLLBACK sent while it
        runs would fail, and the connection would be lost. A cancellation is raised after."""
        pending, self.pending = self.pending, None
        if pending is None:
            return
        cancelled = False
        while not pending.done():
            try:
                await asyncio.wait([pending])  # a cancelled wait leaves the statement running
            except asyncio.CancelledError:
                cancelled = True
        if not pending.cancelled():
            pending.exception()  # retrieved: the transaction fails and rolls back whole
        if cancelled:
            raise asyncio.CancelledError


class RowRuns:
    """Rows of one table inserted a part at a time (:func:`insert_rows`) while the caller builds
    the next: the database stores one part while Python builds the next (a bulk pledge's or a
    bulk registration's projection was each in turn). At most one statement is in flight; any
    other statement on the connection must first wait for it (:meth:`flush`), and the caller's
    ``finally`` calls :meth:`settled`, so that a failed transaction can roll back. Each part is
    :data:`COPY_FROM_ROWS` rows, so that :func:`insert_rows` takes COPY where the connection may
    (no row-level security: the runner's, an operator's), asked once."""

    PART = COPY_FROM_ROWS

    def __init__(
        self,
        conn: asyncpg.Connection,
        table: str,
        columns: Sequence[tuple[str, str]],
        *,
        skip_existing: bool = False,
    ) -> None:
        self.conn, self.table, self.columns = conn, table, columns
        self.skip_existing = skip_existing
        self.rows: list[tuple[Any, ...]] = []
        self.flight: InFlight[None] = InFlight()
        # Whether row-level security applies (then no COPY): asked once, when the first part is
        # full. COPY cannot skip a row: nothing to ask then.
        self.secured: bool | None = True if skip_existing else None

    async def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.PART:
            await self._full()

    async def extend(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows built as they are taken (a generator): each part is sent before the next is
        built."""
        for row in rows:
            self.rows.append(row)
            if len(self.rows) >= self.PART:
                await self._full()

    async def _full(self) -> None:
        if self.secured is None:  # nothing is in flight yet: the connection is free to ask
            self.secured = await self.conn.fetchval(
                "SELECT row_security_active($1::regclass)", self.table
            )
        await self._send()

    async def flush(self) -> None:
        """Every row added is written, and the connection is free."""
        await self._send()
        await self.flight.finished()

    async def settled(self) -> None:
        """The part in flight, if any, finished (see :meth:`InFlight.settled`)."""
        await self.flight.settled()

    @property
    def pending(self) -> asyncio.Future[Any] | None:
        """The part in flight, if any."""
        return self.flight.pending

    async def _send(self) -> None:
        if not self.rows:
            await self.flight.finished()
            return
        rows, self.rows = self.rows, []
        await self.flight.start(
            insert_rows(
                self.conn,
                self.table,
                self.columns,
                rows,
                skip_existing=self.skip_existing,
                secured=self.secured,
            )
        )


@asynccontextmanager
async def row_runs(
    conn: asyncpg.Connection,
    table: str,
    columns: Sequence[tuple[str, str]],
    *,
    skip_existing: bool = False,
) -> AsyncIterator[RowRuns]:
    """:class:`RowRuns` for a block: every row written when it ends, the connection idle again
    when it fails."""
    runs = RowRuns(conn, table, columns, skip_existing=skip_existing)
    try:
        yield runs
        await runs.flush()
    finally:
        await runs.settled()
