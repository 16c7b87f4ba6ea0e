"""Indicator actuals as the campaign's own figure (issue 13, point 6): stored on the indicator's
row (``campaign_indicators.actual``) by the campaign projection, so every reader who may see the
campaign reads the same figure, counted as the campaign's own unit reads its facts
(``thidua_indicator_actuals``, shared/migrations/0022_indicator_actuals.sql).

At the end of each batch the projection gathers what its events touched (:class:`Touched`) and
:func:`refresh` counts the touched indicators again from the rows, once per batch however many
events touched them. Batches of different tenants run in parallel transactions, and a fact of a
grassroots unit changes a province's figure, so two transactions may count the same figure at
once, each blind to the other's uncommitted rows. The locks make the last one count both:

- every transaction writes its facts first, then takes, in one ordered pass, an advisory lock
  on each unit whose indicators it may count again (shared for a fact: the ancestors of its
  unit; exclusive for the unit whose campaign gained an indicator, which a concurrent fact's
  transaction cannot see yet), then locks the indicator rows it counts (``ORDER BY campaign_id,
  code``), and only then counts, in a statement of its own: under READ COMMITTED that statement
  sees every transaction that held those locks before it.
- nothing writes an indicator row before those locks (a target's amendment is deferred to after
  them, :func:`refresh`'s ``before_count``), so waits only ever go one way: no deadlock.

A figure only new pledges touched gains what they add (counted from their own rows, under the
same locks), so a run of 100,000 pledges costs a few milliseconds a batch, not a count of the
whole subtree each time. A new unit's figures are counted by the registry's own transaction
(``thidua_units_founded``, migration 0022): the campaign projection reads only the tree's rare
changes from the log, not the importer's hundred thousand new logs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from shared.eventstore import StoredEvent

# Advisory locks of the actuals, one key space apart from the single-key locks elsewhere.
LOCK_SPACE = 1302

ANY_FACT = "*"  # the tree changed: every figure counted over it

# Which computed facts (services/campaign/rules.COMPUTABLE) each event may change. Every update
# of a record moves its recorded_on (the day that decides who reads it), so each later event of
# a record touches every fact counted from its table; a new initiative is not yet recognised.
_FACTS = {
    "InitiativeRegistered": ("InitiativeRegistered",),
    "InitiativeRecognised": ("InitiativeRegistered", "InitiativeRecognised"),
    "InitiativeRecognitionAmended": ("InitiativeRegistered", "InitiativeRecognised"),
    "InitiativeWithdrawn": ("InitiativeRegistered", "InitiativeRecognised"),
    "WorkRegistered": ("WorkRegistered",),
    "WorkAmended": ("WorkRegistered",),
    "WorkWithdrawn": ("WorkRegistered",),
    "PledgeRegistered": ("PledgeRegistered",),
    "PledgeWithdrawn": ("PledgeRegistered",),
}

# The registry's changes of the tree, read by the campaign projection from the log (the registry
# applied them inline before): the facts below a unit that moved, merged or ended are counted by
# other ancestors from its day on.
TREE_EVENTS = ("UnitMoved", "UnitMerged", "UnitsAbsorbed", "UnitDissolved")

_REGISTRATION_EVENTS = ("RegistrationSubmitted", "RegistrationAmended", "RegistrationWithdrawn")


@dataclass
class Touched:
    """What a batch's events may have changed: facts by unit, the tree under units, indicators
    by key, registrations by campaign, and the units whose campaigns gained an indicator."""

    facts: set[tuple[str, str]] = field(default_factory=set)  # (unit, fact or ANY_FACT)
    new_pledges: list[tuple[UUID, str]] = field(default_factory=list)  # (pledge, unit): added
    pledging: set[str] = field(default_factory=set)  # their units
    keys: set[tuple[UUID, str]] = field(default_factory=set)  # (campaign, code)
    registrations: set[UUID] = field(default_factory=set)  # campaigns
    defining: set[str] = field(default_factory=set)  # units

    def note(self, stored: StoredEvent, event: Any) -> None:
        """Note ``event`` (decoded; None for an event this service does not decode)."""
        kind = stored.event_type
        if kind in _FACTS:
            self.facts.update((stored.tenant_id, fact) for fact in _FACTS[kind])
        elif kind in TREE_EVENTS:
            self.facts.add((stored.tenant_id, ANY_FACT))
        elif kind in _REGISTRATION_EVENTS:
            self.registrations.add(event.campaign_id)
        elif kind == "ProgressReported":
            self.keys.update((event.campaign_id, code) for code in event.actuals)
        elif kind == "IndicatorAdded":
            self.keys.add((stored.stream_id, event.code))
            self.defining.add(stored.tenant_id)
        elif kind == "IndicatorTargetAmended":
            self.keys.add((stored.stream_id, event.code))

    def note_pledge(self, unit: str, pledge_id: UUID) -> None:
        self.new_pledges.append((pledge_id, unit))
        self.pledging.add(unit)

    def all_facts(self) -> set[tuple[str, str]]:
        return self.facts | {(unit, "PledgeRegistered") for unit in self.pledging}

    def __bool__(self) -> bool:
        return bool(self.facts or self.pledging or self.keys or self.registrations)


async def refresh(
    conn: asyncpg.Connection,
    touched: Touched,
    before_count: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Lock and count again every indicator ``touched`` may have changed, on ``conn``, after the
    batch's rows are written (see the module's docstring); ``before_count`` writes indicator
    rows once they are locked. How many figures changed."""
    if not touched:
        if before_count is not None:
            await before_count()
        return 0
    units = await _lock_units(conn, touched)
    keys = await _affected(conn, touched.all_facts(), touched, units, lock=True)
    if before_count is not None:
        await before_count()
    if not keys:
        return 0
    # A figure only new pledges touched gains what they add: a run of 100,000 of them does not
    # count the whole subtree again at every batch.
    counted = keys
    if touched.new_pledges:
        again = set(await _affected(conn, touched.facts, touched, units, lock=False))
        counted = [k for k in keys if k in again]
    added = [k for k in keys if k not in set(counted)]
    return await _count(conn, counted) + await _count(conn, added, touched.new_pledges)


async def _count(
    conn: asyncpg.Connection,
    keys: list[tuple[UUID, str]],
    pledges: list[tuple[UUID, str]] | None = None,
) -> int:
    """Store the figures of ``keys`` counted again, or (``pledges``) plus what those add; how
    many changed."""
    if not keys:
        return 0
    campaigns, codes = zip(*keys, strict=True)
    figure = "a.actual" if pledges is None else "coalesce(i.actual, 0) + a.actual"
    status = await conn.execute(
        f"UPDATE campaign_indicators i SET actual = {figure} "
        "FROM public.thidua_indicator_actuals(current_schema(), $1::uuid[], $2::text[], "
        "$3::uuid[], $4::text[]) a WHERE i.campaign_id = a.campaign_id AND i.code = a.code "
        f"AND i.actual IS DISTINCT FROM {figure}",
        list(campaigns),
        list(codes),
        None if pledges is None else [p for p, _ in pledges],
        None if pledges is None else [u for _, u in pledges],
    )
    return int(status.rpartition(" ")[2])


# The units, then their locks in key order, in one statement (a lock a round trip had been most
# of a batch's statements): a volatile function in the outer query runs over the inner query's
# rows in their order.
_LOCK_UNITS = """
WITH unit AS (
    SELECT ancestor AS u FROM unit_closure WHERE descendant = ANY ($1::text[])
    UNION SELECT tenant_id FROM campaigns
     WHERE campaign_id = ANY ($2::uuid[]) OR campaign_id = ANY ($3::uuid[])
    UNION SELECT unnest($4::text[])
),
keyed AS (
    SELECT hashtext(u) AS k, bool_or(u = ANY ($4::text[])) AS exclusive, array_agg(u) AS units
      FROM unit GROUP BY 1 ORDER BY 1
)
SELECT units,
       CASE WHEN exclusive THEN pg_advisory_xact_lock($5, k)
            ELSE pg_advisory_xact_lock_shared($5, k) END AS locked
  FROM (SELECT * FROM keyed ORDER BY k) AS ordered
"""


async def _lock_units(conn: asyncpg.Connection, touched: Touched) -> list[str]:
    """The advisory locks of every unit whose figures the batch may change, taken in key order
    (exclusive for a unit whose campaign gained an indicator); the units."""
    rows = await conn.fetch(
        _LOCK_UNITS,
        sorted({unit for unit, _ in touched.all_facts()}),
        sorted({campaign for campaign, _ in touched.keys}),
        sorted(touched.registrations),
        sorted(touched.defining),
        LOCK_SPACE,
    )
    return sorted(unit for row in rows for unit in row["units"])


_AFFECTED = """
WITH fact AS (
    SELECT DISTINCT e.ancestor, f.fact
      FROM unnest($1::text[], $2::text[]) AS f (unit, fact)
      JOIN unit_closure e ON e.descendant = f.unit
)
SELECT i.campaign_id, i.code FROM campaign_indicators i
 WHERE i.tenant_id = ANY ($6::text[])
   AND (EXISTS (SELECT 1 FROM fact
                 WHERE fact.ancestor = i.tenant_id
                   AND (fact.fact = $7 OR (i.source = 'computed'
                                           AND fact.fact = ANY (i.computed_from))))
        OR (i.campaign_id, i.code) IN (SELECT * FROM unnest($3::uuid[], $4::text[]))
        OR (i.campaign_id = ANY ($5::uuid[]) AND i.source = 'computed'
            AND 'RegistrationSubmitted' = ANY (i.computed_from)))
 ORDER BY i.campaign_id, i.code
"""


async def _affected(
    conn: asyncpg.Connection,
    facts: set[tuple[str, str]],
    touched: Touched,
    units: list[str],
    *,
    lock: bool,
) -> list[tuple[UUID, str]]:
    """The indicators of the locked ``units`` that ``facts`` and the rest of ``touched`` may
    have changed, in (campaign, code) order (``lock``: locked in that order); their keys."""
    ordered = sorted(facts)
    keys = sorted(touched.keys)
    rows = await conn.fetch(
        _AFFECTED + (" FOR UPDATE OF i" if lock else ""),
        [unit for unit, _ in ordered],
        [fact for _, fact in ordered],
        [campaign for campaign, _ in keys],
        [code for _, code in keys],
        sorted(touched.registrations),
        units,
        ANY_FACT,
    )
    return [(r["campaign_id"], r["code"]) for r in rows]
