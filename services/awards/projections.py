"""The awards service's read model: ``people`` (shared/migrations/0025_people.sql), and
``base_salaries``, ``calendar_days`` and ``local_rules`` (0026), applied by the projection runner (``PROJECTION``, shared/projections.py), rows and checkpoint in one
transaction.

The runner opens each sealed text with its person's key (shared/personal.py), the batch's keys
read in one statement, and writes the name, birth year and contacts in plain text for the
readers the register's row-level security lets in. Applying PersonErased deletes the key and
blanks those fields, in the same transaction as the checkpoint: the erasure takes effect exactly
once, and a rebuild, finding no key, shows the person as erased from the start.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.awards.domain import (
    APPRAISAL_EVENTS,
    COUNCIL_EVENTS,
    DECISION_EVENTS,
    DISCLOSURE_EVENTS,
    LOCAL_RULE_EVENTS,
    PERSON_EVENTS,
    PROPOSAL_EVENTS,
    REFERENCE_EVENTS,
    Appraisal,
    BaseSalaryValue,
    CalendarDay,
    CouncilSession,
    Decision,
    DecisionSeries,
    Disclosure,
    LocalRule,
    Person,
    Proposal,
    with_sealed_reason,
    with_sealed_summaries,
    with_sealed_summary,
    with_sending_version,
)
from services.awards.rules import LEANING, leaning_on
from shared.aggregates import EventRegistry
from shared.clock import VIETNAM
from shared.db import RowRuns, row_runs
from shared.eventstore import StoredEvent
from shared.personal import destroy_keys, keys_of, unseal
from shared.projections import Projection
from shared.text import search_key

TABLES = (
    "people",
    "person_arrivals",
    "base_salaries",
    "calendar_days",
    "local_rules",
    "proposals",
    "proposal_nominees",
    "proposal_documents",
    "appraisals",
    "appraisal_verdicts",
    "council_sessions",
    "council_items",
    "council_votes",
    "decisions",
    "decision_recipients",
    "disclosures",
    "disclosed_nominees",
)


@cache
def build_registry() -> EventRegistry:
    """The awards service's event names (one shared instance: never changed once built)."""
    registry = EventRegistry()
    registry.register(Person, *PERSON_EVENTS)
    registry.upcaster("PersonArrived", from_version=1)(with_sending_version)
    registry.upcaster("PersonLeft", from_version=1)(with_sealed_reason)
    registry.register(BaseSalaryValue, REFERENCE_EVENTS[0])
    registry.register(CalendarDay, *REFERENCE_EVENTS[1:])
    registry.register(LocalRule, *LOCAL_RULE_EVENTS)
    registry.register(Proposal, *PROPOSAL_EVENTS)
    registry.upcaster("NomineeAdded", from_version=1)(with_sealed_summary)
    registry.upcaster("NomineesAdded", from_version=1)(with_sealed_summaries)
    registry.register(Appraisal, *APPRAISAL_EVENTS)
    registry.register(CouncilSession, *COUNCIL_EVENTS)
    registry.register(DecisionSeries, *DECISION_EVENTS[:3])
    registry.register(Decision, *DECISION_EVENTS[3:])
    registry.register(Disclosure, *DISCLOSURE_EVENTS)
    return registry


def recorded_on(stored: StoredEvent) -> date:
    return stored.recorded_at.astimezone(VIETNAM).date()


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


Run = Sequence[tuple[StoredEvent, Any]]


def _run_at(decoded: Run, at: int) -> Run:
    """The events from ``at`` on of the same type and the same stream, one after another: a
    bulk's runs (shared/chunks.py), written as one (a 10,000-nominee proposal's hundred lists
    of nominees, of council items, of recipients were a hundred statements each)."""
    first = decoded[at][0]
    end = at + 1
    while end < len(decoded):
        nxt = decoded[end][0]
        if (nxt.event_type, nxt.tenant_id, nxt.stream_id) != (
            first.event_type,
            first.tenant_id,
            first.stream_id,
        ):
            break
        end += 1
    return decoded[at:end]


async def apply(conn: asyncpg.Connection, registry: EventRegistry, events: Sequence[StoredEvent]):
    """Apply a batch in log order; the keys its sealed texts need are read once, first."""
    decoded = [(stored, registry.decode(stored)) for stored in events]
    # Held to the commit: an erasure in another unit's log destroying one of them waits for
    # what is opened with it here, then blanks it (its UPDATE sees this batch's rows).
    keys = await keys_of(
        conn,
        [e.key_id for _, e in decoded if getattr(e, "sealed", "")]
        + [n["summary_key"] for _, e in decoded for n in _nominees_of(e) if n["summary_key"]],
        share=True,
    )
    registered = RowRuns(conn, "people", PEOPLE_COLUMNS)  # a run of them: a few statements
    try:
        at = 0
        while at < len(decoded):
            stored, e = decoded[at]
            if stored.event_type == "PersonRegistered":
                await registered.add(_person_row(stored, e, keys))
                at += 1
                continue
            await registered.flush()
            if stored.event_type in _RUNS:
                run = _run_at(decoded, at)
                await _RUNS[stored.event_type](conn, run, keys)
                at += len(run)
                continue
            handler = _HANDLERS.get(stored.event_type)
            if handler is not None:
                await handler(conn, stored, e, keys)
            at += 1
        await registered.flush()
    finally:
        await registered.settled()  # the connection idle again, also when a statement failed


def _opened(e: Any, keys: dict[Any, bytes]) -> dict[str, Any]:
    """The sealed text opened; a NUL a command let through before it was refused is dropped
    (PostgreSQL's text cannot hold it, and the register must not stop on it)."""
    opened = unseal(keys.get(e.key_id), e.key_id, e.sealed) or {}
    return {k: _without_nul(v) for k, v in opened.items()}


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _noted(note: str) -> str:
    """The person's history with the note (parameter ``note``) appended, its reason left out
    once the person is erased (their key destroyed): an erasure in the unit they went to may be
    projected before this unit's notes on them (a rebuild), and strips the reasons of the
    records it finds only (``_erased``)."""
    return (
        "history || CASE WHEN people.key_id IS NULL OR EXISTS (SELECT 1 FROM person_keys k "
        f"WHERE k.key_id = people.key_id) THEN {note}::jsonb ELSE {note}::jsonb #- '{{0,reason}}' "
        "END"
    )


def _note(on: date, what: str, reason: str | None = None) -> str:
    note: dict[str, Any] = {"on": on.isoformat(), "what": what}
    if reason is not None:
        note["reason"] = reason
    return _json([note])


PEOPLE_COLUMNS = (
    ("tenant_id", "text"),
    ("person_id", "uuid"),
    ("staff_number", "text"),
    ("key_id", "uuid"),
    ("full_name", "text"),
    ("search_key", "text"),
    ("birth_year", "integer"),
    ("contacts", "jsonb"),
    ("gender", "text"),
    ("ethnic_minority", "boolean"),
    ("post", "text"),
    ("direct_worker", "boolean"),
    ("cadre", "text"),
    ("cadre_since", "date"),
    ("employed_since", "date"),
    ("status", "text"),
    ("registered_on", "date"),
    ("history", "jsonb"),
    ("recorded_on", "date"),
    ("version", "integer"),
)


def _person_row(stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> tuple[Any, ...]:
    """A registered person's register row (PEOPLE_COLUMNS): a bulk registration's run of them
    goes in as one statement (one each cost a 100,000-row upload most of its projection)."""
    personal = _personal(e, keys)
    return (
        stored.tenant_id,
        stored.stream_id,
        e.staff_number,
        e.key_id,
        *personal,
        "active" if personal[0] is not None else "erased",
        e.registered_on,
        _note(e.registered_on, "registered"),
        recorded_on(stored),
        stored.stream_version,
    )


# The register's personal fields and particulars, from $3 on, as an event sealing a person's
# data gives them (:func:`_personal`).
_PERSONAL_SET = (
    "full_name = $3, search_key = $4, birth_year = $5, contacts = $6::jsonb, gender = $7, "
    "ethnic_minority = $8, post = $9, direct_worker = $10, cadre = $11, cadre_since = $12, "
    "employed_since = $13"
)


def _personal(e: Any, keys: dict[Any, bytes]) -> tuple[Any, ...]:
    opened = _opened(e, keys)
    name = opened.get("full_name")
    return (
        name,
        search_key(name) if name else "",
        opened.get("birth_year"),
        _json(opened.get("contacts", [])),
        e.gender,
        e.ethnic_minority,
        e.post,
        e.direct_worker,
        e.cadre,
        e.cadre_since,
        e.employed_since,
    )


async def _amended(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        f"UPDATE people SET {_PERSONAL_SET}, history = {_noted('$14')}, version = $15, "
        "recorded_on = $16 WHERE tenant_id = $1 AND person_id = $2",
        stored.tenant_id,
        stored.stream_id,
        *_personal(e, keys),
        _note(e.amended_on, "amended"),
        stored.stream_version,
        recorded_on(stored),  # a former ancestor reads no change made after the unit left it
    )


async def _left(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    # Sealed since v2; an erased person's opens to nothing (the erasure strips reasons anyway).
    reason = _opened(e, keys).get("reason", "") if e.sealed else e.reason
    await conn.execute(
        f"UPDATE people SET status = 'left', left_on = $3, history = {_noted('$4')}, "
        "version = $5, recorded_on = $6 WHERE tenant_id = $1 AND person_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.left_on,
        _note(e.left_on, "left", reason),
        stored.stream_version,
        recorded_on(stored),
    )


async def _year_fact(conn, stored: StoredEvent, year: int, fact: str) -> None:
    """One of rule 10's facts about the person in ``year`` (``fact``: a JSON object merged
    into the year's)."""
    await conn.execute(
        "UPDATE people SET years = jsonb_set(years, ARRAY[$3::text], "
        "coalesce(years -> $3::text, '{}') || $4::jsonb), version = $5, recorded_on = $6 "
        "WHERE tenant_id = $1 AND person_id = $2",
        stored.tenant_id,
        stored.stream_id,
        str(year),
        fact,
        stored.stream_version,
        recorded_on(stored),
    )


async def _absence_set(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _year_fact(conn, stored, e.year, _json({"absent_working_days": e.working_days}))


async def _disciplined(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """The form joins the year's list, and the history notes it: one statement."""
    await conn.execute(
        "UPDATE people SET years = jsonb_set(years, ARRAY[$3::text], "
        "coalesce(years -> $3::text, '{}') || jsonb_build_object('disciplined', "
        "coalesce(years -> $3::text -> 'disciplined', '[]') || to_jsonb($4::text))), "
        f"history = {_noted('$5')}, version = $6, recorded_on = $7 "
        "WHERE tenant_id = $1 AND person_id = $2",
        stored.tenant_id,
        stored.stream_id,
        str(e.disciplined_on.year),
        e.form,
        _note(e.disciplined_on, "disciplined", e.form),
        stored.stream_version,
        recorded_on(stored),
    )


async def _erased(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """The key destroyed, the personal fields blanked; the history keeps what happened and
    when, not the reasons written about the person (they may name them), and the erasure's own
    legal ground."""
    await destroy_keys(conn, [e.key_id])
    keys.pop(e.key_id, None)
    await conn.execute(
        "UPDATE people SET full_name = NULL, search_key = '', birth_year = NULL, "
        "contacts = '[]', status = 'erased', erased_on = $3, "
        "history = (SELECT coalesce(jsonb_agg(h - 'reason'), '[]') "
        "FROM jsonb_array_elements(history) AS h) || $4::jsonb, version = $5, recorded_on = $6 "
        "WHERE tenant_id = $1 AND person_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.erased_on,
        _note(e.erased_on, "erased", e.legal_reason),
        stored.stream_version,
        recorded_on(stored),
    )
    # What the person's nominations said of them (summaries sealed with the key): blanked.
    await conn.execute("UPDATE proposal_nominees SET summary = '' WHERE summary_key = $1", e.key_id)
    # The same person's records in the units they left (the key went with them): blanked too,
    # whatever they say yet. A rebuild may have projected such a record only up to before the
    # person left (still active then), and goes on with it after this: what it had opened
    # with the key must go now, and its later notes find the key gone (_noted).
    await conn.execute(
        "UPDATE people SET full_name = NULL, search_key = '', birth_year = NULL, contacts = '[]', "
        "history = (SELECT coalesce(jsonb_agg(h - 'reason'), '[]') "
        "FROM jsonb_array_elements(history) AS h) WHERE key_id = $1 "
        "AND (tenant_id, person_id) <> ($2, $3)",
        e.key_id,
        stored.tenant_id,
        stored.stream_id,
    )


# A record that has taken its person back: its transfers are all later than any arrival stored
# without the sending record's version.
_CAME_BACK = """people.history @> '[{"what": "returned"}]'"""


def _record(unit: str, person: Any) -> str:
    return f"{unit}:{UUID(str(person))}"


async def _transferred(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    # The record and the arrival that takes it are two units' rows, each written with what the
    # other's already say: locked alike on both sides, the second sees the first.
    await _locks(conn, _TRANSFER_LOCKS, {_record(stored.tenant_id, stored.stream_id)})
    await conn.execute(
        "UPDATE people SET status = 'transferred', transfer_to = $3, transferred_on = $4, "
        f"history = {_noted('$5')}, version = $6, recorded_on = $7, "
        # The arrival that took this very transfer, where it was projected first (a rebuild).
        "received_as = (SELECT a.person_id FROM person_arrivals a WHERE a.from_unit = $1 "
        "AND a.from_person = $2 AND a.tenant_id = $3 AND (a.from_version = $6 "
        f"OR (a.from_version IS NULL AND NOT {_CAME_BACK})) LIMIT 1) "
        "WHERE tenant_id = $1 AND person_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.to_unit,
        e.transferred_on,
        _note(e.transferred_on, "transferred", e.to_unit),
        stored.stream_version,
        recorded_on(stored),
    )


async def _arrived(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """Received here, where they came from noted; and the transfer closed there."""
    await conn.execute(
        "UPDATE people SET arrived_from = $3, arrived_from_person = $6, "
        f"history = {_noted('$4')}, version = $5 WHERE tenant_id = $1 AND person_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.from_unit,
        _note(e.arrived_on, "arrived", e.from_unit),
        stored.stream_version,
        e.from_person,
    )
    await _received(conn, stored, e)


async def _received(conn, stored: StoredEvent, e: Any) -> None:
    """The arrival kept, and the record the person was sent from closed, if it still stands at
    the transfer this arrival took (in a rebuild it may be projected past it, or not yet up to
    it: then its own projection finds the arrival)."""
    version = getattr(e, "from_version", None)
    await _locks(conn, _TRANSFER_LOCKS, {_record(e.from_unit, e.from_person)})
    await conn.execute(
        "INSERT INTO person_arrivals (tenant_id, person_id, from_unit, from_person, "
        "from_version) VALUES ($1, $2, $3, $4, $5)",
        stored.tenant_id,
        stored.stream_id,
        e.from_unit,
        e.from_person,
        version,
    )
    await conn.execute(
        "UPDATE people SET received_as = $3 WHERE tenant_id = $1 AND person_id = $2 "
        "AND status = 'transferred' AND CASE WHEN $4::integer IS NULL "
        f"THEN NOT {_CAME_BACK} ELSE version = $4 END",
        e.from_unit,
        e.from_person,
        stored.stream_id,
        version,
    )


async def _came_back(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """Back in the unit that sent them away: the record opens again with what they came back
    with (their data as the unit they come from kept it, sealed with the same key)."""
    await conn.execute(
        f"UPDATE people SET {_PERSONAL_SET}, status = 'active', transfer_to = NULL, "
        "transferred_on = NULL, received_as = NULL, arrived_from = $14, "
        f"arrived_from_person = $15, history = {_noted('$16')}, version = $17, "
        "recorded_on = $18 WHERE tenant_id = $1 AND person_id = $2",
        stored.tenant_id,
        stored.stream_id,
        *_personal(e, keys),
        e.from_unit,
        e.from_person,
        _note(e.returned_on, "returned", e.from_unit),
        stored.stream_version,
        recorded_on(stored),
    )
    await _received(conn, stored, e)


async def _base_salary_set(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "INSERT INTO base_salaries (effective_from, amount_vnd, source, tenant_id, version) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (effective_from) DO NOTHING",
        e.effective_from,
        e.amount_vnd,
        e.source,
        stored.tenant_id,
        stored.stream_version,
    )


async def _calendar_day(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "INSERT INTO calendar_days (day, working, reason, tenant_id, version) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day) DO UPDATE SET working = EXCLUDED.working, "
        "reason = EXCLUDED.reason, tenant_id = EXCLUDED.tenant_id, version = EXCLUDED.version",
        e.on,
        e.working,
        e.reason,
        stored.tenant_id,
        stored.stream_version,
    )


async def _local_rule_added(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "INSERT INTO local_rules (tenant_id, rule_id, code, kind, message, numbers, "
        "effective_from, source, version) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)",
        stored.tenant_id,
        stored.stream_id,
        e.code,
        e.kind,
        e.message,
        _json(e.numbers),
        e.effective_from,
        e.source,
        stored.stream_version,
    )


async def _local_rule_ended(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "UPDATE local_rules SET effective_to = $3, ended_reason = $4, version = $5 "
        "WHERE tenant_id = $1 AND rule_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.ended_on,
        e.reason,
        stored.stream_version,
    )


async def _drafted(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "INSERT INTO proposals (tenant_id, proposal_id, title, kind, topic, year, status, "
        "drafted_on, recorded_on, version) VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9)",
        stored.tenant_id,
        stored.stream_id,
        e.title,
        e.kind,
        e.topic,
        e.year,
        e.drafted_on,
        recorded_on(stored),
        stored.stream_version,
    )


async def _proposal_version(conn, stored: StoredEvent, sets: str = "", *args: Any) -> None:
    await conn.execute(
        f"UPDATE proposals SET version = $3{sets} WHERE tenant_id = $1 AND proposal_id = $2",
        stored.tenant_id,
        stored.stream_id,
        stored.stream_version,
        *args,
    )


def _nominees_of(e: Any) -> list[Any]:
    """The nominee rows an event adds (NomineeAdded one, NomineesAdded many; others none)."""
    if isinstance(e, Proposal.NomineesAdded):
        return e.nominees
    if isinstance(e, Proposal.NomineeAdded):
        return [vars(e)]
    return []


async def _nominees_added(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """NomineeAdded (one) and NomineesAdded (many) alike."""
    await _nominees_run(conn, [(stored, e)], keys)


async def _nominees_run(conn, run: Run, keys: dict[Any, bytes]) -> None:
    """A proposal's events adding nominees, one after another in the log (a bulk's runs)."""
    added = flagged = 0
    # A part stored while the next is built (a run's rows built first, then stored, were each
    # in turn: a third of a 10,000-nominee list's projection).
    async with row_runs(conn, "proposal_nominees", NOMINEE_COLUMNS) as rows:
        for stored, e in run:
            nominees = _nominees_of(e)
            await rows.extend(
                _nominee_row(stored, n, place, keys) for place, n in enumerate(nominees)
            )
            added += len(nominees)
            flagged += sum(1 for n in nominees if n["findings"])
    await _proposal_version(
        conn,
        run[-1][0],
        ", nominee_count = nominee_count + $4, flagged_count = flagged_count + $5",
        added,
        flagged,
    )


# A nominee's place in its proposal: its event's place in the log, then its place in the event
# (a run of many: shared/chunks.py keeps a run far below this many).
PLACES_PER_EVENT = 65_536


# One statement for a run of rows, not one each (executemany made 10,000 statements of a
# 10,000-nominee proposal, a council on it and its decision).
NOMINEE_COLUMNS = (
    ("tenant_id", "text"),
    ("proposal_id", "uuid"),
    ("nominee_id", "text"),
    ("subject", "text"),
    ("who", "text"),
    ("person_id", "text"),
    ("unit_id", "text"),
    ("award", "text"),
    ("summary", "text"),
    ("summary_key", "uuid"),
    ("summary_sealed", "text"),
    ("basis", "jsonb"),
    ("findings", "jsonb"),
    ("added_seq", "bigint"),
)
COUNCIL_ITEM_COLUMNS = (
    ("tenant_id", "text"),
    ("session_id", "uuid"),
    ("item_id", "text"),
    ("proposal_id", "uuid"),
    ("proposer", "text"),
    ("nominee_id", "text"),
    ("who", "text"),
    ("unit_of", "text"),
    ("award", "text"),
    ("recused", "jsonb"),
    ("position", "integer"),
)
RECIPIENT_COLUMNS = (
    ("tenant_id", "text"),
    ("decision_id", "uuid"),
    ("item_id", "text"),
    ("proposal_id", "uuid"),
    ("proposer", "text"),
    ("who", "text"),
    ("person_id", "text"),
    ("unit_id", "text"),
    ("subject", "text"),
    ("award", "text"),
    ("kind", "text"),
    ("cash_vnd", "bigint"),
    ("year", "integer"),
    ("decided_on", "date"),
    ("topic", "text"),
    ("decided_level", "text"),
)


def _nominee_row(
    stored: StoredEvent, n: Any, place: int, keys: dict[Any, bytes]
) -> tuple[Any, ...]:
    kind, _, ref = n["who"].partition(":")
    key_id = n["summary_key"]
    summary = n["summary"]
    if key_id:  # a person's, sealed with their key: '' once they are erased
        opened = unseal(keys.get(key_id), key_id, n["summary_sealed"]) or {}
        summary = _without_nul(opened.get("summary", ""))
    return (
        stored.tenant_id,
        stored.stream_id,
        n["nominee_id"],
        n["subject"],
        n["who"],
        ref if kind == "person" else None,
        ref if kind == "unit" else None,
        n["award"],
        summary,
        key_id,
        n["summary_sealed"] if key_id else "",
        _json(
            {
                "campaign_id": n["campaign_id"],
                "initiatives": n["initiatives"],
                "earlier_titles": n["earlier_titles"],
                "forwarded_from": n["forwarded_from"] or None,
            }
        ),
        _json(n["findings"]),
        stored.seq * PLACES_PER_EVENT + place,
    )


async def _nominee_removed(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    flagged = await conn.fetchval(
        "DELETE FROM proposal_nominees WHERE tenant_id = $1 AND proposal_id = $2 "
        "AND nominee_id = $3 RETURNING findings <> '[]'",
        stored.tenant_id,
        stored.stream_id,
        e.nominee_id,
    )
    await _proposal_version(
        conn,
        stored,
        ", nominee_count = nominee_count - 1, flagged_count = flagged_count - $4",
        1 if flagged else 0,
    )


async def _attached(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "INSERT INTO proposal_documents (tenant_id, proposal_id, sha256, kind, name, size, "
        "media_type, attached_on, attached_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        stored.tenant_id,
        stored.stream_id,
        e.sha256,
        e.kind,
        e.name,
        e.size,
        e.media_type,
        recorded_on(stored),
        stored.seq * PLACES_PER_EVENT,
    )
    await _proposal_version(conn, stored)


async def _submitted(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """Sent: the upper level reads it from now on, and its nominees and documents placed before
    this (migration 0047: its place, not a flag on each row)."""
    await _proposal_version(
        conn,
        stored,
        ", status = 'submitted', to_unit = $4, submitted_on = $5, due_on = $6, "
        "concurrence = $7, rule_set_version = $8, shared = true, round = $9, shared_before = $10",
        e.to_unit,
        e.submitted_on,
        e.due_on,
        e.concurrence,
        e.rule_set_version,
        e.round,
        stored.seq * PLACES_PER_EVENT,
    )


async def _returned(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _proposal_version(conn, stored, ", status = 'returned'")


async def _return_listed(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _proposal_version(conn, stored)


async def _appraisal_opened(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "INSERT INTO appraisals (tenant_id, proposal_id, round, proposer, status, nominee_count, "
        "opened_on, version) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7)",
        stored.tenant_id,
        e.proposal_id,
        e.round,
        e.proposer,
        len(e.nominees),
        e.opened_on,
        stored.stream_version,
    )


async def _nominees_appraised(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _appraised_run(conn, [(stored, e)], keys)


def _nominees_judged(e: Any) -> list[str]:
    return list(e.nominees) if hasattr(e, "nominees") else [e.nominee_id]


async def _appraised_run(conn, run: Run, keys: dict[Any, bytes]) -> None:
    """Verdicts, one or a list at a time, of an appraisal's round: kept in the appraiser's own
    rows (migration 0051), in one statement for each verdict and rule, the count read after."""
    stored, e = run[-1]
    # A nominee judged again later in the run keeps its last verdict, as one event at a time
    # left it (an INSERT naming a row twice in its list would fail).
    last: dict[str, tuple[str, str, str | None]] = {}
    for _, v in run:
        for n in _nominees_judged(v):
            last[n] = (v.verdict, v.reason, v.rule or None)
    # The nominees of each verdict and rule (a few: the rules are a catalogue) in one list,
    # with their reasons: four arrays of 10,000 were most of this statement's cost.
    alike: dict[tuple[str, str | None], tuple[list[str], list[str]]] = {}
    for nominee, (verdict, reason, rule) in last.items():
        nominees, reasons = alike.setdefault((verdict, rule), ([], []))
        nominees.append(nominee)
        reasons.append(reason)
    # A round's first verdicts (the bulk screen's) are inserted plainly: checking each of
    # 10,000 rows for a conflict that cannot be was a third of the projection.
    judged_before = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM appraisal_verdicts WHERE tenant_id = $1 "
        "AND proposal_id = $2 AND round = $3)",
        stored.tenant_id,
        e.proposal_id,
        e.round,
    )
    again = (
        " ON CONFLICT (tenant_id, proposal_id, round, nominee_id) DO UPDATE SET "
        "verdict = EXCLUDED.verdict, reason = EXCLUDED.reason, rule = EXCLUDED.rule"
        if judged_before
        else ""
    )
    for (verdict, rule), (nominees, reasons) in alike.items():
        await conn.execute(
            "INSERT INTO appraisal_verdicts (tenant_id, proposer, proposal_id, round, nominee_id, "
            "verdict, reason, rule) SELECT $1, $2, $3, $4, v.nominee_id, $5, v.reason, $6 "
            "FROM unnest($7::text[], $8::text[]) AS v (nominee_id, reason)" + again,
            stored.tenant_id,
            e.proposer,
            e.proposal_id,
            e.round,
            verdict,
            rule,
            nominees,
            reasons,
        )
    await conn.execute(
        "UPDATE appraisals SET judged_count = (SELECT count(*) FROM appraisal_verdicts v "
        "WHERE v.tenant_id = $1 AND v.proposal_id = $2 AND v.round = $3), version = $4 "
        "WHERE tenant_id = $1 AND proposal_id = $2 AND round = $3",
        stored.tenant_id,
        e.proposal_id,
        e.round,
        stored.stream_version,
    )


async def _appraisal_put_to_council(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]):
    await conn.execute(
        "UPDATE appraisals SET version = $4 WHERE tenant_id = $1 AND proposal_id = $2 "
        "AND round = $3",
        stored.tenant_id,
        e.proposal_id,
        e.round,
        stored.stream_version,
    )


async def _appraisal_concluded(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    outcome = "returned" if stored.event_type == "AppraisalReturned" else "completed"
    await conn.execute(
        "UPDATE appraisals SET status = $4, returned = $5::jsonb, concluded_on = $6, version = $7 "
        "WHERE tenant_id = $1 AND proposal_id = $2 AND round = $3",
        stored.tenant_id,
        e.proposal_id,
        e.round,
        outcome,
        _json(getattr(e, "returned", [])),
        e.concluded_on,
        stored.stream_version,
    )


async def _appraisal_listed(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """More of an appraisal's nominees (shared/chunks.py), or of its concluded outcome."""
    await conn.execute(
        "UPDATE appraisals SET nominee_count = nominee_count + $4, "
        "returned = returned || $5::jsonb, version = $6 "
        "WHERE tenant_id = $1 AND proposal_id = $2 AND round = $3",
        stored.tenant_id,
        e.proposal_id,
        e.round,
        len(getattr(e, "nominees", ())),
        _json(getattr(e, "returned", [])),
        stored.stream_version,
    )


async def _convened(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "INSERT INTO council_sessions (tenant_id, session_id, title, meets_on, ballot, quorum, "
        "members, status, version) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, 'open', $8)",
        stored.tenant_id,
        stored.stream_id,
        e.title,
        e.meets_on,
        e.ballot,
        e.quorum,
        _json(e.members),
        stored.stream_version,
    )
    await _council_items(conn, stored, e.items, 0)


async def _items_listed(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _items_run(conn, [(stored, e)], keys)


async def _items_run(conn, run: Run, keys: dict[Any, bytes]) -> None:
    """A council's lists of more items, one after another in the log, placed after those it
    holds."""
    stored = run[-1][0]
    placed = await conn.fetchval(
        "SELECT coalesce(max(position) + 1, 0) FROM council_items "
        "WHERE tenant_id = $1 AND session_id = $2",
        stored.tenant_id,
        stored.stream_id,
    )
    await _council_items(conn, stored, [i for _, e in run for i in e.items], placed)
    await _session_version(conn, stored)


async def _session_version(conn, stored: StoredEvent) -> None:
    await conn.execute(
        "UPDATE council_sessions SET version = $3 WHERE tenant_id = $1 AND session_id = $2",
        stored.tenant_id,
        stored.stream_id,
        stored.stream_version,
    )


async def _council_items(conn, stored: StoredEvent, items: list[Any], placed: int) -> None:
    async with row_runs(conn, "council_items", COUNCIL_ITEM_COLUMNS) as rows:
        await rows.extend(
            (
                stored.tenant_id,
                stored.stream_id,
                i["item_id"],
                i["proposal_id"],  # its text or a UUID: asyncpg takes either
                i["proposer"],
                i["nominee_id"],
                i["who"],
                i["unit_of"],
                i["award"],
                _json(i["recused"]),
                placed + n,
            )
            for n, i in enumerate(items)
        )


async def _vote(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """Who voted on one item (an open ballot: and how)."""
    await _voted(conn, stored, e.voter, getattr(e, "choice", None), [e.item_id])


async def _votes(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """One member's vote on many items (an open ballot: and how)."""
    await _voted(conn, stored, e.voter, getattr(e, "choice", None), e.items)


async def _voted(conn, stored: StoredEvent, voter: str, choice: str | None, items: list[str]):
    # One row for the list, as the event has it (migration 0049): a row for each item cost a
    # council of 10,000 items 10,000 rows for each member.
    await conn.execute(
        "INSERT INTO council_votes (tenant_id, session_id, voter, choice, items) "
        "VALUES ($1, $2, $3, $4, $5)",
        stored.tenant_id,
        stored.stream_id,
        voter,
        choice,
        items,
    )
    await _session_version(conn, stored)


async def _council_concluded(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _results(conn, stored, e.results)
    await conn.execute(
        "UPDATE council_sessions SET status = 'concluded', concluded_on = $3, version = $4 "
        "WHERE tenant_id = $1 AND session_id = $2",
        stored.tenant_id,
        stored.stream_id,
        e.concluded_on,
        stored.stream_version,
    )


async def _results_listed(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _results_run(conn, [(stored, e)], keys)


async def _results_run(conn, run: Run, keys: dict[Any, bytes]) -> None:
    stored = run[-1][0]
    await _results(conn, stored, [r for _, e in run for r in e.results])
    await _session_version(conn, stored)


_COUNTS = ("yes", "no", "abstain", "eligible", "passed", "voters")
# Distinct counts of a council's results written one statement each (more: in one, by arrays).
COUNTS_ALIKE = 8


async def _results(conn, stored: StoredEvent, results: list[Any]) -> None:
    """The count: how many voted on each item is set here, once, where each vote's event
    counting one more cost a council of 10,000 items an update of every row per member (until
    then the readers count the votes themselves)."""
    # The items of each count in one list: a council's members make few distinct counts, and
    # seven arrays of 10,000 were most of this statement's cost. Past a few, the arrays again
    # (a statement for each count would cost more).
    alike: dict[tuple[Any, ...], list[str]] = {}
    for r in results:
        alike.setdefault(tuple(r[name] for name in _COUNTS), []).append(r["item_id"])
    if len(alike) > COUNTS_ALIKE:
        await conn.execute(
            "UPDATE council_items i SET yes = r.yes, no = r.no, abstain = r.abstain, "
            "eligible = r.eligible, passed = r.passed, voters = r.voters "
            "FROM unnest($3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::bool[], "
            "$9::int[]) AS r (item_id, yes, no, abstain, eligible, passed, voters) "
            "WHERE i.tenant_id = $1 AND i.session_id = $2 AND i.item_id = r.item_id",
            stored.tenant_id,
            stored.stream_id,
            *([r[name] for r in results] for name in ("item_id", *_COUNTS)),
        )
        return
    for (yes, no, abstain, eligible, passed, voters), items in alike.items():
        await conn.execute(
            "UPDATE council_items i SET yes = $3, no = $4, abstain = $5, eligible = $6, "
            "passed = $7, voters = $8 FROM unnest($9::text[]) AS r (item_id) "
            "WHERE i.tenant_id = $1 AND i.session_id = $2 AND i.item_id = r.item_id",
            stored.tenant_id,
            stored.stream_id,
            yes,
            no,
            abstain,
            eligible,
            passed,
            voters,
            items,
        )


async def _settled(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _settled_run(conn, [(stored, e)], keys)


async def _settled_run(conn, run: Run, keys: dict[Any, bytes]) -> None:
    """Items settled by a decision or a forwarding, list after list: one statement."""
    stored = run[-1][0]
    # One list of items for each decision (or forwarding): two arrays of 10,000 copies of the
    # same id cost a decision a third of this statement. An item is settled once (the domain
    # refuses it a second time), so the order of the lists does not matter.
    settled: dict[tuple[Any, Any], list[str]] = {}
    for _, e in run:
        settled.setdefault((e.decision_id, e.forwarded_in), []).extend(e.items)
    for (decision_id, forwarded_in), items in settled.items():
        if not items:
            continue
        await conn.execute(
            # A join, as before, not item_id = ANY: planned for the few rows the statistics
            # knew before a council's first items, that took 1.4 s on a fresh server.
            "UPDATE council_items c SET decision_id = $3, forwarded_in = $4 "
            "FROM unnest($5::text[]) AS s (item_id) "
            "WHERE c.tenant_id = $1 AND c.session_id = $2 AND c.item_id = s.item_id",
            stored.tenant_id,
            stored.stream_id,
            decision_id,
            forwarded_in,
            items,
        )


async def _decision_issued(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    recipients = _once(e.recipients)
    await conn.execute(
        "INSERT INTO decisions (tenant_id, decision_id, year, number, code, title, decided_on, "
        "signer, council_session, rule_set_version, base_salary_vnd, recipient_count, "
        "cash_total_vnd, unit_name) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        stored.tenant_id,
        stored.stream_id,
        e.year,
        e.number,
        e.code,
        e.title,
        e.decided_on,
        e.signer,
        e.council_session,
        e.rule_set_version,
        e.base_salary_vnd,
        len(recipients),
        sum(int(r["cash_vnd"]) for r in recipients),
        e.unit_name,
    )
    await _recipients(conn, stored, recipients, e.decided_on, e.year)


async def _recipients_listed(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await _recipients_run(conn, [(stored, e)], keys)


async def _recipients_run(conn, run: Run, keys: dict[Any, bytes]) -> None:
    """More of a decision's recipients (shared/chunks.py), one list after another in the log:
    its counts grow with them."""
    stored = run[-1][0]
    listed = _once([r for _, e in run for r in e.recipients])
    # The decision's rows so far, by its key's prefix: the list's first part, as a rule (its
    # 10,000 items looked up one by one were 45 ms).
    there = await conn.fetch(
        "SELECT item_id FROM decision_recipients WHERE tenant_id = $1 AND decision_id = $2",
        stored.tenant_id,
        stored.stream_id,
    )
    known = {r["item_id"] for r in there}
    recipients = [r for r in listed if r["item_id"] not in known] if known else listed
    row = await conn.fetchrow(
        "UPDATE decisions SET recipient_count = recipient_count + $3, "
        "cash_total_vnd = cash_total_vnd + $4 WHERE tenant_id = $1 AND decision_id = $2 "
        "RETURNING decided_on, year",
        stored.tenant_id,
        stored.stream_id,
        len(recipients),
        sum(int(r["cash_vnd"]) for r in recipients),
    )
    await _recipients(conn, stored, recipients, row["decided_on"], row["year"])


def _once(recipients: list[Any]) -> list[Any]:
    """Each item once, as first listed: a decision stored before naming an item twice was
    refused may name one twice, and is registered (and counted) with it once."""
    first: dict[str, Any] = {}
    for r in recipients:
        first.setdefault(r["item_id"], r)
    return list(first.values()) if len(first) < len(recipients) else recipients


async def _recipients(
    conn, stored: StoredEvent, recipients: list[Any], decided_on: date, year: int
) -> None:
    """The register's rows of ``recipients``: each item once and none it holds already, as the
    callers leave them (``_once``; ``_recipients_run`` asks the register)."""
    level = await conn.fetchval(
        "SELECT coalesce((SELECT level FROM units WHERE tenant_id = $1), '')", stored.tenant_id
    )
    async with row_runs(conn, "decision_recipients", RECIPIENT_COLUMNS) as rows:
        await rows.extend(
            (
                stored.tenant_id,
                stored.stream_id,
                r["item_id"],
                r["proposal_id"],
                r["proposer"],
                r["who"],
                r["who"].partition(":")[2] if r["who"].startswith("person:") else None,
                r["who"].partition(":")[2] if r["who"].startswith("unit:") else None,
                r["subject"],
                r["award"],
                r["kind"],
                r["cash_vnd"],
                r.get("year") or year,  # the year the award is for; before, the decision's
                decided_on,
                r.get("topic", ""),
                level,
            )
            for r in recipients
        )
    leaning = [
        (r["item_id"], r["award"], r.get("year") or year)
        for r in recipients
        if r["award"] in _LEANED_ON
    ]
    if leaning:
        await _flags_taken(conn, stored, leaning)


# Review flags (rule 13) join two units' logs: a revocation in the deciding unit's, the later
# awards that leaned on it in whichever units decided them. A runner meets the two in either
# order (a rebuild catches each unit up on its own, and units are caught up at once), so each
# side writes the flags the other side's rows call for: a revocation flags the later awards
# already there, a later award takes the flags of revocations already there. A later award is
# flagged when it was decided on or before the day of the revocation and not revoked itself
# before that day. Both sides lock the (award, year) pairs concerned before they read the
# other's rows, so that whichever comes second sees the first: a revocation alone (it is rare),
# a later award shared with other later awards (decisions of every unit meet on these pairs).
_REVIEW_LOCKS = 0x7E51  # advisory lock spaces: review pairs, and a transferred person's record
_TRANSFER_LOCKS = 0x7E52
_LEANING_ROWS = [
    (earlier, later, years) for earlier, on in LEANING.items() for later, years in on.items()
]
_LEANED_ON = frozenset(later for _, later, _ in _LEANING_ROWS)
_FLAG_ORDER = "f->>'on', f->>'decision', f->>'revoked', f->>'year'"


async def _locks(conn, space: int, keys: set[str], *, shared: bool = False) -> None:
    """Transaction locks on ``keys`` in ``space``, in order, for this schema's rows (a rebuild's
    runner and the live one do not wait on each other)."""
    if keys:
        await conn.execute(
            f"SELECT pg_advisory_xact_lock{'_shared' if shared else ''}($1, "
            "hashtext(current_schema() || ':' || k)) FROM "
            "(SELECT k FROM unnest($2::text[]) AS k ORDER BY k) AS s",
            space,
            sorted(keys),
        )


def _review_pairs(pairs: set[tuple[str, int]]) -> set[str]:
    return {f"{award}:{year}" for award, year in pairs}


async def _award_revoked(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    """The recipient's row marked revoked (dropping flags of revocations after that day); every
    later award of the same person or collective that leaned on it (services/awards/rules.py
    ``LEANING``), whoever decided it, flagged."""
    held = await conn.fetchrow(
        "SELECT who, award, year FROM decision_recipients WHERE tenant_id = $1 "
        "AND decision_id = $2 AND item_id = $3",
        stored.tenant_id,
        stored.stream_id,
        e.item_id,
    )
    leaning = leaning_on(held["award"])
    await _locks(
        conn,
        _REVIEW_LOCKS,
        _review_pairs(
            {(a, y) for a, n in leaning.items() for y in range(held["year"], held["year"] + n + 1)}
        ),
    )
    await conn.execute(
        "UPDATE decision_recipients SET revoked_on = $4, revoke_ground = $5, revoke_reason = $6, "
        "recovered_cash_vnd = $7, recovered_items = $8::jsonb, review = (SELECT "
        f"coalesce(jsonb_agg(f ORDER BY {_FLAG_ORDER}), '[]') FROM jsonb_array_elements(review) f "
        "WHERE (f->>'on')::date <= $4) "
        "WHERE tenant_id = $1 AND decision_id = $2 AND item_id = $3",
        stored.tenant_id,
        stored.stream_id,
        e.item_id,
        e.revoked_on,
        e.ground,
        e.reason,
        e.recovered_cash_vnd,
        _json(e.recovered_items),
    )
    flag = {
        "revoked": held["award"],
        "year": held["year"],
        "decision": str(stored.stream_id),
        "on": e.revoked_on.isoformat(),
    }
    for award, years in leaning.items():
        await conn.execute(
            "UPDATE decision_recipients SET review = (SELECT "
            f"jsonb_agg(f ORDER BY {_FLAG_ORDER}) FROM jsonb_array_elements(review || $5::jsonb) f) "
            "WHERE who = $1 AND award = $2 AND year BETWEEN $3 AND $4 AND decided_on <= $6 "
            "AND (revoked_on IS NULL OR revoked_on >= $6)",
            held["who"],
            award,
            held["year"],
            held["year"] + years,
            _json([flag]),
            e.revoked_on,
        )


async def _flags_taken(conn, stored: StoredEvent, rows: list[tuple[str, str, int]]) -> None:
    """New rows of awards that lean on others (``rows``: item, award, year) take the flags of
    the revocations already registered (see ``_REVIEW_LOCKS``)."""
    await _locks(conn, _REVIEW_LOCKS, _review_pairs({(a, y) for _, a, y in rows}), shared=True)
    await conn.execute(
        "UPDATE decision_recipients r SET review = t.flags FROM (SELECT n.item_id, "
        "jsonb_agg(f ORDER BY " + _FLAG_ORDER + ") AS flags FROM decision_recipients n "
        "JOIN unnest($4::text[], $5::text[], $6::integer[]) AS l (earlier, later, years) "
        "ON l.later = n.award "
        "JOIN decision_recipients x ON x.who = n.who AND x.award = l.earlier "
        "AND n.year BETWEEN x.year AND x.year + l.years AND x.revoked_on >= n.decided_on "
        "CROSS JOIN LATERAL jsonb_build_object('revoked', x.award, 'year', x.year, "
        "'decision', x.decision_id::text, 'on', x.revoked_on) AS f "
        # The new rows by a join with their list, not = ANY: see _settled_run.
        "WHERE n.tenant_id = $1 AND n.decision_id = $2 "
        "AND n.item_id IN (SELECT unnest($3::text[])) GROUP BY n.item_id) AS t "
        "WHERE r.tenant_id = $1 AND r.decision_id = $2 AND r.item_id = t.item_id",
        stored.tenant_id,
        stored.stream_id,
        [item for item, _, _ in rows],
        *(list(column) for column in zip(*_LEANING_ROWS, strict=True)),
    )


async def _disclosed(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    await conn.execute(
        "INSERT INTO disclosures (tenant_id, disclosure_id, title, published_on, council_on) "
        "VALUES ($1, $2, $3, $4, $5)",
        stored.tenant_id,
        stored.stream_id,
        e.title,
        e.published_on,
        e.council_on,
    )
    await _disclosed_items(conn, stored, e.items, e.published_on)


async def _disclosed_listed(conn, stored: StoredEvent, e: Any, keys: dict[Any, bytes]) -> None:
    published_on = await conn.fetchval(
        "SELECT published_on FROM disclosures WHERE tenant_id = $1 AND disclosure_id = $2",
        stored.tenant_id,
        stored.stream_id,
    )
    await _disclosed_items(conn, stored, e.items, published_on)


async def _disclosed_items(conn, stored: StoredEvent, items: list[Any], published_on: date) -> None:
    await conn.executemany(
        "INSERT INTO disclosed_nominees (tenant_id, disclosure_id, item_id, proposal_id, "
        "nominee_id, who, award, published_on) VALUES ($1, $2, $3, $4::uuid, $5, $6, $7, $8)",
        [
            (
                stored.tenant_id,
                stored.stream_id,
                i["item_id"],
                i["proposal_id"],
                i["nominee_id"],
                i["who"],
                i["award"],
                published_on,
            )
            for i in items
        ],
    )


_HANDLERS = {
    "PersonAmended": _amended,
    "PersonLeft": _left,
    "PersonErased": _erased,
    "PersonAbsenceSet": _absence_set,
    "PersonDisciplined": _disciplined,
    "PersonTransferred": _transferred,
    "PersonArrived": _arrived,
    "PersonReturned": _came_back,
    "BaseSalarySet": _base_salary_set,
    "CalendarDayMarked": _calendar_day,
    "CalendarDayRemarked": _calendar_day,
    "LocalRuleAdded": _local_rule_added,
    "LocalRuleEnded": _local_rule_ended,
    "ProposalDrafted": _drafted,
    "NomineeAdded": _nominees_added,
    "NomineesAdded": _nominees_added,
    "NomineeRemoved": _nominee_removed,
    "DocumentAttached": _attached,
    "ProposalSubmitted": _submitted,
    "ProposalReturned": _returned,
    "ProposalReturnListed": _return_listed,
    "AppraisalOpened": _appraisal_opened,
    "NomineeAppraised": _nominees_appraised,
    "AppraisalReturned": _appraisal_concluded,
    "AppraisalCompleted": _appraisal_concluded,
    "AppraisalNomineesListed": _appraisal_listed,
    "AppraisalOutcomeListed": _appraisal_listed,
    "CouncilItemsListed": _items_listed,
    "NomineesAppraised": _nominees_appraised,
    "AppraisalPutToCouncil": _appraisal_put_to_council,
    "VotesCast": _votes,
    "BallotsCast": _votes,
    "CouncilResultsListed": _results_listed,
    "DecisionRecipientsListed": _recipients_listed,
    "DisclosedNomineesListed": _disclosed_listed,
    "CouncilConvened": _convened,
    "VoteCast": _vote,
    "BallotCast": _vote,
    "CouncilConcluded": _council_concluded,
    "CouncilItemsSettled": _settled,
    "DecisionIssued": _decision_issued,
    "AwardRevoked": _award_revoked,
    "NomineesDisclosed": _disclosed,
}


async def _one(conn: asyncpg.Connection, stored: StoredEvent, e: Any) -> None:
    """One event on its own (a projection's handler): as a batch of one."""
    await apply(conn, build_registry(), [stored])


_RUNS = {
    "NomineesAdded": _nominees_run,
    "NomineesAppraised": _appraised_run,
    "NomineeAppraised": _appraised_run,
    "CouncilItemsListed": _items_run,
    "CouncilResultsListed": _results_run,
    "CouncilItemsSettled": _settled_run,
    "DecisionRecipientsListed": _recipients_run,
}


PROJECTION = Projection(
    "awards",
    1,
    build_registry(),
    # PersonRegistered is applied by ``apply`` itself, a run of them in one statement.
    handlers=dict.fromkeys([*_HANDLERS, "PersonRegistered"], _one),
    tables=TABLES,
    apply=apply,
)
