"""Reading the reporting projection: the figures of units' summaries, through
``thidua_report_figures`` (shared/migrations/0059_reporting_reads.sql), many units in one
statement. The GraphQL loader and the command line both read here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

# (unit, first year, last year, moment or None: now)
SummaryKey = tuple[str, int, int, datetime | None]

_FIGURES = """
SELECT k.i, r.year, r.metric, r.dim, r.value
  FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[]) WITH ORDINALITY
       AS k (unit, first_year, last_year, at, i)
 CROSS JOIN LATERAL thidua_report_figures(k.unit, k.first_year, k.last_year, k.at) r
"""


async def read_figures(
    conn: asyncpg.Connection, keys: Sequence[SummaryKey]
) -> list[list[Any] | None]:
    """Each key's rows (year, metric, dim, value), or None where the reader (the connection's
    unit and reach) may not read that unit's summary: the function answers a row of nulls for
    each it may read, and nothing for the others."""
    columns = [list(c) for c in zip(*keys, strict=True)]
    by_key: dict[int, list[Any]] = {}
    for r in await conn.fetch(_FIGURES, *columns):
        rows = by_key.setdefault(r["i"], [])
        if r["metric"] is not None:
            rows.append(r)
    return [by_key.get(i) for i in range(1, len(keys) + 1)]


async def read_units(
    conn: asyncpg.Connection,
    unit: str,
    years: tuple[int, int],
    metrics: Sequence[str],
    at: datetime | None,
) -> list[tuple[str, str, dict[str, int]]]:
    """``unit`` and each unit below it on the last day of ``years``: (id, level, its own figures
    of those years for ``metrics``), none where the reader may not read ``unit``."""
    found: dict[str, tuple[str, dict[str, int]]] = {}
    for r in await conn.fetch(
        "SELECT unit, level, metric, value FROM thidua_report_units($1, $2, $3, $4, $5)",
        unit,
        *years,
        list(metrics),
        at,
    ):
        _, own = found.setdefault(r["unit"], (r["level"], {}))
        if r["metric"] is not None:
            own[r["metric"]] = int(r["value"])
    return [(u, level, own) for u, (level, own) in found.items()]


async def read_ranked(
    conn: asyncpg.Connection,
    unit: str,
    years: tuple[int, int],
    metrics: Sequence[str],
    limit: int,
    at: datetime | None,
) -> list[tuple[str, dict[str, int]]] | None:
    """The typical collectives of ``years``: ``limit`` units below ``unit`` on the last day of
    them, by their own initiatives' benefit, then initiatives, then id, each with its own
    figures of ``metrics``; None where the reader may not read ``unit`` or the units below it
    (a member's token: migration 0071)."""
    rows = await conn.fetch(
        "SELECT unit, rank, metric, value "
        "FROM thidua_report_typical_collectives($1, $2, $3, $4, $5, $6)",
        unit,
        *years,
        list(metrics),
        limit,
        at,
    )
    if not rows:
        return None
    found: dict[str, tuple[int, dict[str, int]]] = {}
    for r in rows:
        if r["unit"] is not None:
            _, own = found.setdefault(r["unit"], (r["rank"], {}))
            if r["metric"] is not None:
                own[r["metric"]] = int(r["value"])
    return [(u, own) for u, (_, own) in sorted(found.items(), key=lambda i: i[1][0])]
