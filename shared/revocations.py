"""Revoked access tokens: an operator revokes one token by its id (``jti``), or every token of a
subject issued before a time (``thidua token revoke``); the gateway refuses them (TOKEN_REVOKED).

Rows live in ``token_revocations`` (migration 0012), written on the owner's connection and only
read by the application. The gateway keeps in memory the rows that can still name a live token
(those younger than the longest token lifetime, ``THIDUA_JWT_MAX_TTL``) and reloads them at most
every ``THIDUA_REVOCATION_REFRESH_S`` seconds (default 5): so a check costs no query, and a
revocation takes effect on every gateway process within that many seconds. While the database
cannot be read, the list last loaded stays in force.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog

from shared.auth import MAX_SUBJECT_CHARS, MAX_TOKEN_ID_CHARS, TokenRevoked, VerifiedToken
from shared.errors import DomainError, InvalidInput

log = structlog.get_logger(__name__)

MAX_REASON_CHARS = 2000
LOAD_TIMEOUT_SECONDS = 2.0


class MigrationsPending(DomainError):
    code = "MIGRATIONS_PENDING"
    message_vi = (
        "Cơ sở dữ liệu chưa được cập nhật: hãy chạy `thidua db migrate` (hoặc khởi động máy chủ)."
    )


_LOAD = """
SELECT token_id, subject, issued_before FROM token_revocations
 WHERE (token_id IS NOT NULL AND revoked_at > now() - $1::interval)
    OR (subject IS NOT NULL AND issued_before > now() - $1::interval)
"""


async def revoke(
    conn: asyncpg.Connection,
    *,
    token_id: str | None = None,
    subject: str | None = None,
    until: datetime | None = None,
    reason: str = "",
) -> None:
    """Record a revocation: a token by id, or a subject's tokens issued before ``until``
    (default now). Exactly one of ``token_id`` and ``subject``."""
    if (token_id is None) == (subject is None):
        raise InvalidInput("Thu hồi theo đúng một trong hai: --jti hoặc --subject.")
    if token_id is not None and not 0 < len(token_id) <= MAX_TOKEN_ID_CHARS:
        raise InvalidInput(f"Mã token (jti) có 1–{MAX_TOKEN_ID_CHARS} ký tự.")
    if subject is not None and not 0 < len(subject) <= MAX_SUBJECT_CHARS:
        raise InvalidInput(f"Chủ thể (subject) có 1–{MAX_SUBJECT_CHARS} ký tự.")
    if until is not None and (token_id is not None or until.tzinfo is None):
        raise InvalidInput("--until đi cùng --subject, và ghi rõ múi giờ (ví dụ ...+07:00).")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"Lý do tối đa {MAX_REASON_CHARS} ký tự.")
    before = (until or datetime.now(UTC)) if subject is not None else None
    try:
        await conn.execute(
            "INSERT INTO token_revocations (token_id, subject, issued_before, reason) "
            "VALUES ($1, $2, $3, $4)",
            token_id,
            subject,
            before,
            reason,
        )
    except asyncpg.UndefinedTableError:
        raise MigrationsPending() from None


@dataclass
class RevocationList:
    """The revocations that can still matter, as loaded last (see the module's docstring)."""

    max_ttl: timedelta
    refresh_s: float
    token_ids: frozenset[str] = frozenset()
    subjects: dict[str, float] = field(default_factory=dict)  # subject → latest issued_before
    loaded_at: float | None = None
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def check(self, pool: asyncpg.Pool, token: VerifiedToken) -> None:
        """TokenRevoked if ``token`` is revoked (as of the last load, at most refresh_s old)."""
        await self._fresh(pool)
        if token.token_id is not None and token.token_id in self.token_ids:
            raise TokenRevoked()
        before = self.subjects.get(token.principal.subject)
        if before is not None and token.issued_at < before:
            raise TokenRevoked()

    async def _fresh(self, pool: asyncpg.Pool) -> None:
        if self._current():
            return
        if self.loaded_at is not None and self._loading.locked():
            return  # a reload is under way: the list in memory is a few seconds old, not wrong
        async with self._loading:  # one load at a time; those waiting use its result
            if self._current():
                return
            try:
                await self._load(pool)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # Retried after refresh_s, not by every request meanwhile.
                self.loaded_at = time.monotonic()
                log.warning("revocations_not_reloaded", error=type(exc).__name__)

    def _current(self) -> bool:
        return self.loaded_at is not None and time.monotonic() - self.loaded_at < self.refresh_s

    async def _load(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire(timeout=LOAD_TIMEOUT_SECONDS) as conn:
            rows = await conn.fetch(_LOAD, self.max_ttl, timeout=LOAD_TIMEOUT_SECONDS)
        subjects: dict[str, float] = {}
        for row in rows:
            if row["subject"] is not None:
                at = row["issued_before"].timestamp()
                subjects[row["subject"]] = max(at, subjects.get(row["subject"], at))
        self.token_ids = frozenset(r["token_id"] for r in rows if r["token_id"] is not None)
        self.subjects = subjects
        self.loaded_at = time.monotonic()
