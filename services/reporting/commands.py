"""Commands that record what the plans measure and nothing else records: trainings, seminars,
good practices and their replications, inspections (services/reporting/domain.py). Each runs on
the platform's one command pipeline: decided on the caller's connection, appended, answered
once the projections show it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

import asyncpg

from services.reporting.domain import (
    RECORD_EVENTS,
    REPORT_EVENTS,
    GoodPractice,
    Inspection,
    RecordInvalid,
    Replication,
    Report,
    ReportInvalid,
    ReportRequest,
    Seminar,
    Training,
    report_id,
    request_id,
)
from services.reporting.summaries import read_figures
from shared import access
from shared.aggregates import EventRegistry
from shared.auth import Principal
from shared.clock import today
from shared.commands import Attempt, Commands
from shared.errors import NotFound
from shared.text import clean, clean_paragraphs

WRITERS = frozenset({"officer", "admin"})


@cache
def build_registry() -> EventRegistry:
    """Reporting's own events (its records); it reads every other service's as data."""
    registry = EventRegistry()
    for aggregate, events in (*RECORD_EVENTS, *REPORT_EVENTS):
        registry.register(aggregate, *events)
    registry.upcaster("ReportSubmitted", from_version=1)(_carrying_no_figures)
    return registry


def _carrying_no_figures(data: dict[str, Any]) -> dict[str, Any]:
    """A report sent before a sending carried its figures."""
    return {**data, "figures": None}


async def authorise(conn: asyncpg.Connection, actor: Principal | None) -> None:
    """Every record: an officer of a unit in the registry and active."""
    if actor is None or not actor.roles & WRITERS:
        raise access.Forbidden("Cần vai trò cán bộ thi đua (officer).")
    await access.require_active_unit(conn, actor)


def commands_of(runtime: Any, clock: Callable[[], date] = today) -> RecordCommands:
    return RecordCommands(runtime.pipeline.service(build_registry(), authorise=authorise), clock)


class _ReportingCommands:
    """Reporting's commands on the platform's pipeline, with the clock that dates them."""

    def __init__(self, commands: Commands, clock: Callable[[], date] = today) -> None:
        self.commands = commands
        self.clock = clock

    async def _run(self, actor: Principal, command: str, decide, key: str | None, given) -> Any:
        return await self.commands.run(actor, command, decide, idempotency_key=key, input=given)


class RecordCommands(_ReportingCommands):
    """What the plans measure and nothing else records."""

    async def hold_training(
        self,
        actor: Principal,
        *,
        title: str,
        held_on: date,
        attendees: int,
        cadres_trained: int,
        cadres: int,
        idempotency_key: str | None = None,
    ) -> uuid.UUID:
        title = clean(title)
        given = {
            "title": title,
            "held_on": held_on,
            "attendees": attendees,
            "cadres_trained": cadres_trained,
            "cadres": cadres,
        }

        async def decide(attempt: Attempt) -> uuid.UUID:
            record = Training.hold(unit_id=actor.tenant, today=self.clock(), **given)
            attempt.save(record)
            return record.id

        return await self._run(actor, "HoldTraining", decide, idempotency_key, given)

    async def hold_seminar(
        self,
        actor: Principal,
        *,
        topic: str,
        held_on: date,
        participants: int,
        idempotency_key: str | None = None,
    ) -> uuid.UUID:
        given = {"topic": clean(topic), "held_on": held_on, "participants": participants}

        async def decide(attempt: Attempt) -> uuid.UUID:
            record = Seminar.hold(unit_id=actor.tenant, today=self.clock(), **given)
            attempt.save(record)
            return record.id

        return await self._run(actor, "HoldSeminar", decide, idempotency_key, given)

    async def present_practice(
        self,
        actor: Principal,
        *,
        name: str,
        description: str,
        presented_on: date,
        idempotency_key: str | None = None,
    ) -> uuid.UUID:
        given = {
            "name": clean(name),
            "description": clean_paragraphs(description),
            "presented_on": presented_on,
        }

        async def decide(attempt: Attempt) -> uuid.UUID:
            record = GoodPractice.present(unit_id=actor.tenant, today=self.clock(), **given)
            attempt.save(record)
            return record.id

        return await self._run(actor, "PresentGoodPractice", decide, idempotency_key, given)

    async def replicate_practice(
        self,
        actor: Principal,
        *,
        practice_id: uuid.UUID,
        replicated_on: date,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> uuid.UUID:
        given = {"practice_id": practice_id, "replicated_on": replicated_on, "note": clean(note)}

        async def decide(attempt: Attempt) -> uuid.UUID:
            practice = await attempt.conn.fetchrow(
                "SELECT unit_id, presented_on FROM good_practices WHERE practice_id = $1",
                practice_id,
            )
            if practice is None:
                raise NotFound("Không có mô hình, cách làm hay này.")
            record = Replication.record(
                unit_id=actor.tenant,
                practice_unit=practice["unit_id"],
                presented_on=practice["presented_on"],
                today=self.clock(),
                **given,
            )
            try:
                await attempt.get(record.id)
            except NotFound:
                attempt.save(record)
                return record.id
            raise RecordInvalid("Đơn vị đã ghi nhận nhân rộng cách làm này.", field="practiceId")

        return await self._run(actor, "ReplicateGoodPractice", decide, idempotency_key, given)

    async def record_inspection(
        self,
        actor: Principal,
        *,
        inspected_unit: str,
        subject: str,
        held_on: date,
        findings: str,
        idempotency_key: str | None = None,
    ) -> uuid.UUID:
        given = {
            "inspected_unit": inspected_unit,
            "subject": clean(subject),
            "held_on": held_on,
            "findings": clean_paragraphs(findings),
        }

        async def decide(attempt: Attempt) -> uuid.UUID:
            below = await attempt.conn.fetchval(
                "SELECT 1 FROM unit_closure WHERE ancestor = $1 AND descendant = $2 "
                "AND depth > 0 AND valid_from <= $3 AND (valid_to IS NULL OR valid_to > $3)",
                actor.tenant,
                inspected_unit,
                held_on,
            )
            if below is None:  # not below the caller that day, or no such unit: not found
                raise NotFound("Không có đơn vị cấp dưới này vào ngày kiểm tra.")
            record = Inspection.record(unit_id=actor.tenant, today=self.clock(), **given)
            attempt.save(record)
            return record.id

        return await self._run(actor, "RecordInspection", decide, idempotency_key, given)


class ReportCommands(_ReportingCommands):
    """The period report: requested by a level, drafted, written section by section, sent up."""

    async def request(
        self,
        actor: Principal,
        *,
        first_year: int,
        last_year: int,
        due_on: date,
        note: str = "",
        idempotency_key: str | None = None,
    ) -> uuid.UUID:
        given = {
            "first_year": first_year,
            "last_year": last_year,
            "due_on": due_on,
            "note": clean_paragraphs(note),
        }

        async def decide(attempt: Attempt) -> uuid.UUID:
            rid = request_id(actor.tenant, first_year, last_year)
            try:
                held = await attempt.get(rid)
            except NotFound:
                asked = ReportRequest.request(unit_id=actor.tenant, **given)
                attempt.save(asked)
                return asked.id
            assert isinstance(held, ReportRequest)
            held.ask_again(due_on, given["note"])
            attempt.save(held)
            return held.id

        return await self._run(actor, "RequestReports", decide, idempotency_key, given)

    async def draft(
        self,
        actor: Principal,
        *,
        first_year: int,
        last_year: int,
        number: str = "",
        place: str = "",
        idempotency_key: str | None = None,
    ) -> uuid.UUID:
        """The unit's report of the period: drafted now, or the one it has (nothing written)."""
        given = {
            "first_year": first_year,
            "last_year": last_year,
            "number": clean(number),
            "place": clean(place),
        }

        async def decide(attempt: Attempt) -> uuid.UUID:
            rid = report_id(actor.tenant, first_year, last_year)
            try:
                await attempt.get(rid)
            except NotFound:
                report = Report.draft(unit_id=actor.tenant, today=self.clock(), **given)
                attempt.save(report)
            return rid

        return await self._run(actor, "DraftReport", decide, idempotency_key, given)

    async def _own(self, attempt: Attempt, rid: uuid.UUID) -> Report:
        """The caller's own report; anything else (another unit's, no such) not found."""
        found = await attempt.get(rid)
        if not isinstance(found, Report):
            raise NotFound(str(rid))
        return found

    async def write(
        self,
        actor: Principal,
        rid: uuid.UUID,
        *,
        section: str,
        text: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = {"report_id": rid, "section": section, "text": clean_paragraphs(text)}

        async def decide(attempt: Attempt) -> None:
            report = await self._own(attempt, rid)
            report.write(section, given["text"])
            attempt.save(report)

        await self._run(actor, "WriteReportSection", decide, idempotency_key, given)

    async def set_heading(
        self,
        actor: Principal,
        rid: uuid.UUID,
        *,
        number: str,
        place: str,
        idempotency_key: str | None = None,
    ) -> None:
        given = {"report_id": rid, "number": clean(number), "place": clean(place)}

        async def decide(attempt: Attempt) -> None:
            report = await self._own(attempt, rid)
            report.set_heading(given["number"], given["place"])
            attempt.save(report)

        await self._run(actor, "SetReportHeading", decide, idempotency_key, given)

    async def submit(
        self, actor: Principal, rid: uuid.UUID, *, idempotency_key: str | None = None
    ) -> None:
        """Sent to the unit's level above today, late or not by that level's request."""

        async def decide(attempt: Attempt) -> None:
            report = await self._own(attempt, rid)
            upper = await attempt.conn.fetchval(
                "SELECT parent_id FROM units WHERE tenant_id = $1", actor.tenant
            )
            if upper is None:
                raise ReportInvalid("Đơn vị không có cấp trên để gửi báo cáo.", field="reportId")
            due = await attempt.conn.fetchval(
                "SELECT due_on FROM report_requests WHERE unit_id = $1 AND first_year = $2 "
                "AND last_year = $3",
                upper,
                report.first_year,
                report.last_year,
            )
            # what the report says, read by the sender as it sends it (its own unit: readable)
            key = (actor.tenant, report.first_year, report.last_year, None)
            rows = (await read_figures(attempt.conn, [key]))[0]
            figures = [[r["year"], r["metric"], r["dim"], int(r["value"])] for r in rows or []]
            report.submit(upper, self.clock(), due, figures)
            attempt.save(report)

        await self._run(actor, "SubmitReport", decide, idempotency_key, {"report_id": rid})


def report_commands_of(runtime: Any, clock: Callable[[], date] = today) -> ReportCommands:
    return ReportCommands(runtime.pipeline.service(build_registry(), authorise=authorise), clock)
