"""Reading the reporting projection: the figures of units' summaries, through
``thidua_report_figures`` (shared/migrations/0057_reporting.sql), many units in one statement.
The GraphQL loader and the command line both read here."""

from __future__ import annotations

from collections import defaultdict
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
# Whether each unit answers at all (its own, below the caller today, or the figures of a report
# it was sent, as sent): a unit with no figure yet is a summary of zeros, one out of reach none.
_READABLE = """
SELECT k.i FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[]) WITH ORDINALITY
       AS k (unit, first_year, last_year, at, i)
 WHERE k.unit = current_setting('thidua.tenant', true)
    OR (k.at IS NOT NULL AND EXISTS (SELECT 1 FROM reports r
                                      WHERE r.unit_id = k.unit
                                        AND r.to_unit = current_setting('thidua.tenant', true)
                                        AND r.first_year = k.first_year
                                        AND r.last_year = k.last_year AND r.submitted_at = k.at))
    OR (current_setting('thidua.reach', true) IN ('subtree', 'audit')
        AND EXISTS (SELECT 1 FROM unit_closure c
                     WHERE c.ancestor = current_setting('thidua.tenant', true)
                       AND c.descendant = k.unit AND c.valid_from <= thidua_today()
                       AND (c.valid_to IS NULL OR c.valid_to > thidua_today())))
"""


async def read_figures(
    conn: asyncpg.Connection, keys: Sequence[SummaryKey]
) -> list[list[Any] | None]:
    """Each key's rows (year, metric, dim, value), or None where the reader (the connection's
    unit and reach) may not read that unit's summary."""
    columns = [list(c) for c in zip(*keys, strict=True)]
    readable = {r["i"] for r in await conn.fetch(_READABLE, *columns)}
    rows = await conn.fetch(_FIGURES, *columns) if readable else []
    by_key: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_key[r["i"]].append(r)
    return [by_key[i] if i in readable else None for i in range(1, len(keys) + 1)]


_BEHIND = """
SELECT count(*) FROM tenant_heads h
  LEFT JOIN projection_checkpoints c ON c.tenant_id = h.tenant_id AND c.name = 'reporting'
       AND c.version = (SELECT version FROM projection_versions
                         WHERE name = 'reporting' AND state = 'live')
 WHERE coalesce(c.last_seq, 0) < h.seq
"""


async def units_behind(conn: asyncpg.Connection) -> int:
    """How many units' logs the reporting projection has not yet counted to their heads (a log
    with nothing for it counts once the runner has passed it)."""
    return int(await conn.fetchval(_BEHIND))


async def read_units(
    conn: asyncpg.Connection, unit: str, year: int, metrics: Sequence[str], at: datetime | None
) -> list[tuple[str, str, dict[str, int]]]:
    """``unit`` and each unit below it on the year's last day: (id, level, its own figures of
    the year for ``metrics``), none where the reader may not read ``unit``."""
    found: dict[str, tuple[str, dict[str, int]]] = {}
    for r in await conn.fetch(
        "SELECT unit, level, metric, value FROM thidua_report_units($1, $2, $3, $4)",
        unit,
        year,
        list(metrics),
        at,
    ):
        _, own = found.setdefault(r["unit"], (r["level"], {}))
        if r["metric"] is not None:
            own[r["metric"]] = int(r["value"])
    return [(u, level, own) for u, (level, own) in found.items()]
