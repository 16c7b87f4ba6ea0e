"""The awards commands. A unit's people: register one or many, amend, record that one left,
erase one on a legal request. The reference the national unit keeps for everyone (a new base
salary, a day marked off or working) and a federation's own rules.

Each runs through the command pipeline (shared/commands.py): an officer of an active unit, the
rules decided on one connection scoped to the caller, the events appended to the caller's own
log through the group commit, the answer given once the projection runner shows them. Personal
data is sealed before it reaches an event: a new person's key is minted on the decision's
connection (committed with it, before the append), and the sealed text goes into the event. A
refused command writes nothing, not even a key: the rules are checked before one is minted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import orjson

from services.awards.domain import (
    TRANSFERRED,
    BaseSalaryInvalid,
    BaseSalaryValue,
    CalendarDay,
    LocalRule,
    LocalRuleInvalid,
    Particulars,
    Person,
    Personal,
    PersonAlreadyRegistered,
    PersonErasedError,
    calendar_stream,
    check_particulars,
    check_personal,
    check_staff_number,
    leaving,
    person_id,
)
from services.awards.domain import (
    plain_particulars as _plain,
)
from services.awards.projections import build_registry
from services.awards.rules import BaseSalary, national_codes, shipped_base_salaries
from shared import access
from shared.auth import Principal
from shared.calendar import MarkedDay, WorkingCalendar
from shared.clock import today
from shared.commands import Attempt, Authorise, Commands, Decide, R
from shared.errors import NotFound
from shared.personal import keys_of, mint_keys, seal
from shared.text import clean, clean_paragraphs

WRITERS = frozenset({"officer", "admin"})
A = TypeVar("A")
FEDERATION_LEVELS = frozenset({"national", "provincial", "sector"})


def with_role(roles: frozenset[str], refusal: str) -> Authorise:
    """The check a command makes first: the caller holds one of ``roles`` (else FORBIDDEN,
    with ``refusal``) in a unit that is in the registry and active."""

    async def check(conn: asyncpg.Connection, actor: Principal | None) -> None:
        if actor is None or not actor.roles & roles:
            raise access.Forbidden(refusal)
        await access.require_active_unit(conn, actor)

    return check


# Most awards commands: an officer (or admin). Deciding and signing: the approver. A vote: a
# council member (that the subject sits on the session is the session's own check).
authorise = with_role(WRITERS, "Cần vai trò cán bộ thi đua (officer).")
approver = with_role(frozenset({"approver"}), "Cần vai trò người ký quyết định (approver).")
council_member = with_role(frozenset({"council"}), "Cần vai trò thành viên Hội đồng (council).")


_admin = with_role(frozenset({"admin"}), "Cần vai trò quản trị (admin) của Tổng Liên đoàn.")


async def national_admin(conn: asyncpg.Connection, actor: Principal | None) -> None:
    """The reference everyone uses is kept by an admin of the national unit."""
    await _admin(conn, actor)
    assert actor is not None
    if await level_of(conn, actor.tenant) != "national":
        raise access.Forbidden("Chỉ Tổng Liên đoàn giữ dữ liệu dùng chung.")


async def federation_officer(conn: asyncpg.Connection, actor: Principal | None) -> None:
    """A federation's own rules: an officer or admin of a provincial or sector federation (or
    of the national unit)."""
    await authorise(conn, actor)
    assert actor is not None
    if await level_of(conn, actor.tenant) not in FEDERATION_LEVELS:
        raise access.Forbidden(
            "Chỉ LĐLĐ tỉnh, công đoàn ngành hay Tổng Liên đoàn đặt quy định riêng."
        )


async def level_of(conn: asyncpg.Connection, unit: str) -> str:
    return await conn.fetchval("SELECT level FROM units WHERE tenant_id = $1", unit) or ""


async def added_base_salaries(conn: asyncpg.Connection) -> list[BaseSalary]:
    """The base salary's values an admin added (the shipped ones are services/awards/data's)."""
    rows = await conn.fetch("SELECT amount_vnd, effective_from, source FROM base_salaries")
    return [BaseSalary(r["amount_vnd"], r["effective_from"], r["source"]) for r in rows]


async def working_calendar(conn: asyncpg.Connection) -> WorkingCalendar:
    """The working days, with the days the national unit's admin marked."""
    rows = await conn.fetch("SELECT day, working, reason FROM calendar_days")
    return WorkingCalendar(MarkedDay(r["day"], r["working"], r["reason"]) for r in rows)


async def own(attempt: Attempt, aggregate_id: UUID, kind: type[A]) -> A:
    """An aggregate of ``kind`` in the caller's own log; anything else, or nothing, is not
    found."""
    try:
        found = await attempt.get(aggregate_id)
    except NotFound:
        found = None
    if not isinstance(found, kind):
        raise NotFound(str(aggregate_id), id=str(aggregate_id))
    return found


def commands_of(runtime: Any, clock: Callable[[], date] = today) -> AwardsCommands:
    """The awards commands of a running Thi đua, from its one command pipeline."""
    return AwardsCommands(runtime.pipeline.service(build_registry(), authorise=authorise), clock)


def cleaned_personal(personal: Personal) -> Personal:
    return Personal(
        full_name=clean(personal.full_name),
        birth_year=personal.birth_year,
        contacts=tuple(c for c in (clean(x) for x in personal.contacts) if c),
    )


def cleaned_particulars(particulars: Particulars) -> Particulars:
    return replace(particulars, post=clean(particulars.post))


def _given(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A command's input as an idempotency key's fingerprint sees it."""
    return {k: v for k, v in arguments.items() if k not in {"self", "actor", "idempotency_key"}}


class AwardsCommands:
    def __init__(self, commands: Commands, clock: Callable[[], date] = today) -> None:
        self.commands = commands
        self.clock = clock

    async def _run(
        self,
        actor: Principal,
        command: str,
        decide: Decide[R],
        idempotency_key: str | None,
        given: Mapping[str, Any],
    ) -> R:
        return await self.commands.run(
            actor, command, decide, idempotency_key=idempotency_key, input=given
        )

    async def _on_person(
        self,
        actor: Principal,
        person: UUID,
        command: str,
        change: Callable[[Person], None],
        idempotency_key: str | None,
        given: Mapping[str, Any],
    ) -> None:
        """A command that changes one person of the caller's own unit by one of its methods."""

        async def decide(attempt: Attempt) -> None:
            found = await _own(attempt, person)
            change(found)
            attempt.save(found)

        await self._run(actor, command, decide, idempotency_key, given)

    async def set_base_salary(
        self,
        actor: Principal,
        *,
        amount_vnd: int,
        effective_from: date,
        source: str,
        idempotency_key: str | None = None,
    ) -> None:
        """A new value of the base salary from a day on; a day that already has one is refused
        (the stream of that day exists: a conflict, decided again, then refused)."""
        given = _given(locals())

        async def decide(attempt: Attempt) -> None:
            taken = await attempt.conn.fetchval(
                "SELECT 1 FROM base_salaries WHERE effective_from = $1", effective_from
            )
            if taken or await _exists(
                attempt, BaseSalaryValue.create_id(effective_from=effective_from)
            ):
                raise BaseSalaryInvalid("Ngày này đã có mức lương cơ sở.", field="effectiveFrom")
            shipped = [v.effective_from for v in shipped_base_salaries()]
            attempt.save(
                BaseSalaryValue.set(
                    amount_vnd=amount_vnd,
                    effective_from=effective_from,
                    source=clean(source),
                    shipped=shipped,
                    today=self.clock(),
                )
            )

        await self.commands.run(
            actor,
            "SetBaseSalary",
            decide,
            authorise=national_admin,
            idempotency_key=idempotency_key,
            input=given,
        )

    async def mark_calendar_day(
        self,
        actor: Principal,
        *,
        on: date,
        working: bool,
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        """A day off the public calendar lacks, or a make-up working day; marked again to change
        it."""
        given = _given(locals())

        async def decide(attempt: Attempt) -> None:
            try:
                day = await attempt.get(calendar_stream(on))
            except NotFound:
                attempt.save(CalendarDay.mark(on=on, working=working, reason=clean(reason)))
                return
            assert isinstance(day, CalendarDay)
            day.remark(working=working, reason=clean(reason))
            attempt.save(day)

        await self.commands.run(
            actor,
            "MarkCalendarDay",
            decide,
            authorise=national_admin,
            idempotency_key=idempotency_key,
            input=given,
        )

    async def add_local_rule(
        self,
        actor: Principal,
        *,
        code: str,
        kind: str,
        message: str,
        numbers: Mapping[str, int],
        effective_from: date,
        source: str,
        idempotency_key: str | None = None,
    ) -> UUID:
        given = _given(locals())

        async def decide(attempt: Attempt) -> UUID:
            if clean(code).upper() in national_codes():
                raise LocalRuleInvalid(
                    "Mã trùng một quy tắc của bộ quy tắc chung: chọn mã khác.", field="code"
                )
            rule = LocalRule.add(
                unit_id=actor.tenant,
                code=clean(code),
                kind=kind,
                message=clean_paragraphs(message),
                numbers=dict(numbers),
                effective_from=effective_from,
                source=clean(source),
            )
            attempt.save(rule)
            return rule.id

        return await self.commands.run(
            actor,
            "AddLocalRule",
            decide,
            authorise=federation_officer,
            idempotency_key=idempotency_key,
            input=given,
        )

    async def end_local_rule(
        self,
        actor: Principal,
        rule_id: UUID,
        *,
        on: date,
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())

        async def decide(attempt: Attempt) -> None:
            rule = await own(attempt, rule_id, LocalRule)
            rule.end(on=on, reason=clean_paragraphs(reason))
            attempt.save(rule)

        await self.commands.run(
            actor,
            "EndLocalRule",
            decide,
            authorise=federation_officer,
            idempotency_key=idempotency_key,
            input=given,
        )

    async def register_person(
        self,
        actor: Principal,
        *,
        staff_number: str,
        personal: Personal,
        particulars: Particulars,
        idempotency_key: str | None = None,
    ) -> UUID:
        # The fingerprint leaves the personal data out: it outlives an erasure (a repeat with
        # another name under the same key answers as the first did).
        given = {"staff_number": staff_number, "particulars": _plain(particulars)}
        staff = clean(staff_number)
        personal, particulars = cleaned_personal(personal), cleaned_particulars(particulars)

        async def decide(attempt: Attempt) -> UUID:
            on = self.clock()
            pid = person_id(actor.tenant, staff)
            if staff and await _exists(attempt, pid):
                if await _completed(attempt, {pid: (personal, particulars)}, on):
                    return pid
                raise PersonAlreadyRegistered(staff[:64], staff_number=staff[:64])
            people = await _sealed_people(attempt, [(staff, personal, particulars)], on)
            attempt.save(*people)
            return people[0].id

        return await self._run(actor, "RegisterPerson", decide, idempotency_key, given)

    async def register_many(
        self, actor: Principal, given: Sequence[tuple[str, Personal, Particulars]]
    ) -> tuple[int, int]:
        """People already checked and cleaned (services/awards/bulk.py), each with a staff
        number: those the unit's log lacks are registered in one append. Answers how many were
        written and how many were already there (sent again: nothing written for them). A
        person made for a name alone (a pledge's, services/awards/named.py) is completed with
        the row's particulars, and counts as written."""

        async def decide(attempt: Attempt) -> tuple[int, int]:
            ids = [person_id(actor.tenant, staff) for staff, _, _ in given]
            known = await _known(attempt.conn, attempt.tenant_id, ids)
            new = [g for g, pid in zip(given, ids, strict=True) if pid not in known]
            if new:
                attempt.save(*await _sealed_people(attempt, new, self.clock()))
            again = {pid: (g[1], g[2]) for g, pid in zip(given, ids, strict=True) if pid in known}
            completed = await _completed(attempt, again, self.clock())
            return len(new) + completed, len(given) - len(new) - completed

        return await self.commands.run(actor, "RegisterPeople", decide)

    async def amend_person(
        self,
        actor: Principal,
        person: UUID,
        *,
        personal: Personal,
        particulars: Particulars,
        idempotency_key: str | None = None,
    ) -> None:
        given = {"person": person, "particulars": _plain(particulars)}  # no personal data
        personal, particulars = cleaned_personal(personal), cleaned_particulars(particulars)

        async def decide(attempt: Attempt) -> None:
            found = await _own(attempt, person)
            on = self.clock()
            found.check_active()
            check_personal(personal, on)
            check_particulars(particulars, on)
            key = (await keys_of(attempt.conn, [found.key_id])).get(found.key_id)
            if key is None:  # erased, its event not yet applied
                raise PersonErasedError()
            sealed = seal(key, found.key_id, personal.as_sealable())
            found.amend(personal=personal, particulars=particulars, sealed=sealed, on=on)
            attempt.save(found)

        await self._run(actor, "AmendPerson", decide, idempotency_key, given)

    async def record_leaving(
        self,
        actor: Principal,
        person: UUID,
        *,
        on: date,
        reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        # The reason is written about the person: its length, never its text, in a fingerprint
        # that outlives an erasure.
        given = {"person": person, "on": on, "reason": len(reason)}

        async def decide(attempt: Attempt) -> None:
            found = await _own(attempt, person)
            found.check_active()
            key = (await keys_of(attempt.conn, [found.key_id])).get(found.key_id)
            if key is None:  # erased, its event not yet applied
                raise PersonErasedError()
            why = clean_paragraphs(reason)
            found.leave(
                on=on, reason=why, today=self.clock(), sealed=seal(key, found.key_id, leaving(why))
            )
            attempt.save(found)

        await self._run(actor, "RecordLeaving", decide, idempotency_key, given)

    async def set_absence(
        self,
        actor: Principal,
        person: UUID,
        *,
        year: int,
        working_days: int,
        idempotency_key: str | None = None,
    ) -> None:
        """The working days the person was away in ``year``, maternity leave not counted."""
        given = _given(locals())

        def change(found: Person) -> None:
            found.set_absence(year=year, working_days=working_days, today=self.clock())

        await self._on_person(actor, person, "SetAbsence", change, idempotency_key, given)

    async def record_discipline(
        self,
        actor: Principal,
        person: UUID,
        *,
        on: date,
        form: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())

        def change(found: Person) -> None:
            found.record_discipline(on=on, form=form, today=self.clock())

        await self._on_person(actor, person, "RecordDiscipline", change, idempotency_key, given)

    async def transfer_person(
        self,
        actor: Principal,
        person: UUID,
        *,
        to_unit: str,
        on: date,
        idempotency_key: str | None = None,
    ) -> None:
        """The person moves to ``to_unit`` (an active unit anywhere in the union): their record
        here closes; that unit receives them (:meth:`receive_person`)."""
        given = _given(locals())

        async def decide(attempt: Attempt) -> None:
            found = await _own(attempt, person)
            target = await attempt.conn.fetchrow(
                "SELECT status FROM thidua_registry_units($1::text[])", [to_unit[:64]]
            )
            if target is None or target["status"] != "active":
                raise NotFound(to_unit[:64], id=to_unit[:64])
            found.transfer(to_unit=to_unit, on=on, today=self.clock())
            attempt.save(found)

        await self._run(actor, "TransferPerson", decide, idempotency_key, given)

    async def receive_person(
        self,
        actor: Principal,
        person: UUID,
        *,
        staff_number: str | None = None,
        idempotency_key: str | None = None,
    ) -> UUID:
        """A person another unit sent to the caller's: registered here (under ``staff_number``,
        by default the one they had) with their key, which now belongs to this unit, their
        personal data sealed again by it. The key's move and the registration are one
        transaction. A person not sent here is not found."""
        given = _given(locals())

        async def decide(attempt: Attempt) -> UUID:
            offered = await attempt.conn.fetchval(
                "SELECT staff_number FROM thidua_incoming_people() WHERE person_id = $1", person
            )
            if offered is None:
                raise NotFound(str(person), id=str(person))
            staff = clean(staff_number) if staff_number is not None else offered
            check_staff_number(staff)
            new_id = person_id(attempt.tenant_id, staff)
            former = await _found(attempt, new_id) if staff else None
            if former is not None and former.status != TRANSFERRED:
                raise PersonAlreadyRegistered(staff)
            # Taken under its row's lock: of two receivers at once, the second finds no row.
            sent = await attempt.conn.fetchrow(
                "SELECT * FROM thidua_take_transfer($1, $2)", person, new_id
            )
            if sent is None:
                raise NotFound(str(person), id=str(person))
            key = (await keys_of(attempt.conn, [sent["key_id"]])).get(sent["key_id"])
            if key is None or sent["full_name"] is None:  # erased meanwhile
                raise PersonErasedError()
            personal = Personal(
                sent["full_name"], sent["birth_year"], tuple(orjson.loads(sent["contacts"]))
            )
            came = {
                "particulars": Particulars(
                    sent["gender"],
                    sent["ethnic_minority"],
                    sent["post"],
                    sent["direct_worker"],
                    sent["cadre"],
                    sent["cadre_since"],
                    sent["employed_since"],
                ),
                "key_id": sent["key_id"],
                "sealed": seal(key, sent["key_id"], personal.as_sealable()),
                "on": self.clock(),
                "from_unit": sent["from_unit"],
                "from_person": person,
                "from_version": sent["version"],
            }
            if former is not None:  # back where they were: the rollback undoes the take
                former.come_back(**came)
                attempt.save(former)
                return former.id
            arrived = Person.arrive(
                unit_id=attempt.tenant_id, staff_number=staff, new_id=new_id, **came
            )
            attempt.save(arrived)
            return arrived.id

        return await self.commands.run_in_transaction(
            actor,
            "ReceivePerson",
            decide,
            authorise=authorise,
            idempotency_key=idempotency_key,
            input=given,
        )

    async def erase_person(
        self,
        actor: Principal,
        person: UUID,
        *,
        legal_reason: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = _given(locals())

        async def decide(attempt: Attempt) -> None:
            found = await _own(attempt, person)
            # Sent elsewhere and not yet received, the person is still this unit's to erase.
            received = await attempt.conn.fetchval(
                "SELECT received_as IS NOT NULL FROM people WHERE tenant_id = $1 "
                "AND person_id = $2",
                attempt.tenant_id,
                person,
            )
            found.erase(
                legal_reason=clean_paragraphs(legal_reason),
                on=self.clock(),
                received=bool(received),
            )
            attempt.save(found)

        await self._run(actor, "ErasePerson", decide, idempotency_key, given)


async def _exists(attempt: Attempt, pid: UUID) -> bool:
    return await _found(attempt, pid) is not None


async def _found(attempt: Attempt, pid: UUID) -> Person | None:
    try:
        return await attempt.get(pid)
    except NotFound:
        return None


async def _own(attempt: Attempt, pid: UUID) -> Person:
    """A person of the caller's own unit; anyone else's, or no one, is not found."""
    return await own(attempt, pid, Person)


async def _completed(
    attempt: Attempt, given: dict[UUID, tuple[Personal, Particulars]], on: date
) -> int:
    """Of the registered people ``given`` again, those made for a name alone (their gender not
    yet recorded, as the register shows) amended with what is given now; how many."""
    if not given:
        return 0
    rows = await attempt.conn.fetch(
        "SELECT person_id FROM people WHERE tenant_id = $1 AND person_id = ANY ($2::uuid[]) "
        "AND gender = '' AND status = 'active'",
        attempt.tenant_id,
        list(given),
    )
    people = [await _own(attempt, r["person_id"]) for r in rows]
    people = [p for p in people if not p.complete]
    keys = await keys_of(attempt.conn, [p.key_id for p in people])
    for person in people:
        personal, particulars = given[person.id]
        key = keys.get(person.key_id)
        if key is None:  # erased, its event not yet applied
            continue
        sealed = seal(key, person.key_id, personal.as_sealable())
        person.amend(personal=personal, particulars=particulars, sealed=sealed, on=on)
    done = [p for p in people if p.pending_events]
    attempt.save(*done)
    return len(done)


async def _sealed_people(
    attempt: Attempt,
    given: Sequence[tuple[str, Personal, Particulars]],
    on: date,
) -> list[Person]:
    """New people of the caller's unit, each checked first, then sealed with a key of their
    own, minted in one statement."""
    for staff, personal, particulars in given:
        check_staff_number(staff)
        check_personal(personal, on)
        check_particulars(particulars, on)
    keys = await mint_keys(attempt.conn, attempt.tenant_id, len(given))
    return [
        Person.register(
            unit_id=attempt.tenant_id,
            staff_number=staff,
            personal=personal,
            particulars=particulars,
            key_id=key_id,
            sealed=seal(key, key_id, personal.as_sealable()),
            on=on,
        )
        for (staff, personal, particulars), (key_id, key) in zip(given, keys, strict=True)
    ]


async def _known(conn: asyncpg.Connection, tenant_id: str, ids: Sequence[UUID]) -> set[UUID]:
    """Which of these people's streams the unit's log already has (its own log: the caller
    reads it)."""
    rows = await conn.fetch(
        "SELECT stream_id FROM events WHERE tenant_id = $1 AND stream_id = ANY ($2::uuid[]) "
        "AND stream_version = 1",
        tenant_id,
        list(ids),
    )
    return {r["stream_id"] for r in rows}
