"""GraphQL for auditors: a unit's event history and the verification of its hash chain, for the
caller's own unit and the units below it (role ``auditor``; shared/access.py)."""

from __future__ import annotations

from datetime import datetime

import orjson
import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from services.gateway.verifications import verifications_of
from shared import access
from shared.access import principal_of
from shared.errors import InvalidInput, NotFound
from shared.eventstore import check_tenant

MAX_EVENTS = 500


@strawberry.type(description="Kết quả kiểm tra chuỗi băm của một đơn vị.")
class Verification:
    unit_id: strawberry.ID
    ok: bool
    count: int = strawberry.field(description="Số sự kiện đã kiểm.")
    head_seq: int
    head_hash: str = strawberry.field(description="Mã băm đầu chuỗi (hex).")
    bad_seq: int | None = strawberry.field(description="Số thứ tự đầu tiên bị sai, nếu có.")
    problem: str | None = strawberry.field(description="changed, missing, reordered, …")


@strawberry.type(description="Một sự kiện trong nhật ký của đơn vị, như đã lưu.")
class LoggedEvent:
    seq: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    data: JSON
    meta: JSON
    recorded_at: datetime
    prev_hash: str
    hash: str


def _checked(unit_id: str) -> None:
    try:
        check_tenant(unit_id)
    except Exception:
        raise NotFound(str(unit_id)[:80]) from None


async def _auditable(info: Info, unit_id: str) -> None:
    principal = principal_of(info)
    _checked(unit_id)
    async with access.reading(info) as conn:
        await access.require_auditable(conn, principal, unit_id, whole_log=True)


@strawberry.type
class AuditQuery:
    @strawberry.field(description="Kiểm tra lại chuỗi băm của một đơn vị (vai trò auditor).")
    async def verification(self, info: Info, unit_id: strawberry.ID) -> Verification:
        await _auditable(info, unit_id)
        # The whole chain, read as the unit itself: a verdict on part of a log would say
        # "missing". It tells the auditor how long the log is and whether it is intact, no more.
        pool = info.context["runtime"].pool
        # It reads on a connection of its own: the request's reads give theirs back first, or
        # with every connection held by a request waiting for a second, all would wait.
        async with access.reads_set_aside(info):
            verdict = await verifications_of(info.context).verdict(
                unit_id, lambda: access.as_unit(pool, unit_id)
            )
        return Verification(
            unit_id=unit_id,
            ok=verdict.ok,
            count=verdict.count,
            head_seq=verdict.head_seq,
            head_hash=verdict.head_hash.hex(),
            bad_seq=verdict.bad_seq,
            problem=verdict.problem,
        )

    @strawberry.field(description="Nhật ký sự kiện của một đơn vị sau afterSeq (vai trò auditor).")
    async def audit_log(
        self, info: Info, unit_id: strawberry.ID, after_seq: int = 0, first: int = 100
    ) -> list[LoggedEvent]:
        if not 1 <= first <= MAX_EVENTS or after_seq < 0:
            raise InvalidInput(f"first từ 1 đến {MAX_EVENTS}, afterSeq không âm.")
        principal = principal_of(info)
        _checked(unit_id)
        runtime = info.context["runtime"]
        # Under the caller's reach: a former ancestor's auditor reads the events recorded while
        # the unit was below, and none after (shared/access.py).
        async with access.reading(info) as conn:
            await access.require_auditable(conn, principal, unit_id)
            events = await runtime.store.read_log(
                unit_id, after_seq=after_seq, limit=first, connection=conn
            )
        return [
            LoggedEvent(
                seq=e.seq,
                stream_id=str(e.stream_id),
                stream_version=e.stream_version,
                event_type=e.event_type,
                schema_version=e.schema_version,
                data=orjson.loads(orjson.dumps(e.data)),
                meta=e.meta,
                recorded_at=e.recorded_at,
                prev_hash=e.prev_hash.hex(),
                hash=e.hash.hex(),
            )
            for e in events
        ]
