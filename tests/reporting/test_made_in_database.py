"""The items a stream's first event makes (figures.MADE) are counted by the runner in the
database, from their events' data there (services/reporting/projections.py ``count_made``): the
rows are those the declared rule makes in Python, whatever shape the data takes, and an event of
the same batch that reads such an item finds it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta

import orjson

from services.reporting import projections
from services.reporting.figures import COUNTED_EVENTS, MADE, changes_of, deltas, keys_of
from shared.eventstore import NewEvent, StoredEvent
from shared.projections import Projection
from tests.reporting.conftest import settled, stored


def pledge(title: str, on: date) -> dict:
    return {
        "campaign_id": uuid.uuid4(),
        "campaign_unit": "x",
        "unit_id": "x",
        "subject": "collective",
        "name": "Tổ Bảo trì",
        "ref": "t1",
        "title": title,
        "registered_on": on,
        "late": False,
    }


def work(kind: str, on: date) -> dict:
    return {
        "campaign_id": uuid.uuid4(),
        "campaign_unit": "x",
        "unit_id": "x",
        "name": "Công trình",
        "kind": kind,
        "description": "",
        "location": "",
        "value_vnd": None,
        "completion_due": None,
        "registered_on": on,
    }


def seminar(participants: int, on: date) -> dict:
    return {"unit_id": "x", "topic": "Tọa đàm", "held_on": on, "participants": participants}


D = date(2024, 3, 5)
MINIMAL = {"authors": [], "title": "", "registered_on": D}
# (event type, data): titles and kinds of every sort, numbers of none, days of several years
CASES = [
    ("PledgeRegistered", pledge("Lao động tiên tiến", D)),
    ("PledgeRegistered", pledge("Lao động tiên tiến", D)),
    ("PledgeRegistered", pledge("tap_the_lao_dong_xuat_sac", date(2023, 12, 31))),
    ("PledgeRegistered", pledge("Chiến sĩ thi đua \"cơ sở\" & 'A'", D)),
    ("WorkRegistered", work("cong_trinh", date(2024, 1, 2))),
    ("WorkRegistered", work("", D)),
    ("SeminarHeld", seminar(25, D)),
    ("SeminarHeld", seminar(0, D)),
    ("SeminarHeld", seminar(2_000_000_000_000, date(2022, 6, 30))),
    (
        "InspectionRecorded",
        {"unit_id": "x", "inspected_unit": "y", "subject": "Thi đua", "held_on": D, "findings": ""},
    ),
]


def ruled(events: list[tuple[str, uuid.UUID, dict]]) -> dict:
    """What figures.py's rule makes of the events in Python: the changes summed by day and
    figure."""
    changes = defaultdict(int)
    for event_type, stream, data in events:
        for change in changes_of(event_type, str(stream), stored(data), {}, {}):
            for day, metric, dim, value in deltas(None, change):
                changes[(day, metric, dim)] += value
    return {k: v for k, v in changes.items() if v}


async def counted(owner, unit: str) -> tuple[dict, dict]:
    rows = await owner.fetch(
        "SELECT item, day, figures::text FROM report_items WHERE unit_id = $1", unit
    )
    items = {r["item"]: (r["day"], orjson.loads(r["figures"])) for r in rows}
    rows = await owner.fetch(
        "SELECT day, metric, dim, sum(delta) AS delta FROM report_changes WHERE unit_id = $1 "
        "GROUP BY 1, 2, 3 HAVING sum(delta) <> 0",
        unit,
    )
    return items, {(r["day"], r["metric"], r["dim"]): r["delta"] for r in rows}


def spied(monkeypatch) -> list[str]:
    """The types of the events the runner reads into this process for reporting to count."""
    seen: list[str] = []
    project = Projection.project

    async def spy(self, conn, events):
        if self.name == projections.PROJECTION.name:
            seen.extend(e.event_type for e in events if e.event_type in COUNTED_EVENTS)
        return await project(self, conn, events)

    monkeypatch.setattr(Projection, "project", spy)
    return seen


async def test_made_items_are_counted_in_the_database_as_their_rule_makes_them(
    runtime, owner, tree, monkeypatch
):
    seen = spied(monkeypatch)
    # Given made items of every kind counted in the database, some in one append
    events = [(t, uuid.uuid4(), data) for t, data in CASES]
    appends = [events[:2], *([e] for e in events[2:])]
    for append in appends:
        written = await runtime.store.append(
            tree.cs1, [NewEvent(stream, 1, t, stored(data)) for t, stream, data in append]
        )
    await settled(runtime, tree.cs1, written.last_seq)
    # Then none was read into this process, and their changes are the rule's, known when the
    # log held them; their items are not stored
    assert set(seen).isdisjoint(projections.IN_DATABASE)
    assert await counted(owner, tree.cs1) == ({}, ruled(events))
    known = await owner.fetch(
        "SELECT DISTINCT known_at FROM report_changes WHERE unit_id = $1 ORDER BY 1", tree.cs1
    )
    held = await owner.fetch(
        "SELECT recorded_at FROM events WHERE tenant_id = $1 AND event_type = ANY ($2::text[]) "
        "ORDER BY 1",
        tree.cs1,
        list(projections.IN_DATABASE),
    )
    assert [r[0] for r in known] == sorted({r[0] for r in held})


async def test_an_event_that_sets_a_made_item_anew_finds_it_in_the_log(
    runtime, owner, tree, monkeypatch
):
    seen = spied(monkeypatch)
    # Given three pledges: one withdrawn in the append that registered it (one batch of the
    # runner), one withdrawn later
    now, later, kept = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    data = stored(pledge("Chiến sĩ thi đua", D))
    withdrawal = stored({"campaign_id": uuid.uuid4(), "reason": "Chuyển công tác"})
    await runtime.store.append(
        tree.cs2,
        [
            NewEvent(kept, 1, "PledgeRegistered", data),
            NewEvent(later, 1, "PledgeRegistered", data),
            NewEvent(now, 1, "PledgeRegistered", data),
            NewEvent(now, 2, "PledgeWithdrawn", withdrawal),
        ],
    )
    written = await runtime.store.append(
        tree.cs2, [NewEvent(later, 2, "PledgeWithdrawn", withdrawal)]
    )
    await settled(runtime, tree.cs2, written.last_seq)
    # Then each withdrawal, counted here, took back what its registration counted there
    assert seen == ["PledgeWithdrawn", "PledgeWithdrawn"]
    items, changes = await counted(owner, tree.cs2)
    assert items == {f"pledge:{now}": (D, []), f"pledge:{later}": (D, [])}
    assert changes == {(D, "pledges", "Chiến sĩ thi đua"): 1}


async def test_an_item_read_from_the_log_is_known_from_its_event(runtime, owner, tree):
    # Given a pledge counted in the database
    stream = uuid.uuid4()
    data = stored(pledge("Lao động tiên tiến", D))
    written = await runtime.store.append(tree.cs2, [NewEvent(stream, 1, "PledgeRegistered", data)])
    await settled(runtime, tree.cs2, written.last_seq)
    at = await owner.fetchval(
        "SELECT recorded_at FROM events WHERE tenant_id = $1 AND seq = $2",
        tree.cs2,
        written.last_seq,
    )
    # When its withdrawal, recorded a moment earlier (an append's moment is taken before it
    # waits for the log's head), looks for its item
    withdrawal = StoredEvent(
        tree.cs2,
        written.last_seq + 1,
        stream,
        2,
        "PledgeWithdrawn",
        1,
        stored({"campaign_id": uuid.uuid4(), "reason": "Chuyển"}),
        {},
        at - timedelta(seconds=1),
        b"",
        b"",
    )
    async with owner.transaction():
        found, known = await projections._items(owner, [withdrawal])
    # Then it finds the item as the rule makes it, known from the registration's moment (so the
    # withdrawal is never known before what it takes back)
    key = f"pledge:{stream}"
    assert found[tree.cs2][key].figures == (("pledges", "Lao động tiên tiến", 1),)
    assert known[(tree.cs2, key)] == at


async def test_an_initiative_recognised_finds_its_registration_in_the_log(
    runtime, owner, tree, monkeypatch
):
    seen = spied(monkeypatch)
    # Given an initiative registered by a person of the register, recognised in a later append
    stream, person = uuid.uuid4(), str(uuid.uuid4())
    registered = {
        "unit_id": tree.cs1,
        "campaign_id": None,
        "campaign_unit": None,
        "title": "Máy cắt tự động",
        "authors": [{"person_id": person, "key_id": str(uuid.uuid4()), "sealed": "x"}],
        "field": "Cơ khí",
        "description": "",
        "registered_on": D,
    }
    await runtime.store.append(
        tree.cs1, [NewEvent(stream, 1, "InitiativeRegistered", stored(registered))]
    )
    recognition = {
        "campaign_id": None,
        "benefit_vnd": 90_000_000,
        "applied_at": ["Xưởng 1"],
        "decision": "QĐ 1",
        "recognised_on": date(2024, 6, 1),
    }
    written = await runtime.store.append(
        tree.cs1, [NewEvent(stream, 2, "InitiativeRecognised", stored(recognition))]
    )
    await settled(runtime, tree.cs1, written.last_seq)
    # Then both were left to the database, and the recognition found its authors and title: the
    # item and its one version (no reader asks for one before) carry them
    assert seen == []
    facts = {"authors": [person], "title": "Máy cắt tự động", "benefit": 90_000_000}
    figures = [["initiatives", "", 1], ["initiative_benefit_vnd", "", 90_000_000]]
    for table in ("report_items", "report_item_versions"):
        rows = await owner.fetch(
            f"SELECT figures::text, facts::text FROM {table} WHERE unit_id = $1", tree.cs1
        )
        assert len(rows) == 1, table
        assert orjson.loads(rows[0]["figures"]) == figures
        assert facts.items() <= orjson.loads(rows[0]["facts"]).items()


def test_what_is_left_to_the_database_has_no_version_a_reader_could_ask_for():
    for event_type in projections.IN_DATABASE:
        (key,) = keys_of(event_type, "s", {})
        if key.startswith(projections.VERSIONED):
            assert key.startswith(projections.UNREAD_UNTIL_SET_ANEW)
        assert event_type in MADE or not changes_of(event_type, "s", MINIMAL, {}, {})[0].figures


async def test_only_a_batch_writing_a_year_new_to_the_union_takes_the_years_lock(owner):
    key = projections._YEARS_LOCK & 0xFFFFFFFFFFFFFFFF  # pg_locks shows its two halves
    held = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
        "AND classid::text::bigint = $1 AND objid::text::bigint = $2"
    )
    write = "WITH " + projections._new_years("SELECT unnest($1::integer[])")
    await owner.execute("INSERT INTO report_years VALUES (2024) ON CONFLICT DO NOTHING")
    # a batch's years all known: no lock; one new: the lock, and the year written
    for years, locked in (([2024], 0), ([1901, 2024], 1)):
        async with owner.transaction():
            await owner.execute(write, years)
            assert await owner.fetchval(held, key >> 32, key & 0xFFFFFFFF) == locked
            written = "SELECT count(*) FROM report_years WHERE year = ANY ($1::integer[])"
            assert await owner.fetchval(written, years) == len(years)
        await owner.execute("DELETE FROM report_years WHERE year = 1901")
