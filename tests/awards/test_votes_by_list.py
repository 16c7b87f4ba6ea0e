"""Migration 0049: a member's votes are stored as one row for each list voted alike. A database
migrated before it keeps every vote: who voted on each item, how (an open ballot), and how many
have voted on each item of an open session, as the readers ask, are what they were."""

from __future__ import annotations

import uuid

from services.awards.schema_council import COUNTED_VOTERS, votes_so_far
from shared import migrate as migrate_module
from shared.db import owner_connection
from tests.awards.test_shared_by_place import migrate_until
from tests.conftest import fresh_database

UNIT = "upper-0049"
OPEN, SECRET = uuid.uuid4(), uuid.uuid4()
ITEMS = ["n1", "n2", "n3"]


async def item(conn, session: uuid.UUID, item_id: str, position: int) -> None:
    await conn.execute(
        "INSERT INTO council_items (tenant_id, session_id, item_id, proposal_id, proposer, "
        "nominee_id, who, unit_of, award, recused, position) VALUES ($1, $2, $3, $4, 'cs', $3, "
        "'person:x', 'cs', 'lao_dong_tien_tien', '[]', $5)",
        UNIT,
        session,
        item_id,
        uuid.uuid4(),
        position,
    )


async def readers(conn) -> tuple[dict, dict]:
    """Who voted on each item and how, and how many have on each, as the readers read them."""
    who = {
        (s, i): [
            tuple(r)
            for r in await conn.fetch(
                "SELECT voter, choice FROM council_votes WHERE tenant_id = $1 AND session_id = $2 "
                "AND $3 = ANY (items) ORDER BY voter",
                UNIT,
                s,
                i,
            )
        ]
        for s in (OPEN, SECRET)
        for i in ITEMS
    }
    counted = await conn.fetch(
        f"SELECT i.session_id, i.item_id, {COUNTED_VOTERS} AS n FROM council_items i "
        f"{votes_so_far('v.tenant_id = $1')} WHERE i.tenant_id = $1",
        UNIT,
    )
    return who, {(r["session_id"], r["item_id"]): r["n"] for r in counted}


async def test_every_vote_reads_as_before_once_merged_into_lists(server_url, monkeypatch):
    url = await fresh_database(server_url, migrated=False)
    async with owner_connection(url) as conn:
        await migrate_until(conn, 48, monkeypatch)
        votes = [
            (OPEN, "n1", "chu-tich", "yes"),
            (OPEN, "n2", "chu-tich", "yes"),
            (OPEN, "n3", "chu-tich", "no"),
            (OPEN, "n1", "uy-vien", "abstain"),
            (SECRET, "n1", "chu-tich", None),
            (SECRET, "n2", "chu-tich", None),
            (SECRET, "n2", "uy-vien", None),
        ]
        for session in (OPEN, SECRET):
            for position, item_id in enumerate(ITEMS):
                await item(conn, session, item_id, position)
        await conn.executemany(
            "INSERT INTO council_votes (tenant_id, session_id, item_id, voter, choice) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(UNIT, *vote) for vote in votes],
        )
        # How the readers counted them before 0049.
        count = "(SELECT count(*)::integer FROM council_votes v WHERE v.tenant_id = i.tenant_id "
        count += "AND v.session_id = i.session_id AND v.item_id = i.item_id)"
        counted_before = {
            (r["session_id"], r["item_id"]): r["n"]
            for r in await conn.fetch(
                f"SELECT session_id, item_id, {count} AS n FROM council_items i "
                "WHERE tenant_id = $1",
                UNIT,
            )
        }
        assert [m.version for m in await migrate_module.migrate(conn)][:1] == [49]
        who, counted = await readers(conn)
        rows = await conn.fetchval("SELECT count(*) FROM council_votes WHERE tenant_id = $1", UNIT)
    assert counted == counted_before
    assert counted[(OPEN, "n1")] == 2 and counted[(SECRET, "n3")] == 0
    assert who[(OPEN, "n1")] == [("chu-tich", "yes"), ("uy-vien", "abstain")]
    assert who[(OPEN, "n3")] == [("chu-tich", "no")]
    assert who[(SECRET, "n2")] == [("chu-tich", None), ("uy-vien", None)]
    assert who[(SECRET, "n3")] == []
    # One row for each member's choice in a session: 3 in the open one, 2 in the secret one.
    assert rows == 5
