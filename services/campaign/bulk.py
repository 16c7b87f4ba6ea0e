"""Pledges in bulk (giao ước thi đua, đăng ký danh hiệu): a unit records the pledges of its
people and collectives in a campaign, thousands in one call, from a GraphQL list or an uploaded
CSV or XLSX file (services/campaign/uploads.py).

Each row is checked on its own: the good rows' events are appended (the projection runner
writes their rows, services/campaign/projections.py batching a run of them), every bad one is
named by its row number with its error's code and message. A pledge's id follows from the campaign, the unit, who
pledges and the title, so a row already recorded is left as it is: sending the same rows again
writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import IO, Any
from uuid import UUID

import asyncpg
from anyio import to_thread

from services.campaign.commands import CampaignCommands
from services.campaign.domain import (
    CampaignFacts,
    Pledge,
    SealedName,
    TitleUnknown,
    check_pledge,
    pledge_id,
)
from services.campaign.rules import PERSON, subject_of, title_of
from shared.aggregates import EventRegistry
from shared.auth import Principal
from shared.bulk import MAX_ERRORS_SHOWN, BulkResult, BulkTooLarge, RowError
from shared.commands import Attempt
from shared.db import planned_for_arguments
from shared.errors import DomainError
from shared.eventstore import EventStore, NewEvent, PreparedAppend
from shared.personal import Holder, Named, seal_name
from shared.text import clean
from shared.uploads import TableLimits, read_records

_CHUNK = 2_000
_LOOKUP = 10_000  # ids asked for at once: the loop encodes and decodes them between others


class DuplicateRow(DomainError):
    code = "PLEDGE_DUPLICATE_ROW"
    message_vi = "Dòng này trùng một dòng trước."


@dataclass(frozen=True, slots=True)
class PledgeRow:
    """A row as it was given: ``row`` is its number as its sender sees it (a file's line, the
    header being line 1; a list's position from 1)."""

    row: int
    subject: str
    name: str
    title: str
    ref: str = ""


@dataclass(frozen=True, slots=True)
class _Good:
    row: int
    pledge_id: UUID
    subject: str
    name: str
    ref: str
    title: str
    holder: Holder | None = None  # a person's: whose key seals the name

    def held(self, holder: Holder, pledge_id: UUID | None = None) -> _Good:
        """This row with its holder (and the pledge id that follows from it): made directly,
        as ``dataclasses.replace`` for 100,000 rows took 0.35 s of the event loop."""
        return _Good(
            self.row,
            pledge_id or self.pledge_id,
            self.subject,
            self.name,
            self.ref,
            self.title,
            holder,
        )


def check_rows(
    rows: Iterable[PledgeRow], facts: CampaignFacts, unit_id: str
) -> tuple[list[_Good], list[RowError]]:
    """Every row checked by the domain's rules, words turned into codes, and repeats within the
    call named; nothing read or written."""
    good: list[_Good] = []
    errors: list[RowError] = []
    first_row: dict[UUID, int] = {}
    for given in rows:
        try:
            checked = _check_row(given, facts, unit_id)
            if checked.pledge_id in first_row:
                raise DuplicateRow(f"Trùng dòng {first_row[checked.pledge_id]}.")
        except DomainError as exc:
            errors.append(RowError.of(given.row, exc))
            continue
        first_row[checked.pledge_id] = given.row
        good.append(checked)
    return good, errors


def _check_row(given: PledgeRow, facts: CampaignFacts, unit_id: str) -> _Good:
    name, ref, raw_title = clean(given.name), clean(given.ref), clean(given.title)
    title = title_of(raw_title)
    if title is None:
        raise TitleUnknown(raw_title[:100], field="title")
    raw_subject = clean(given.subject)
    subject = subject_of(raw_subject) if raw_subject else title.subject
    subject = subject or raw_subject  # an unknown word: the domain names it
    check_pledge(subject, name, ref, title.code)  # Pledge.register's own rules, row by row
    return _Good(
        given.row,
        pledge_id(facts.campaign_id, unit_id, subject, name, ref, title.code),
        subject,
        name,
        ref,
        title.code,
    )


async def register_pledges(
    commands: CampaignCommands,
    actor: Principal,
    campaign_id: UUID,
    rows: Sequence[PledgeRow],
    *,
    max_rows: int,
) -> BulkResult:
    """Record ``rows`` as pledges in the caller's unit, under a campaign of its own or a launched
    one of a unit above. The good rows' events are appended in one transaction (the command
    pipeline's, shared/commands.py: a call that loses a race with the same rows sent at once is
    decided again once the projection shows them, and finds them written); the projection
    runner writes their rows, and the answer waits for it."""
    if len(rows) > max_rows:
        raise BulkTooLarge(f"{len(rows)} > {max_rows}.", limit=max_rows)

    async def decide(attempt: Attempt) -> BulkResult:
        return await _register(commands, attempt, actor, campaign_id, rows)

    return await commands.commands.run_in_transaction(actor, "RegisterPledges", decide)


async def authorise_pledges(
    commands: CampaignCommands, actor: Principal, campaign_id: UUID
) -> None:
    """What ``register_pledges`` checks before its first row, checked alone so that an upload
    is read only for a caller who may pledge: an officer of an active unit, under a campaign of
    its own or a launched one of a unit above, still open. Writes nothing; ``register_pledges``
    checks again in its own transaction."""

    async def decide(attempt: Attempt) -> None:
        facts = await commands.campaign_facts(attempt.conn, actor, campaign_id, own=True)
        facts.check_open()

    await commands.commands.run(actor, "AuthorisePledges", decide)


async def _register(
    commands: CampaignCommands,
    attempt: Attempt,
    actor: Principal,
    campaign_id: UUID,
    rows: Sequence[PledgeRow],
) -> BulkResult:
    """The decision and its appends, in the pipeline's transaction."""
    conn = attempt.conn
    facts = await commands.campaign_facts(conn, actor, campaign_id, own=True)
    facts.check_open()
    # Most of a second for 100,000 rows, reading nothing: in a worker thread, so that the
    # event loop serves every other request meanwhile (this connection waits idle).
    good, errors = await to_thread.run_sync(check_rows, rows, facts, actor.tenant)
    # Recorded already (by a staff number, a collective's name, or a person's name before names
    # were sealed): left as they are, and no one is looked up or made for them.
    existing = await _existing(conn, actor.tenant, campaign_id, good)
    new = [g for g in good if g.pledge_id not in existing]
    new, made = await _holders(commands, conn, facts, actor.tenant, new, errors)
    # A person's pledge without a staff number is known by its person: recorded already?
    renamed = [g for g in new if g.subject == PERSON and not g.ref]
    again = await _existing(conn, actor.tenant, campaign_id, renamed)
    new = [g for g in new if g.pledge_id not in again]
    if new:
        await _write(commands, attempt, actor, facts, new, made)
    return BulkResult(
        received=len(rows),
        written=len(new),
        unchanged=len(existing) + len(again),
        error_count=len(errors),
        errors=errors[:MAX_ERRORS_SHOWN],
    )


async def _holders(
    commands: CampaignCommands,
    conn: asyncpg.Connection,
    facts: CampaignFacts,
    tenant: str,
    new: list[_Good],
    errors: list[RowError],
) -> tuple[list[_Good], list[NewEvent]]:
    """The new rows, each person's with its holder (shared/personal.py: whose key seals the
    name; without a staff number, its id now follows from that person), and the events of the
    people made for names no one holds. A name the register refuses (an erased person's, one
    that several people bear) is its row's error, added to ``errors`` in row order."""
    people = [g for g in new if g.subject == PERSON]
    if not people:
        return new, []
    named = [Named(g.name, g.ref) for g in people]
    found = await commands.people.holders(
        conn, tenant, named, commands.clock(), commands.settle(conn, tenant)
    )
    holders: dict[int, Holder] = {}
    for g, holder in zip(people, found.found, strict=True):
        if isinstance(holder, DomainError):
            field = holder.context.get("field")
            holder.context["field"] = "ref" if field == "staffNumber" else "name"
            errors.append(RowError.of(g.row, holder))
        else:
            holders[g.row] = holder
    errors.sort(key=lambda e: e.row)
    kept = []
    for g in new:
        if g.subject != PERSON:
            kept.append(g)
        elif g.row in holders:
            h = holders[g.row]
            if g.ref:  # known by its staff number, whoever holds it
                kept.append(g.held(h))
                continue
            pid = pledge_id(
                facts.campaign_id, tenant, g.subject, g.name, g.ref, g.title, h.person_id
            )
            kept.append(g.held(h, pid))
    return kept, found.made


async def _existing(
    conn: asyncpg.Connection, tenant: str, campaign_id: UUID, good: list[_Good]
) -> set[UUID]:
    """The pledges among ``good`` already recorded, asked for a part at a time: 100,000 ids in
    one statement held the event loop for most of a tenth of a second, encoding and decoding.
    The read model may lag the log (a bulk pledge of another request just committed): a pledge
    missed here conflicts on its stream when appended, and the pipeline decides again once the
    projection has caught up."""
    found: set[UUID] = set()
    # Planned for these very ids (shared/db.py): a generic plan searched the array once for
    # every row of the table, 2 s for 10,000 ids; planned for them, 20 ms.
    async with planned_for_arguments(conn):
        for start in range(0, len(good), _LOOKUP):
            rows = await conn.fetch(
                "SELECT pledge_id FROM campaign_pledges WHERE tenant_id = $1 "
                "AND campaign_id = $2 AND pledge_id = ANY ($3::uuid[])",
                tenant,
                campaign_id,
                [g.pledge_id for g in good[start : start + _LOOKUP]],
            )
            found.update(r["pledge_id"] for r in rows)
    return found


async def _write(
    commands: CampaignCommands,
    attempt: Attempt,
    actor: Principal,
    facts: CampaignFacts,
    new: list[_Good],
    people: list[NewEvent],
) -> None:
    """The people made for the names (``people``), then the new pledges' events, chunk by
    chunk, sent as the decision's own parts (shared/commands.py ``Attempt.send_prepared``).
    The database stores one chunk while a worker thread makes the next (its events encoded, a
    person's name sealed): two cores, both busy, and the event loop, which only sends them,
    free for other requests. The first chunk guards the campaign at the version the facts
    show; the locks it takes hold to the commit, so the later ones need not."""
    on = commands.clock()
    make = _pattern(facts, actor.tenant, on, new[0], commands.repository.registry)
    meta = attempt.sending_meta()
    pledges = partial(_made, commands.store, actor.tenant, make, meta)
    chunks: list[Callable[[], PreparedAppend]] = [
        partial(commands.store.prepare, actor.tenant, people[start : start + _CHUNK], meta)
        for start in range(0, len(people), _CHUNK)
    ]
    chunks += [
        partial(pledges, new[start : start + _CHUNK]) for start in range(0, len(new), _CHUNK)
    ]
    attempt.guard(facts.unit_id, facts.campaign_id, facts.version)
    for chunk in chunks:
        # Awaiting the thread also lets the chunk in flight go out meanwhile.
        await attempt.send_prepared(await to_thread.run_sync(chunk))


def _made(
    store: EventStore,
    tenant: str,
    make: Callable[[_Good], NewEvent],
    meta: dict[str, Any],
    chunk: list[_Good],
) -> PreparedAppend:
    """A chunk's events, checked and encoded for the store; touches no connection, so it may
    run in a worker thread."""
    return store.prepare(tenant, [make(g) for g in chunk], meta)


def _pattern(
    facts: CampaignFacts,
    unit_id: str,
    on,
    sample: _Good,
    registry: EventRegistry,
) -> Callable[[_Good], NewEvent]:
    """Each row's PledgeRegistered event as ``Pledge.register`` and the registry's encoding
    make it (every row has been through ``Pledge.register`` in ``check_rows``), a person's name
    sealed with their holder's key. The sample goes through the aggregate itself and is
    compared with the pattern, so the pattern cannot drift from the domain unnoticed."""
    encode = registry.codec.encode
    schema = registry.schema_version("PledgeRegistered")
    campaign = encode(facts.campaign_id)
    registered_on = encode(on)

    def sealed_of(g: _Good) -> SealedName | None:
        holder = g.holder
        if holder is None:
            return None
        return SealedName(holder.person_id, holder.key_id, seal_name(holder, g.name))

    def event(g: _Good, sealed: SealedName | None, late: bool) -> NewEvent:
        data = {
            "campaign_id": campaign,
            "campaign_unit": facts.unit_id,
            "unit_id": unit_id,
            "subject": g.subject,
            "name": "" if sealed else g.name,
            "person_id": encode(sealed.person_id) if sealed else None,
            "key_id": encode(sealed.key_id) if sealed else None,
            "sealed": sealed.sealed if sealed else "",
            "ref": g.ref,
            "title": g.title,
            "registered_on": registered_on,
            "late": late,
        }
        return NewEvent(g.pledge_id, 1, "PledgeRegistered", data, schema)

    sealed = sealed_of(sample)
    pledge = Pledge.register(
        facts,
        unit_id=unit_id,
        subject=sample.subject,
        name=sample.name,
        ref=sample.ref,
        title=sample.title,
        on=on,
        sealed=sealed,
    )
    [expected] = [registry.encode(e) for e in pledge.collect_events()]
    late = expected.data["late"]
    if event(sample, sealed, late) != expected:
        raise RuntimeError("PledgeRegistered has changed shape: update bulk._pattern.")
    return lambda g: event(g, sealed_of(g), late)


# --- files -------------------------------------------------------------------------------------

# A column's header, as a user may write it (compared without diacritics or case).
_HEADERS = {
    "subject": "subject",
    "doi tuong": "subject",
    "loai": "subject",
    "name": "name",
    "ho ten": "name",
    "ho va ten": "name",
    "ten": "name",
    "ten tap the": "name",
    "ho ten / ten tap the": "name",
    "ref": "ref",
    "ma": "ref",
    "ma so": "ref",
    "ma nhan vien": "ref",
    "ma doan vien": "ref",
    "title": "title",
    "danh hieu": "title",
    "danh hieu dang ky": "title",
}
_REQUIRED = {"name": "họ tên", "title": "danh hiệu"}


def read_file(file: IO[bytes], *, max_rows: int) -> list[PledgeRow]:
    """Rows of a CSV (UTF-8, comma or semicolon) or XLSX (first sheet) file whose first line
    with a value names the columns: ``name`` and ``title`` at least (họ tên, danh hiệu),
    ``subject`` (đối tượng: cá nhân / tập thể; else the title's) and ``ref`` (mã) if wanted.
    Read by the guarded reader (shared/uploads.py, its limits there), only the four columns
    kept: call it in a worker thread."""
    records = read_records(file, TableLimits(max_rows=max_rows), _HEADERS, _REQUIRED)
    repeated: dict[str, str] = {}
    return [
        PledgeRow(
            row=number,
            subject=_once(repeated, values.get("subject", "")),
            name=values["name"],
            title=_once(repeated, values["title"]),
            ref=values.get("ref", ""),
        )
        for number, values in records
    ]


def _once(seen: dict[str, str], value: str) -> str:
    """One string for the few values a column repeats on every row (a subject, a title): a
    third less memory for a large file."""
    if len(seen) < 1_000:
        return seen.setdefault(value, value)
    return seen.get(value, value)
