"""Hash-chain verification served through GraphQL: re-reading a unit's whole log is costly, so a
verdict is reused while the unit's log head (seq and hash) is unchanged, and at most one
verification of a unit runs at a time: callers who arrive meanwhile wait for it and take its
verdict, without holding a connection while they wait. Across units, at most
:data:`AT_ONCE` verifications run at a time, so a burst of them leaves the pool and the cores to
everyone else.

A reused verdict is at most ``THIDUA_VERIFICATION_CACHE_S`` seconds old (default 300): a row
rewritten below an unchanged head by someone with the owner's rights is found by the next
verification after that. ``thidua verify`` always recomputes.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from shared import audit, canonical

MAX_UNITS = 10_000
AT_ONCE = 2

Connect = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


@dataclass
class _Entry:
    verdict: audit.Verdict
    at: float


@dataclass
class Verifications:
    """Verdicts per unit, as described in the module's docstring (one per gateway process)."""

    max_age_s: float = 300.0
    _verdicts: OrderedDict[str, _Entry] = field(default_factory=OrderedDict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _users: dict[str, int] = field(default_factory=dict)
    _running: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(AT_ONCE))
    runs: int = 0  # verifications actually computed (for tests and metrics)

    async def verdict(self, unit_id: str, connect: Connect) -> audit.Verdict:
        """The unit's verdict at its current head; ``connect()`` opens a connection to read
        with, held only while reading the head, then (one after the other, never both at once)
        while verifying."""
        async with self._turn(unit_id):
            async with connect() as conn:
                head = await _head(conn, unit_id)
            known = self._verdicts.get(unit_id)
            if known is not None and self._reusable(known, head):
                self._verdicts.move_to_end(unit_id)
                return known.verdict
            async with self._running, connect() as conn:
                verdict = await audit.verify_tenant(conn, unit_id)
            self.runs += 1
            self._keep(unit_id, verdict)
            return verdict

    def _reusable(self, known: _Entry, head: tuple[int, bytes]) -> bool:
        fresh = time.monotonic() - known.at < self.max_age_s
        return fresh and (known.verdict.head_seq, known.verdict.head_hash) == head

    def _keep(self, unit_id: str, verdict: audit.Verdict) -> None:
        self._verdicts[unit_id] = _Entry(verdict, time.monotonic())
        self._verdicts.move_to_end(unit_id)
        while len(self._verdicts) > MAX_UNITS:
            self._verdicts.popitem(last=False)

    def _turn(self, unit_id: str) -> _Turn:
        return _Turn(self, unit_id)


class _Turn:
    """The unit's lock, dropped from the table once nobody holds or awaits it."""

    def __init__(self, owner: Verifications, unit_id: str) -> None:
        self.owner, self.unit_id = owner, unit_id

    async def __aenter__(self) -> None:
        owner, unit = self.owner, self.unit_id
        owner._users[unit] = owner._users.get(unit, 0) + 1
        lock = owner._locks.setdefault(unit, asyncio.Lock())
        try:
            await lock.acquire()
        except BaseException:
            self._leave()
            raise

    async def __aexit__(self, *exc: Any) -> None:
        self.owner._locks[self.unit_id].release()
        self._leave()

    def _leave(self) -> None:
        owner, unit = self.owner, self.unit_id
        owner._users[unit] -= 1
        if owner._users[unit] == 0:
            del owner._users[unit], owner._locks[unit]


async def _head(conn: asyncpg.Connection, unit_id: str) -> tuple[int, bytes]:
    row = await conn.fetchrow("SELECT seq, hash FROM tenant_heads WHERE tenant_id = $1", unit_id)
    return (row["seq"], bytes(row["hash"])) if row else (0, canonical.GENESIS_HASH)


def verifications_of(context: dict[str, Any]) -> Verifications:
    """The gateway's verifications (services/gateway/app.py puts them in the context); a
    context built elsewhere gets its own, shared by that request's fields."""
    return context.setdefault("verifications", Verifications())
