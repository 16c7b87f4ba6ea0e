"""The ``thidua`` command: serve, db migrate | url | stop, verify, log export, token issue |
revoke."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.markup import escape

from services.gateway.cli_projections import projections_app, projector
from services.gateway.cli_reports import reports_app
from services.gateway.embedded import embedded_running, stop_embedded
from services.gateway.runtime import Runtime
from shared import audit
from shared.auth import TokenService, parse_ttl
from shared.db import Database, EmbeddedPostgres, owner_connection
from shared.errors import DomainError
from shared.eventstore import check_tenant
from shared.migrate import migrate
from shared.settings import Settings

T = TypeVar("T")

app = typer.Typer(help="Thi đua: phong trào thi đua và khen thưởng của tổ chức công đoàn.")
db_app = typer.Typer(help="The database: migrations and where it is.")
log_app = typer.Typer(help="A tenant's event log.")
token_app = typer.Typer(help="Access tokens (JWT) for the API.")
app.add_typer(db_app, name="db")
app.add_typer(log_app, name="log")
app.add_typer(token_app, name="token")
tenants_app = typer.Typer(help="The unit registry: every union unit is a tenant.")
app.add_typer(tenants_app, name="tenants")
campaigns_app = typer.Typer(help="Campaigns (phong trào thi đua) and what is recorded under them.")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(projections_app, name="projections")
app.add_typer(reports_app, name="reports")
app.command()(projector)
err = Console(stderr=True)

TenantOption = Annotated[str, typer.Option("--tenant", "-t", help="The unit (tenant) id.")]


def _as_owner(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work`` on an owner connection to the configured database (starting the embedded one
    if needed, and stopping it after unless another process still uses it)."""

    async def go() -> T:
        database = Database(Settings())
        try:
            async with owner_connection(await database.url()) as conn:
                return await work(conn)
        finally:
            database.stop()

    return _run(go)


def _run(make: Callable[[], Awaitable[T]]) -> T:
    try:
        return asyncio.run(make())
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(2) from None


@app.command()
def serve() -> None:
    """Run the server on THIDUA_HOST:THIDUA_PORT (migrating first). Ctrl-C stops it cleanly."""
    import uvicorn

    from services.gateway.app import create_app

    settings = Settings()
    where = (
        "embedded PostgreSQL in " + str(settings.data_dir)
        if settings.embedded
        else "THIDUA_DATABASE_URL"
    )
    err.print(f"Thi đua on http://{settings.host}:{settings.port}/graphql ({where})")
    app = create_app(settings)
    # What start-up built lives as long as the process: frozen, a full collection no longer
    # walks it (about 100 ms a time on a 2-core machine; tests/perf/bench_campaign.py).
    gc.collect()
    gc.freeze()
    tune_gc(settings)
    uvicorn.run(app, **uvicorn_options(settings))


def tune_gc(settings: Settings) -> None:
    """Young collections every THIDUA_GC_YOUNG_THRESHOLD allocations, the older generations
    after 20 and 10 of the one below (Python: 700, 10, 10): a full collection then comes
    about a thirtieth as often, and a young one walks at most that many objects."""
    if settings.gc_young_threshold:
        gc.set_threshold(settings.gc_young_threshold, 20, 10)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How `thidua serve` runs uvicorn (tests/perf/bench_served.py serves its floor app alike).
    uvicorn picks httptools (its C HTTP parser; a dependency) and uvloop when they are installed:
    its pure-Python parser costs about a fifth of a small request's time."""
    return dict(
        host=settings.host,
        port=settings.port,
        log_level="warning",
        # None: uvicorn keeps its hands off logging, so its lines are JSON like ours.
        log_config=None,
        # No line per request: the log holds refusals and errors, each with its code.
        access_log=False,
    )


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations (safe to run from several processes at once)."""
    done = [f"{m.version:04d}_{m.name}" for m in _as_owner(migrate)]
    print("\n".join(f"applied {name}" for name in done) if done else "up to date")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL in use. An embedded server is started if needed and left running
    (for psql; `thidua db stop` stops it)."""

    async def go() -> str:
        return await Database(Settings(), cleanup=None).url()

    print(_run(go))


@db_app.command("stop")
def db_stop(
    force: Annotated[
        bool, typer.Option("--force", help="Stop it even while other processes still use it.")
    ] = False,
) -> None:
    """Stop the embedded PostgreSQL (no effect with THIDUA_DATABASE_URL). Refused while another
    thidua process (a server) uses it, unless --force; a process that died without saying so
    (killed) is not counted."""
    settings = Settings()
    if not settings.embedded:
        err.print("THIDUA_DATABASE_URL is set: nothing embedded to stop.")
        return
    pgdata = EmbeddedPostgres(settings.data_dir).pgdata
    if not embedded_running(pgdata):
        print("not running")
        return
    try:
        stop_embedded(pgdata, force=force)
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {escape(exc.message)}")
        raise typer.Exit(2) from None
    print("stopped")


@app.command()
def verify(tenant: TenantOption) -> None:
    """Recompute a tenant's hash chain: OK with the count and head hash, or the first bad seq."""
    check = _tenant_or_exit(tenant)
    verdict = _as_owner(lambda conn: audit.verify_tenant(conn, check))
    print(verdict.describe())
    if not verdict.ok:
        raise typer.Exit(1)


@log_app.command("export")
def log_export(tenant: TenantOption) -> None:
    """Write a tenant's log as JSON lines (every stored field; bytes in hex) for an auditor."""
    check = _tenant_or_exit(tenant)
    count = _as_owner(lambda conn: audit.export_tenant(conn, check, sys.stdout.buffer))
    err.print(f"{count} events")


@token_app.command("issue")
def token_issue(
    tenant: TenantOption,
    roles: Annotated[
        str, typer.Option("--roles", "-r", help="Comma-separated roles, e.g. officer,approver.")
    ],
    subject: Annotated[str, typer.Option("--subject", "-s", help="Who the token is for.")],
    ttl: Annotated[str, typer.Option("--ttl", help="Lifetime: 45s, 30m, 8h or 2d.")] = "8h",
) -> None:
    """Print a signed token (HS256) and nothing else: TOKEN=$(thidua token issue …). Needs no
    database; with the embedded setup the secret is DATA_DIR/jwt-secret. Its lifetime is at most
    THIDUA_JWT_MAX_TTL; its id (jti claim) is what `thidua token revoke --jti` takes."""
    try:
        token = TokenService.from_settings(Settings()).issue(
            tenant=tenant,
            roles=[role.strip() for role in roles.split(",") if role.strip()],
            subject=subject,
            ttl=parse_ttl(ttl),
        )
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {escape(exc.message)}")
        raise typer.Exit(2) from None
    print(token)


@token_app.command("revoke")
def token_revoke(
    jti: Annotated[
        str | None, typer.Option("--jti", help="Revoke the one token with this id (jti claim).")
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject", "-s", help="Revoke every token of this subject issued before --until."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="With --subject: ISO time with its zone; default now."),
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the record.")] = "",
) -> None:
    """Revoke a token by its id, or a subject's tokens issued before a time. Every gateway
    refuses them within THIDUA_REVOCATION_REFRESH_S seconds (TOKEN_REVOKED). A token's id is its
    jti claim (the middle part of the token, base64url JSON)."""
    from shared.revocations import revoke

    try:
        before = datetime.fromisoformat(until) if until else None
    except ValueError:
        err.print(
            f"[red]INVALID_INPUT[/red]: --until '{escape(until or '')}' không phải thời điểm ISO."
        )
        raise typer.Exit(2) from None
    _as_owner(lambda conn: revoke(conn, token_id=jti, subject=subject, until=before, reason=reason))
    print(f"revoked {'token ' + jti if jti else 'tokens of ' + str(subject)}")


@tenants_app.command("import")
def tenants_import(
    file: Annotated[
        Path, typer.Argument(help="CSV: id,parent_id,name,short_name,level,sector_type,members")
    ],
    effective: Annotated[
        str | None,
        typer.Option("--effective", help="Date the units count from (YYYY-MM-DD); default today."),
    ] = None,
) -> None:
    """Register the units of a CSV file: all of them or none; lines already registered with the
    same data are skipped, so importing a file twice writes nothing new."""
    from rich.progress import Progress

    from services.registry.commands import commands_of, today
    from services.registry.importer import import_units

    try:
        on = date.fromisoformat(effective) if effective else today()
    except ValueError:
        err.print(
            f"[red]INVALID_INPUT[/red]: ngày hiệu lực '{escape(effective or '')}' không đúng dạng YYYY-MM-DD."
        )
        raise typer.Exit(2) from None
    try:
        data = file.read_bytes()
    except OSError as exc:
        err.print(f"[red]FILE_UNREADABLE[/red]: không đọc được {escape(str(file))}: {exc.strerror}")
        raise typer.Exit(2) from None

    async def go():
        runtime = await Runtime.start(Settings())
        try:
            commands = commands_of(runtime)
            with Progress(console=err, transient=True) as bar:
                tasks: dict[str, Any] = {}

                def report(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total or 1)
                    bar.update(tasks[stage], completed=done)

                async with owner_connection(runtime.url) as owner:
                    return await import_units(
                        commands, data, effective_on=on, progress=report, connection=owner
                    )
        finally:
            await runtime.close()

    result = _run(go)
    print(
        f"{result.registered} units registered, {result.unchanged} already registered "
        f"({result.read} lines)"
    )


STAGES = {
    "check": "Kiểm tra tệp",
    "events": "Tạo sự kiện",
    "logs": "Mở nhật ký đơn vị",
    "tree": "Ghi cây đơn vị",
    "tidy": "Dọn bảng (VACUUM ANALYZE)",
}


@tenants_app.command("rebuild")
def tenants_rebuild() -> None:
    """Rebuild the registry's read model (units, closure table) from every unit's log."""
    from services.registry.projections import build_registry, rebuild

    async def go() -> int:
        runtime = await Runtime.start(Settings())
        try:
            # As the owner: the application's role may not write the registry's tables.
            async with owner_connection(runtime.url) as owner:
                return await rebuild(owner, build_registry())
        finally:
            await runtime.close()

    print(f"{_run(go)} registry events replayed")


@campaigns_app.command("rebuild")
def campaigns_rebuild() -> None:
    """Rebuild the campaigns' read model beside the live one and swap it in, while the server
    keeps running: another name for ``thidua projections rebuild campaigns``."""
    from services.gateway.cli_projections import rebuild_command

    rebuild_command("campaigns")


@app.command()
def demo(
    province_units: Annotated[
        int,
        typer.Option(
            "--province-units",
            min=0,
            help="Also load a province of this many upper-level units, each registered with "
            "its campaign (the benchmarks use 700).",
        ),
    ] = 0,
) -> None:
    """Load a demo: a union tree (LĐLĐ tỉnh Ninh Bình, Công đoàn Công Thương Việt Nam), the
    campaigns of two real plans (2021, 2017) with registrations, progress reports, a phase
    review, people's pledges, works for plaques and initiatives; then print what it holds and
    tokens to try it with. Running it again writes nothing new."""
    from services.demo.show import load_and_show

    _run(lambda: load_and_show(Console(), Settings(), province_units=province_units))


def _tenant_or_exit(tenant: str) -> str:
    try:
        check_tenant(tenant)
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    return tenant


def main() -> None:
    app()
