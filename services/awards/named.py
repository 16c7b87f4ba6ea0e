"""The people register as other services see it (shared/personal.py ``People``): the holder of
each name a pledge or an initiative gives, so that the name goes into that service's event
sealed with its person's key, and erasing the person erases it there too (issue 14, point 2).

A name with the unit's staff number is the person registered under it; a name without one is
the one person of the unit written so (several: refused, a staff number tells them apart); a
name no one holds is a person made for it (``Person.named``), whose particulars are recorded
later (``amendPerson``, or registering their staff number). The made people's events are
encoded here, by the awards' own registry, and appended by the asking command with its own, in
one append.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid4

import asyncpg
from anyio import to_thread

from services.awards.domain import (
    UNRECORDED,
    Person,
    Personal,
    PersonAmbiguous,
    PersonErasedError,
    PersonTransferredError,
    check_personal,
    check_staff_number,
    person_id,
    plain_particulars,
)
from services.awards.projections import build_registry
from shared.db import lock_key, planned_for_arguments
from shared.errors import DomainError
from shared.eventstore import NewEvent
from shared.personal import Holder, Holders, Named, mint_keys, seal
from shared.text import search_key


class AwardsPeople:
    """``People`` over the awards' register (one per running Thi đua, Runtime.people)."""

    async def holders(
        self,
        conn: asyncpg.Connection,
        unit_id: str,
        named: Sequence[Named],
        on: date,
        settle: Callable[[], Awaitable[None]],
    ) -> Holders:
        found = await _resolve(conn, unit_id, named)
        if any(isinstance(f, _ToMake) and not f.given.staff_number for f in found):
            # A person made for a name has a fresh id, so two commands making one for the same
            # name at once would make two: one at a time in a unit, each deciding again once
            # the register shows what the one before made (in its transaction: the lock holds
            # to its commit).
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1)", lock_key(f"people made for names:{unit_id}")
            )
            await settle()
            found = await _resolve(conn, unit_id, named)
        unique = list({id(f): f for f in found if isinstance(f, _ToMake)}.values())
        events = await _make(conn, unit_id, unique, on)
        return Holders([f.made if isinstance(f, _ToMake) else f for f in found], events)


async def _resolve(
    conn: asyncpg.Connection, unit_id: str, named: Sequence[Named]
) -> list[Holder | DomainError | _ToMake]:
    """Each name's holder as the register shows it, its refusal, or the person to make for it
    (one per staff number, or per name, however often it is given)."""
    numbered = [n.staff_number for n in named if n.staff_number]
    by_number = await _by_number(conn, unit_id, numbered)
    by_name = await _by_name(conn, unit_id, [n.name for n in named if not n.staff_number])
    found: list[Holder | DomainError | _ToMake] = []
    to_make: dict[str, _ToMake] = {}
    for given in named:
        if given.staff_number:
            wanted = given.staff_number.casefold()
            match = by_number.get(wanted)
        else:
            wanted = "name:" + given.name.casefold()
            match = by_name.get(given.name.casefold())
        if isinstance(match, _Row):
            found.append(match.holder())
        elif match is not None:  # several people of that name
            found.append(match)
        else:
            found.append(to_make.setdefault(wanted, _ToMake(given)))
    return found


@dataclass(slots=True)
class _Row:
    person_id: UUID
    key_id: UUID
    status: str
    key: bytes | None  # None: destroyed (erased), or gone with a transfer

    def holder(self) -> Holder | DomainError:
        if self.status == "transferred":
            return PersonTransferredError(field="name")
        if self.status == "erased" or self.key is None:
            return PersonErasedError(field="name")
        return Holder(self.person_id, self.key_id, self.key)


# Each person's key read with their row, in the same statement: a second lookup by 100,000
# key ids cost a second of a bulk pledge.
_PEOPLE_WITH_KEYS = (
    "SELECT p.person_id, p.key_id, p.status, p.full_name, k.key FROM people p "
    "LEFT JOIN person_keys k ON k.key_id = p.key_id WHERE p.tenant_id = $1 AND "
)


def _row(r: asyncpg.Record) -> _Row:
    key = r["key"]
    return _Row(r["person_id"], r["key_id"], r["status"], bytes(key) if key is not None else None)


@dataclass(slots=True)
class _ToMake:
    """A name no one holds (each row giving it shares this one): the person made for it, or
    why none could be."""

    given: Named
    made: Holder | DomainError | None = None


async def _by_number(conn: asyncpg.Connection, unit_id: str, numbers: list[str]) -> dict[str, _Row]:
    """The unit's people under these staff numbers (any case), by the number casefolded. Read
    as the asking command's caller; by key, planned for these very ids (thousands at once)."""
    if not numbers:
        return {}
    ids = {person_id(unit_id, n): n.casefold() for n in numbers}
    async with planned_for_arguments(conn, len(ids)):
        rows = await conn.fetch(
            _PEOPLE_WITH_KEYS + "p.person_id = ANY ($2::uuid[])", unit_id, list(ids)
        )
    return {ids[r["person_id"]]: _row(r) for r in rows}


async def _by_name(
    conn: asyncpg.Connection, unit_id: str, names: list[str]
) -> dict[str, _Row | DomainError]:
    """The unit's people (not erased: their name is gone) written exactly as each name, any
    case: one is that person, several are refused as ambiguous (a staff number tells them
    apart). Found by the register's search key, then compared as written."""
    if not names:
        return {}
    wanted = {n.casefold() for n in names}
    keys = list({search_key(n) for n in names})
    async with planned_for_arguments(conn, len(keys)):
        rows = await conn.fetch(
            _PEOPLE_WITH_KEYS + "p.search_key = ANY ($2::text[]) "
            "AND p.status IN ('active', 'left') AND p.full_name IS NOT NULL",
            unit_id,
            keys,
        )
    found: dict[str, list[_Row]] = {}
    for r in rows:
        name = r["full_name"].casefold()
        if name in wanted:
            found.setdefault(name, []).append(_row(r))
    return {
        name: rows[0] if len(rows) == 1 else PersonAmbiguous(f"({len(rows)} người)", field="name")
        for name, rows in found.items()
    }


async def _make(
    conn: asyncpg.Connection, unit_id: str, to_make: list[_ToMake], on: date
) -> list[NewEvent]:
    """A person for each name no one holds (``made`` set on each), with a fresh id (never one
    that follows from the name: that would let a list of names be tested against it after an
    erasure) and a key; their events."""
    wanted = []
    for t in to_make:
        try:
            check_staff_number(t.given.staff_number)
            check_personal(Personal(t.given.name), on)
        except DomainError as refused:  # a name or staff number the register refuses
            t.made = refused
        else:
            wanted.append(t)
    if not wanted:
        return []
    minted = await mint_keys(conn, unit_id, len(wanted))
    for t, (key_id, key) in zip(wanted, minted, strict=True):
        t.made = Holder(_made_id(unit_id, t.given), key_id, key)
    # Sealing thousands of names is CPU: in a worker thread, the event loop free.
    return await to_thread.run_sync(_made, _pattern(unit_id, on), wanted)


def _made_id(unit_id: str, given: Named) -> UUID:
    """A staff number names its person for good (as registering them would); a name does not."""
    return person_id(unit_id, given.staff_number) if given.staff_number else uuid4()


def _made(
    make: Callable[[UUID, Named, UUID, bytes], NewEvent], made: list[_ToMake]
) -> list[NewEvent]:
    events = []
    for t in made:
        assert isinstance(t.made, Holder)
        events.append(make(t.made.person_id, t.given, t.made.key_id, t.made.key))
    return events


def _pattern(unit_id: str, on: date) -> Callable[[UUID, Named, UUID, bytes], NewEvent]:
    """Each made person's PersonRegistered event as ``Person.named`` and the registry's
    encoding make it, without an aggregate each (a bulk pledge may make thousands). The first
    goes through the aggregate and is compared with the pattern, so the pattern cannot drift
    from the domain unnoticed."""
    registry = build_registry()
    encode = registry.codec.encode
    schema = registry.schema_version("PersonRegistered")
    registered_on = encode(on)
    plain = {k: encode(v) for k, v in plain_particulars(UNRECORDED).items()}
    checked = False

    def make(person_id: UUID, given: Named, key_id: UUID, key: bytes) -> NewEvent:
        nonlocal checked
        sealed = seal(key, key_id, Personal(given.name).as_sealable())
        data = {
            "unit_id": unit_id,
            "staff_number": given.staff_number,
            "key_id": encode(key_id),
            "sealed": sealed,
            **plain,
            "registered_on": registered_on,
        }
        event = NewEvent(person_id, 1, "PersonRegistered", data, schema)
        if not checked:
            person = Person.named(
                new_id=person_id,
                unit_id=unit_id,
                staff_number=given.staff_number,
                personal=Personal(given.name),
                key_id=key_id,
                sealed=sealed,
                on=on,
            )
            [expected] = [registry.encode(e) for e in person.collect_events()]
            if expected != event:
                raise RuntimeError("PersonRegistered has changed shape: update named._pattern.")
            checked = True
        return event

    return make
