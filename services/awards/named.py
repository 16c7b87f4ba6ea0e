"""The people register as other services see it (shared/personal.py ``People``): the holder of
each name a pledge or an initiative gives, so that the name goes into that service's event
sealed with its person's key, and erasing the person erases it there too (issue 14, point 2).

A name with the unit's staff number is the person registered under it; a name without one, or
with one no one holds, is a person made for it (``Person.named``): their particulars are
recorded later, by ``amendPerson``. The made people's events are encoded here, by the awards'
own registry, and appended by the asking command with its own, in one append.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from uuid import UUID

import asyncpg
from anyio import to_thread

from services.awards.domain import (
    UNRECORDED,
    Person,
    Personal,
    PersonErasedError,
    PersonTransferredError,
    check_personal,
    check_staff_number,
    named_person_id,
    plain_particulars,
)
from services.awards.projections import build_registry
from shared.db import planned_for_arguments
from shared.errors import DomainError
from shared.eventstore import NewEvent
from shared.personal import Holder, Holders, Named, keys_of, mint_keys, seal


class AwardsPeople:
    """``People`` over the awards' register (one per running Thi đua, Runtime.people)."""

    async def holders(
        self, conn: asyncpg.Connection, unit_id: str, named: Sequence[Named], on: date
    ) -> Holders:
        ids = [named_person_id(unit_id, n.staff_number, n.name) for n in named]
        known = await _known(conn, unit_id, list(dict.fromkeys(ids)))
        keys = await keys_of(conn, [key_id for key_id, _ in known.values()])
        first: dict[UUID, Named] = {}
        for person_id, given in zip(ids, named, strict=True):
            if person_id not in known:
                first.setdefault(person_id, given)
        refused: dict[UUID, DomainError] = {}
        made: dict[UUID, Holder] = {}
        events: list[NewEvent] = []
        if first:
            refused = _refused(first, on)
            wanted = [pid for pid in first if pid not in refused]
            minted = await mint_keys(conn, unit_id, len(wanted))
            made = {pid: Holder(pid, k, v) for pid, (k, v) in zip(wanted, minted, strict=True)}
            # Sealing thousands of names is CPU: in a worker thread, the event loop free.
            events = await to_thread.run_sync(_made, _pattern(unit_id, on), made, first)
        found: list[Holder | DomainError] = []
        for person_id in ids:
            if person_id in made:
                found.append(made[person_id])
            elif person_id in refused:
                found.append(refused[person_id])
            else:
                found.append(_holder(person_id, *known[person_id], keys))
        return Holders(found, events)


async def _known(
    conn: asyncpg.Connection, unit_id: str, ids: list[UUID]
) -> dict[UUID, tuple[UUID, str]]:
    """Each registered person among ``ids``: their key's id and status. Read as the asking
    command's caller; by key, planned for these very ids (a bulk pledge asks for thousands)."""
    if not ids:
        return {}
    async with planned_for_arguments(conn):
        rows = await conn.fetch(
            "SELECT person_id, key_id, status FROM people "
            "WHERE tenant_id = $1 AND person_id = ANY ($2::uuid[])",
            unit_id,
            ids,
        )
    return {r["person_id"]: (r["key_id"], r["status"]) for r in rows}


def _holder(
    person_id: UUID, key_id: UUID, status: str, keys: dict[UUID, bytes]
) -> Holder | DomainError:
    if status == "transferred":
        return PersonTransferredError(field="name")
    key = keys.get(key_id)
    if status == "erased" or key is None:  # no key: erased, or gone with a transfer
        return PersonErasedError(field="name")
    return Holder(person_id, key_id, key)


def _refused(first: dict[UUID, Named], on: date) -> dict[UUID, DomainError]:
    """The names that cannot make a person (a name or staff number the register refuses)."""
    refused: dict[UUID, DomainError] = {}
    for person_id, given in first.items():
        try:
            check_staff_number(given.staff_number)
            check_personal(Personal(given.name), on)
        except DomainError as error:
            refused[person_id] = error
    return refused


def _made(
    make: Callable[[UUID, Named, UUID, bytes], NewEvent],
    made: dict[UUID, Holder],
    first: dict[UUID, Named],
) -> list[NewEvent]:
    return [make(pid, first[pid], h.key_id, h.key) for pid, h in made.items()]


def _pattern(unit_id: str, on: date) -> Callable[[UUID, Named, UUID, bytes], NewEvent]:
    """Each made person's PersonRegistered event as ``Person.named`` and the registry's
    encoding make it, without an aggregate each (a bulk pledge may make thousands). The first
    goes through the aggregate and is compared with the pattern, so the pattern cannot drift
    from the domain unnoticed."""
    registry = build_registry()
    encode = registry.codec.encode
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
        event = NewEvent(person_id, 1, "PersonRegistered", data, 1)
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
