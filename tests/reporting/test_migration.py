"""Reporting's migrations over the rows there: 0058 and 0059 (the versioned figures of 0057
become the changes they made, each known from the moment its version was, and the items their
last moment), 0066 (the items' first versions) and 0067 (the years dated)."""

from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import orjson
import pytest

from shared import migrate
from shared.db import owner_connection
from tests.conftest import fresh_database


async def test_each_version_becomes_the_change_it_made(server_url, monkeypatch):
    url = await fresh_database(server_url, migrated=False)
    everything = migrate.available()
    monkeypatch.setattr(migrate, "available", lambda: [m for m in everything if m.version < 58])
    t1, t2, t3 = (datetime(2025, 1, d, tzinfo=UTC) for d in (1, 2, 3))
    async with owner_connection(url) as conn:
        await migrate.migrate(conn)
        # Given a figure set to 2, then 5, then 3 (three versions), and another set once
        await conn.executemany(
            "INSERT INTO report_day (unit_id, day, metric, dim, known_from, known_to, value) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            [
                ("u1", date(2024, 3, 1), "pledges", "x", t1, t2, 2),
                ("u1", date(2024, 3, 1), "pledges", "x", t2, t3, 5),
                ("u1", date(2024, 3, 1), "pledges", "x", t3, datetime.max.replace(tzinfo=UTC), 3),
                ("u2", date(2024, 4, 1), "works", "", t2, datetime.max.replace(tzinfo=UTC), 1),
            ],
        )
        await conn.execute(
            "INSERT INTO report_items (unit_id, item) VALUES ('u1', 'pledge:a'), ('u3', 'x')"
        )
        # When 0058 and 0059 are applied
        monkeypatch.setattr(migrate, "available", lambda: [m for m in everything if m.version < 60])
        assert [m.version for m in await migrate.migrate(conn)] == [58, 59]
        rows = await conn.fetch(
            "SELECT unit_id, day, metric, known_at, delta FROM report_changes ORDER BY 1, 4"
        )
        # Then each version is the change it made, from its moment: the sums are the same
        assert [tuple(r) for r in rows] == [
            ("u1", date(2024, 3, 1), "pledges", t1, 2),
            ("u1", date(2024, 3, 1), "pledges", t2, 3),
            ("u1", date(2024, 3, 1), "pledges", t3, -2),
            ("u2", date(2024, 4, 1), "works", t2, 1),
        ]
        # and an item's next change is never known before its unit's last
        items = await conn.fetch("SELECT unit_id, known_at FROM report_items ORDER BY 1")
        assert [tuple(r) for r in items] == [("u1", t3), ("u3", None)]
        with pytest.raises(Exception, match="does not exist"):
            await conn.fetch("SELECT 1 FROM report_year")


async def test_the_initiatives_and_awards_as_they_are_become_their_first_versions(
    server_url, monkeypatch
):
    url = await fresh_database(server_url, migrated=False)
    everything = migrate.available()
    monkeypatch.setattr(migrate, "available", lambda: [m for m in everything if m.version < 66])
    t1, t2 = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
    async with owner_connection(url) as conn:
        await migrate.migrate(conn)
        # Given an initiative known since t1, an award from before 0058 (no moment), a
        # registration and a pledge
        await conn.executemany(
            "INSERT INTO report_items (unit_id, item, day, figures, facts, known_at) "
            "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)",
            [
                ("u1", "initiative:a", date(2024, 6, 1), '[["initiatives", "", 1]]', "{}", t1),
                ("u1", "award:d:i", date(2024, 12, 20), "[]", '{"revoked": true}', None),
                ("u1", "registration:r", date(2024, 2, 1), "[]", '{"campaign": "c"}', t2),
                ("u1", "pledge:p", date(2024, 3, 1), '[["pledges", "x", 1]]', "{}", t1),
            ],
        )
        # and a request asked at t1, again at t2 with a later day, and a report sent at t1 and
        # again at t2, as their rows and their events; a request and a sent report whose events
        # are not there, and a report not sent
        request, report = uuid.uuid4(), uuid.uuid4()
        await conn.executemany(
            "INSERT INTO report_requests (unit_id, first_year, last_year, due_on, note, "
            "requested_on, request_id) VALUES ($1, 2020, 2025, $2, '', '2025-01-01', $3)",
            [("u0", date(2025, 5, 15), request), ("u9", date(2025, 4, 1), uuid.uuid4())],
        )
        await conn.executemany(
            "INSERT INTO reports (unit_id, report_id, first_year, last_year, number, place, "
            "version, drafted_on, first_sent_on) VALUES ($1, $2, 2020, 2025, '', '', 1, "
            "'2025-01-01', $3)",
            [
                ("u1", report, date(2025, 1, 1)),
                ("u8", uuid.uuid4(), date(2025, 1, 1)),
                ("u9", uuid.uuid4(), None),
            ],
        )
        due = {"_type_": "date_iso", "_data_": "2025-04-15"}
        await conn.executemany(
            "INSERT INTO events (tenant_id, seq, stream_id, stream_version, event_type, "
            "schema_version, data, meta, recorded_at, prev_hash, hash) "
            "VALUES ($1, $2, $3, $4, $5, 1, $6::jsonb, '{}', $7, '', '')",
            [
                (
                    "u0",
                    1,
                    request,
                    1,
                    "ReportsRequested",
                    orjson.dumps({"due_on": due}).decode(),
                    t1,
                ),
                ("u1", 1, report, 1, "ReportSubmitted", "{}", t1),
                ("u0", 2, request, 2, "ReportsRequestedAgain", '{"due_on": "2025-05-15"}', t2),
                ("u1", 2, report, 2, "ReportSubmitted", "{}", t2),
            ],
        )
        # When 0066 is applied
        monkeypatch.setattr(migrate, "available", lambda: [m for m in everything if m.version < 67])
        assert [m.version for m in await migrate.migrate(conn)] == [66]
        rows = await conn.fetch(
            "SELECT item, nullif(known_at, '-infinity'), day, figures::text "
            "FROM report_item_versions ORDER BY item"
        )
        # Then each is its own version from its moment (the award: since always); no pledge
        assert [tuple(r) for r in rows] == [
            ("award:d:i", None, date(2024, 12, 20), "[]"),
            ("initiative:a", t1, date(2024, 6, 1), '[["initiatives", "", 1]]'),
            ("registration:r", t2, date(2024, 2, 1), "[]"),
        ]
        # and the request is due 15 April from t1 and 15 May from t2, the one without events its
        # day since always; the report first sent at t1, the other sent since always, the
        # unsent one not
        dues = {
            r["unit_id"]: [(d["at"], d["due"]) for d in orjson.loads(r["dues"])]
            for r in await conn.fetch("SELECT unit_id, dues::text FROM report_requests")
        }
        assert [(datetime.fromisoformat(at), due) for at, due in dues["u0"]] == [
            (t1, "2025-04-15"),
            (t2, "2025-05-15"),
        ]
        assert dues["u9"] == [("-infinity", "2025-04-01")]
        sent = await conn.fetch(
            "SELECT unit_id, first_sent_at = '-infinity' AS always, "
            "nullif(first_sent_at, '-infinity') AS at FROM reports ORDER BY unit_id"
        )
        assert [tuple(r) for r in sent] == [
            ("u1", False, t1),
            ("u8", True, None),
            ("u9", None, None),
        ]
        # and an asOf before the migration waits for a rebuild
        assert await conn.fetchval("SELECT count(*) FROM report_versions_since") == 1


async def test_the_years_dated_are_those_of_the_changes_there(server_url, monkeypatch):
    url = await fresh_database(server_url, migrated=False)
    everything = migrate.available()
    monkeypatch.setattr(migrate, "available", lambda: [m for m in everything if m.version < 67])
    at = datetime(2025, 1, 1, tzinfo=UTC)
    async with owner_connection(url) as conn:
        await migrate.migrate(conn)
        # Given changes dated in 2013 and twice in 2024
        await conn.executemany(
            "INSERT INTO report_changes (unit_id, day, metric, dim, known_at, delta) "
            "VALUES ($1, $2, 'pledges', '', $3, 1)",
            [
                ("u1", date(2013, 5, 1), at),
                ("u1", date(2024, 3, 1), at),
                ("u2", date(2024, 9, 1), at),
            ],
        )
        # When 0067 is applied
        monkeypatch.setattr(migrate, "available", lambda: everything)
        assert 67 in [m.version for m in await migrate.migrate(conn)]
        # Then the years dated are those two, once each
        years = await conn.fetch("SELECT year FROM report_years ORDER BY year")
        assert [r["year"] for r in years] == [2013, 2024]


async def test_each_state_of_an_initiative_becomes_the_change_to_its_authors_shares(
    server_url, monkeypatch
):
    t0, t1, t2, t3 = (datetime(2025, 1, d, tzinfo=UTC) for d in (1, 2, 3, 4))
    async with before(78, server_url, monkeypatch) as conn:
        # Given an initiative of two authors recognised (t1), its benefit amended (t2), then
        # withdrawn (t3); one of another unit; one of no author
        await conn.executemany(
            "INSERT INTO report_item_versions (unit_id, item, known_at, day, figures, facts) "
            "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)",
            [
                ("u1", "initiative:a", t1, DAY, RECOGNISED, _facts(["p1", "p2"], 100)),
                ("u1", "initiative:a", t2, DAY, RECOGNISED, _facts(["p1", "p2"], 150)),
                ("u1", "initiative:a", t3, DAY, "[]", _facts(["p1", "p2"], 150)),
                ("u2", "initiative:b", t0, DAY, RECOGNISED, _facts(["p3"], 7)),
                ("u2", "initiative:c", t1, DAY, RECOGNISED, '{"benefit": 5}'),
            ],
        )
        # When 0078 is applied
        await applying(78, conn, monkeypatch)
        rows = await conn.fetch(
            "SELECT unit_id, item, person, day, known_at, initiatives, benefit "
            "FROM report_authored ORDER BY 1, 2, 5, 3"
        )
    # Then each state is the change it made to each author's share, from its moment
    assert [tuple(r) for r in rows] == [
        ("u1", "initiative:a", "p1", DAY, t1, 1, 100),
        ("u1", "initiative:a", "p2", DAY, t1, 1, 100),
        ("u1", "initiative:a", "p1", DAY, t2, 0, 50),
        ("u1", "initiative:a", "p2", DAY, t2, 0, 50),
        ("u1", "initiative:a", "p1", DAY, t3, -1, -150),
        ("u1", "initiative:a", "p2", DAY, t3, -1, -150),
        ("u2", "initiative:b", "p3", DAY, t0, 1, 7),
    ]


DAY = date(2024, 6, 1)
RECOGNISED = '[["initiatives", "", 1], ["initiative_benefit_vnd", "", 1]]'


@asynccontextmanager
async def before(version: int, server_url: str, monkeypatch):
    """An owner's connection to a fresh database migrated up to ``version``, not included."""
    url = await fresh_database(server_url, migrated=False)
    everything = migrate.available()
    monkeypatch.setattr(
        migrate, "available", lambda: [m for m in everything if m.version < version]
    )
    async with owner_connection(url) as conn:
        await migrate.migrate(conn)
        monkeypatch.setattr(migrate, "available", lambda: everything)
        yield conn


async def applying(version: int, conn, monkeypatch) -> None:
    """``version`` applied, and it alone."""
    everything = migrate.available()
    monkeypatch.setattr(
        migrate, "available", lambda: [m for m in everything if m.version <= version]
    )
    assert [m.version for m in await migrate.migrate(conn)] == [version]


def _facts(authors: list[str], benefit: int) -> str:
    return orjson.dumps({"authors": authors, "benefit": benefit, "title": "T"}).decode()


async def test_the_items_of_initiatives_not_recognised_go(server_url, monkeypatch):
    async with before(79, server_url, monkeypatch) as conn:
        # Given an initiative registered (its item as a runner before wrote it), one recognised,
        # and a pledge
        await conn.executemany(
            "INSERT INTO report_items (unit_id, item, day, figures, facts) "
            "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)",
            [
                ("u1", "initiative:a", None, "[]", _facts(["p1"], 0)),
                ("u1", "initiative:b", DAY, RECOGNISED, _facts(["p1"], 1)),
                ("u1", "pledge:p", DAY, '[["pledges", "x", 1]]', "{}"),
            ],
        )
        # When 0079 is applied
        await applying(79, conn, monkeypatch)
        # Then the registered one's item is gone: its recognition will read it from the log
        rows = await conn.fetch("SELECT item FROM report_items ORDER BY 1")
    assert [r["item"] for r in rows] == ["initiative:b", "pledge:p"]
