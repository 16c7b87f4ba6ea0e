"""The ``thidua`` command: serve, db migrate | url | stop, verify, log export, token issue."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import asyncpg
import typer
from rich.console import Console
from rich.markup import escape

from shared import audit
from shared.auth import TokenService, parse_ttl
from shared.db import Database, owner_connection
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
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


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
def db_stop() -> None:
    """Stop the embedded PostgreSQL (no effect with THIDUA_DATABASE_URL)."""
    settings = Settings()
    if not settings.embedded:
        err.print("THIDUA_DATABASE_URL is set: nothing embedded to stop.")
        return

    async def go() -> None:
        database = Database(settings, cleanup="stop")
        await database.url()
        database.stop()

    _run(go)
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
    database; with the embedded setup the secret is DATA_DIR/jwt-secret."""
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


def _tenant_or_exit(tenant: str) -> str:
    try:
        check_tenant(tenant)
    except DomainError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(2) from None
    return tenant


def main() -> None:
    app()
