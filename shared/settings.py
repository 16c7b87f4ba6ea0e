"""Settings, read from the environment with the prefix ``THIDUA_`` (or passed in by tests)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THIDUA_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description=(
            "PostgreSQL URL, e.g. postgresql://user:pass@host:5432/thidua. When unset, an embedded "
            "PostgreSQL (the pgserver package) is started in DATA_DIR and reused across runs."
        ),
    )
    app_database_url: str | None = Field(
        default=None,
        description=(
            "URL the server's pool logs in with, as the role thidua_app (give it a password with "
            "ALTER ROLE thidua_app PASSWORD …). Unset: the embedded default logs in as thidua_app "
            "by itself; with DATABASE_URL the pool logs in as its owner and switches role (SET "
            "ROLE), which SQL on that connection could undo: set this in production."
        ),
    )
    data_dir: Path = Field(
        default=Path(".thidua"),
        description="Where the embedded PostgreSQL keeps its files, and other local state.",
    )
    host: str = Field(default="127.0.0.1", description="Address `thidua serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `thidua serve` listens on.")

    pool_min_size: int = Field(
        default=2, ge=0, description="Smallest number of pooled connections."
    )
    pool_max_size: int = Field(
        default=20, ge=1, description="Largest number of pooled connections."
    )
    pool_acquire_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Longest a request waits for a pooled connection; past it the request is refused "
            "with SERVICE_BUSY (HTTP 503) instead of queueing without end."
        ),
    )
    statement_timeout_s: float = Field(
        default=60.0,
        ge=0,
        description=(
            "PostgreSQL statement_timeout of pooled connections: a statement (or lock wait) "
            "running longer is cancelled and answers SERVICE_BUSY, so it cannot hold its "
            "connection for good. 0: no limit (e.g. for a very large `thidua tenants rebuild`)."
        ),
    )
    idle_in_transaction_timeout_s: float = Field(
        default=60.0,
        ge=0,
        description=(
            "PostgreSQL idle_in_transaction_session_timeout of pooled connections: a session "
            "left idle inside a transaction this long is ended, and its connection freed. "
            "0: no limit."
        ),
    )

    max_event_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Largest canonical size of one event (content JSON, in bytes); larger is refused.",
    )
    max_events_per_append: int = Field(
        default=10_000, ge=1, description="Most events one command may append at once."
    )
    max_request_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description=(
            "Largest HTTP request body the gateway accepts (a GraphQL bulk pledge of 10,000 rows "
            "is about 1.5 MiB)."
        ),
    )
    max_upload_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1024,
        description=(
            "Largest uploaded file (CSV/XLSX, dossiers): 20 MiB holds a CSV of 100,000 pledges "
            "(about 100 bytes a row) with room to spare. Above 1 MiB it waits on disk, not in "
            "memory, while it is read."
        ),
    )
    upload_parse_concurrency: int = Field(
        default=2,
        ge=1,
        description=(
            "Most uploaded files read at once (each in a worker thread, off the event loop); "
            "others wait their turn, so memory for uploads stays this many times one file's."
        ),
    )
    max_bulk_rows: int = Field(
        default=100_000,
        ge=1,
        description="Most rows one bulk command (a list of pledges, an uploaded file) may carry.",
    )
    snapshot_every: int = Field(
        default=100,
        ge=0,
        description="Take an aggregate snapshot every N events of its stream (0: never).",
    )
    gc_young_threshold: int = Field(
        default=5_000,
        ge=0,
        description=(
            "The served process's collector: objects allocated before a young collection "
            "(Python's default is 700; a bulk request of 10,000 rows allocates millions, and each "
            "full collection it set off walked every live object: 0.3-0.4 s of a 10,000-nominee "
            "proposal's chain). Not more: a young collection walks them all at once, and at "
            "50,000 each took 20-50 ms, the p99 of `{ version }` 50 ms against 2.7 at 5,000 "
            "(tests/perf/bench_reporting.py's server). 0 keeps Python's own thresholds."
        ),
    )
    aggregate_cache_size: int = Field(
        default=64,
        ge=0,
        le=10_000,
        description=(
            "Aggregates kept in memory as the last command left them, so the next command reads "
            "only the events since (0: fold every stream anew)."
        ),
    )
    aggregate_cache_check: bool = Field(
        default=False,
        description=(
            "Compare every cached aggregate with its stream folded anew, failing the command if "
            "they differ: for tests, it doubles the reads."
        ),
    )
    command_retries: int = Field(
        default=3, ge=0, description="How often a command is retried after a concurrency conflict."
    )
    command_projection_wait_s: float = Field(
        default=5.0,
        ge=0,
        description=(
            "Longest a command waits, before it answers, for the projections to show what it "
            "wrote (read your own writes); past it, it answers anyway and the lateness is logged "
            "and counted."
        ),
    )
    notify_interval_ms: int = Field(
        default=20,
        ge=1,
        description=(
            "Appends are announced to other processes at most once per this many milliseconds "
            "(one coalesced NOTIFY, never one per append)."
        ),
    )
    poll_interval_s: float = Field(
        default=1.0,
        gt=0,
        description=(
            "Followers of the log (the projection runner) poll this often when no notification "
            "arrives, and the runner surveys every unit this often (otherwise only those the "
            "signal names); a checkpoint waited for by another process's projector is polled too."
        ),
    )
    run_projections: bool = Field(
        default=True,
        description=(
            "`thidua serve` runs the projection runner in its own process. Off: the projections "
            "are left to `thidua projector` processes (several may share the work)."
        ),
    )
    report_keep_interval_s: float = Field(
        default=60.0,
        ge=0,
        description=(
            "`thidua serve` keeps the roll-ups of the large subtrees (this year's, last year's, "
            "the reports' periods, the five-year terms back to the earliest year dated) ready "
            "at its start and this often (and within seconds of a move or a merge of a unit), "
            "so that no user waits for a full read of the union "
            "(services/reporting/rollups.py); 0: never."
        ),
    )
    recent_events_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description=(
            "Bytes of the events this process appended lately kept in memory, for its projection "
            "runner to read instead of the log (0: none kept; a decision of 10,000 recipients "
            "is 5 MB, which the log would turn back into text a second time)."
        ),
    )
    projection_batch_size: int = Field(
        default=2000,
        ge=1,
        description=(
            "Most events the projection runner applies in one transaction of a tenant (2,000: "
            "a bulk pledge of 100,000 rows readable in a fifth less time than at 500)."
        ),
    )
    projector_pool_size: int = Field(
        # Two rounds at once, each applying its three projections side by side: with 3, a
        # round's batches waited for connections (16 writers waited 58 ms for their
        # projections, 53 ms with 6).
        default=6,
        ge=1,
        description="Connections of the projection runner's own pool (role thidua_projector).",
    )

    jwt_secret: str | None = Field(
        default=None,
        description="HS256 secret for tokens. Embedded default: generated into DATA_DIR on first use.",
    )
    jwt_algorithm: str = Field(
        default="HS256", description="HS256 (shared secret) or RS256 (public key or JWKS)."
    )
    jwt_public_key: str | None = Field(
        default=None, description="PEM public key verifying RS256 tokens (production)."
    )
    jwt_jwks_url: str | None = Field(
        default=None, description="JWKS URL of an OIDC issuer verifying RS256 tokens (production)."
    )
    jwt_audience: str = Field(default="thidua", description="Audience every token must carry.")
    jwt_issuer: str = Field(default="thidua", description="Issuer every token must carry.")
    jwt_max_ttl: str = Field(
        default="24h",
        description=(
            "Longest lifetime of a token (exp − iat), e.g. 12h or 1d; a longer one is refused "
            "whoever signed it. At most 30d."
        ),
    )
    revocation_refresh_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description=(
            "How often the gateway reloads revoked tokens (`thidua token revoke`): a revocation "
            "takes effect within this many seconds."
        ),
    )

    graphql_max_depth: int = Field(default=12, ge=1, description="Deepest GraphQL query accepted.")
    graphql_max_aliases: int = Field(
        default=30, ge=1, description="Most aliases one GraphQL query may use."
    )
    graphql_max_tokens: int = Field(
        default=4000, ge=10, description="Most tokens one GraphQL document may hold."
    )
    graphql_max_cost: int = Field(
        default=20_000,
        ge=1,
        description=(
            "Largest estimated cost of one GraphQL operation: list sizes (first/limit, or 10 for "
            "an unsized list) times nesting, audit fields weighing more; larger is refused."
        ),
    )
    max_text_chars: int = Field(
        default=20_000,
        ge=200,
        description="Longest text one GraphQL argument, input field or variable may hold.",
    )
    max_list_items: int = Field(
        default=1_000,
        ge=1,
        description=(
            "Most items of one list in a GraphQL request (bulk pledge rows: max_bulk_rows)."
        ),
    )
    verification_cache_s: float = Field(
        default=300.0,
        ge=0,
        description=(
            "How long a hash-chain verification served through GraphQL is reused while the "
            "unit's log head stays the same (`thidua verify` always recomputes)."
        ),
    )
    graphiql: bool | None = Field(
        default=None,
        description="Serve GraphiQL and allow introspection. Unset: on with the embedded database.",
    )
    log_level: str = Field(default="INFO", description="Log level: DEBUG, INFO, WARNING, ERROR.")
    log_json: bool = Field(default=True, description="Write logs as JSON lines (structlog).")

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def graphiql_enabled(self) -> bool:
        return self.embedded if self.graphiql is None else self.graphiql
