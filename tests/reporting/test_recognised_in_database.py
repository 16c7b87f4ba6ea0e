"""An initiative recognised straight after its registration (its stream's second event) is
counted by the runner in the database (services/reporting/projections.py ``_RECOGNISED``): its
item, its version and its changes are those the rule of figures.py makes in Python from the
two events, whatever shape their data takes, and an event after it, in its batch or a later
one, sets anew the item the two make."""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from dataclasses import astuple
from datetime import UTC, date, datetime, timedelta

import orjson

from services.reporting import projections
from shared.eventstore import EVENT_COLUMNS, NewEvent, StoredEvent
from tests.reporting.conftest import settled, stored
from tests.reporting.test_made_in_database import spied

REGISTERED_ON, RECOGNISED_ON = date(2024, 3, 5), date(2024, 6, 1)
PERSON, OTHER = str(uuid.uuid4()), str(uuid.uuid4())


def registration(**data) -> dict:
    every = {"unit_id": "x", "campaign_id": None, "campaign_unit": None, "title": "", "authors": []}
    return stored({**every, "field": "", "description": "", "registered_on": REGISTERED_ON, **data})


def recognition(**data) -> dict:
    every = {"campaign_id": None, "benefit_vnd": 0, "applied_at": [], "decision": ""}
    return stored({**every, "recognised_on": RECOGNISED_ON, **data})


def sealed(person: str) -> dict:
    return {"person_id": person, "key_id": str(uuid.uuid4()), "sealed": "x"}


FULL = registration(
    title="Máy cắt tôn tự động",
    authors=[sealed(PERSON), sealed(OTHER)],
    field="Cơ khí",
)
RECOGNISED = recognition(benefit_vnd=90_000_000, applied_at=["Xưởng 1", "Xưởng 2"], decision="1")
AMENDED = stored(
    {"campaign_id": None, "benefit_vnd": 95_000_000, "applied_at": ["Xưởng 3"], "reason": "Thêm"}
)
WITHDRAWN = stored({"campaign_id": None, "reason": "Trùng"})


def appends() -> list[list[tuple[uuid.UUID, int, str, dict]]]:
    """Initiatives of every shape, each append a batch of the runner: (stream, version, type,
    data) events."""
    s = [uuid.uuid4() for _ in range(7)]
    return [
        [(s[0], 1, "InitiativeRegistered", FULL)],
        [(s[0], 2, "InitiativeRecognised", RECOGNISED)],
        # registered and recognised at once, with nothing in them but their days
        [
            (s[1], 1, "InitiativeRegistered", registration()),
            (s[1], 2, "InitiativeRecognised", recognition()),
        ],
        # nulls for the benefit and the places, and recognised a year later
        [
            (s[2], 1, "InitiativeRegistered", registration()),
            (
                s[2],
                2,
                "InitiativeRecognised",
                recognition(
                    benefit_vnd=None, applied_at=None, recognised_on=stored(date(2025, 1, 10))
                ),
            ),
        ],
        # places that are no text, no benefit
        [(s[3], 1, "InitiativeRegistered", registration(title="Sổ tay"))],
        [(s[3], 2, "InitiativeRecognised", recognition(benefit_vnd=0, applied_at=[1, None, "X"]))],
        # recognised, then amended or withdrawn in the same batch (read here, from the log)
        [(s[4], 1, "InitiativeRegistered", FULL)],
        [
            (s[4], 2, "InitiativeRecognised", RECOGNISED),
            (s[4], 3, "InitiativeRecognitionAmended", AMENDED),
        ],
        [
            (s[5], 1, "InitiativeRegistered", FULL),
            (s[5], 2, "InitiativeRecognised", RECOGNISED),
            (s[5], 3, "InitiativeWithdrawn", WITHDRAWN),
        ],
        # amended in a later batch (the item written in the database)
        [(s[6], 1, "InitiativeRegistered", FULL)],
        [(s[6], 2, "InitiativeRecognised", RECOGNISED)],
        [(s[6], 3, "InitiativeRecognitionAmended", AMENDED)],
    ]


async def written(conn, unit: str) -> dict:
    """What reporting holds of ``unit``'s initiatives: its items, their versions from their
    recognition (none is read before: projections.UNREAD_UNTIL_SET_ANEW), its figures' changes
    and its authors' shares, by moment."""
    items = await conn.fetch(
        "SELECT item, day, figures::text, facts::text, known_at FROM report_items "
        "WHERE unit_id = $1 ORDER BY item",
        unit,
    )
    versions = await conn.fetch(
        "SELECT item, known_at, day, figures::text, facts::text FROM report_item_versions "
        "WHERE unit_id = $1 AND day IS NOT NULL ORDER BY item, known_at",
        unit,
    )
    changes = await conn.fetch(
        "SELECT day, metric, dim, known_at, sum(delta) AS delta FROM report_changes "
        "WHERE unit_id = $1 GROUP BY 1, 2, 3, 4 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4",
        unit,
    )
    shares = await conn.fetch(
        "SELECT item, person, day, known_at, sum(initiatives) AS n, sum(benefit) AS benefit "
        "FROM report_authored WHERE unit_id = $1 GROUP BY 1, 2, 3, 4 "
        "HAVING sum(initiatives) <> 0 OR sum(benefit) <> 0 ORDER BY 1, 2, 3, 4",
        unit,
    )
    return {
        "items": [_parsed(r) for r in items],
        "versions": [_parsed(r) for r in versions],
        "changes": [tuple(r) for r in changes],
        "shares": [tuple(r) for r in shares],
    }


def _parsed(row) -> tuple:
    return tuple(orjson.loads(v) if k in ("figures", "facts") else v for k, v in row.items())


async def in_python(conn, unit: str, events: list[StoredEvent]) -> dict:
    """What ``apply`` makes of the events, every one of them counted here, under ``unit``."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        moved = [dataclasses.replace(e, tenant_id=unit) for e in events]
        await projections.apply(conn, projections._no_registry(), moved)
        return await written(conn, unit)
    finally:
        await transaction.rollback()


async def test_a_recognition_after_its_registration_is_counted_in_the_database_by_the_rule(
    runtime, owner, tree, monkeypatch
):
    seen = spied(monkeypatch)
    # Given initiatives of every shape registered and recognised, some amended or withdrawn
    for events in appends():
        last = await runtime.store.append(tree.cs1, [NewEvent(*e) for e in events])
        await settled(runtime, tree.cs1, last.last_seq)  # each append a batch
    # Then only their amendments and withdrawals were read into this process
    assert sorted(seen) == [
        "InitiativeRecognitionAmended",
        "InitiativeRecognitionAmended",
        "InitiativeWithdrawn",
    ]
    # and what the runner wrote is what the rule makes of the same events in Python
    rows = await owner.fetch(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 ORDER BY seq", tree.cs1
    )
    events = [StoredEvent.from_row(r) for r in rows]
    counted = await written(owner, tree.cs1)
    assert counted == await in_python(owner, f"python-{uuid.uuid4().hex[:8]}", events)
    # (which is not empty: the full initiative's facts and the years of both recognitions)
    facts = [i[3] for i in counted["items"]]
    full = {"authors": [PERSON, OTHER], "title": "Máy cắt tôn tự động", "benefit": 90_000_000}
    assert any(full.items() <= f.items() for f in facts)
    assert {c[0].year for c in counted["changes"]} == {2024, 2025}
    # and its authors' shares: three initiatives each (the fourth withdrawn)
    initiatives = defaultdict(int)
    for share in counted["shares"]:
        initiatives[share[1]] += share[4]
    assert initiatives == {PERSON: 3, OTHER: 3}


# Shapes the store's validation refuses now but the log may hold (a registration of v1 names its
# authors alone; another writer), and a registration recorded after its recognition (an append's
# moment is taken before it waits for the log's head): (registration, recognition) data.
SHAPES = [
    (
        registration(
            authors=["Nguyễn Văn An", {"person_id": ""}, {"person_id": None}, sealed(PERSON)],
            title=None,
        ),
        recognition(applied_at=["Xưởng 1", 5, None, "Xưởng 2"], benefit_vnd=10),
    ),
    (
        {"unit_id": "x", "registered_on": stored(REGISTERED_ON)},
        {"recognised_on": stored(RECOGNISED_ON)},
    ),
    (registration(authors="Lê Văn C", title=7), recognition(applied_at={"Xưởng": 1})),
    (FULL, RECOGNISED),
]


async def test_the_statement_makes_what_the_rule_makes_of_every_shape_in_the_log(owner):
    # Given initiatives registered and recognised, written to a log as they are
    tenant, at = f"shapes-{uuid.uuid4().hex[:8]}", datetime(2026, 1, 1, tzinfo=UTC)
    events = []
    for i, (registered, recognised) in enumerate(SHAPES):
        stream = uuid.uuid4()
        later = timedelta(seconds=1 if i == len(SHAPES) - 1 else 0)  # the last recorded after
        events += [
            _event(
                tenant, len(events) + 1, stream, 1, "InitiativeRegistered", registered, at + later
            ),
            _event(tenant, len(events) + 2, stream, 2, "InitiativeRecognised", recognised, at),
        ]
        at += timedelta(minutes=1)
    await owner.executemany(
        "INSERT INTO events (tenant_id, seq, stream_id, stream_version, event_type, "
        "schema_version, data, meta, recorded_at, prev_hash, hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11)",
        [(*astuple(e)[:6], orjson.dumps(e.data).decode(), "{}", *astuple(e)[8:]) for e in events],
    )
    # When the statement counts them
    transaction = owner.transaction()
    await transaction.start()
    try:
        await projections.count_made(owner, [tenant], [1], [len(events)])
        counted = await written(owner, tenant)
    finally:
        await transaction.rollback()
    # Then it wrote what the rule makes of them in Python
    assert counted == await in_python(owner, f"python-{uuid.uuid4().hex[:8]}", events)
    assert len(counted["items"]) == len(SHAPES)


def _event(tenant, seq, stream, version, event_type, data, recorded_at) -> StoredEvent:
    return StoredEvent(
        tenant, seq, stream, version, event_type, 1, data, {}, recorded_at, b"-", b"-"
    )
