"""Migrations 0058 and 0059: the versioned figures of 0057 become the changes they made, each
known from the moment its version was, and the items their last moment."""

from __future__ import annotations

from datetime import UTC, date, datetime

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
    t1 = datetime(2025, 1, 1, tzinfo=UTC)
    async with owner_connection(url) as conn:
        await migrate.migrate(conn)
        # Given an initiative known since t1, an award from before 0058 (no moment) and a pledge
        await conn.executemany(
            "INSERT INTO report_items (unit_id, item, day, figures, facts, known_at) "
            "VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6)",
            [
                ("u1", "initiative:a", date(2024, 6, 1), '[["initiatives", "", 1]]', "{}", t1),
                ("u1", "award:d:i", date(2024, 12, 20), "[]", '{"revoked": true}', None),
                ("u1", "pledge:p", date(2024, 3, 1), '[["pledges", "x", 1]]', "{}", t1),
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
        ]
