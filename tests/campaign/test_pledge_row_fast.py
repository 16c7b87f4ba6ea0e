"""The campaigns' projection builds a bulk pledge's rows from the stored data without building
each event (services/campaign/projections.py ``_pledge_row_of``): every such row must be the
one the event itself gives (``pledge_row``), for a person's sealed name, an erased one, and a
collective's plain name. It inserts them a part at a time, one part in flight while the next is
built: a part that fails fails the batch, and the connection is free to roll it back."""

import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from services.campaign.projections import (
    _Decoded,
    _pledge_row_of,
    apply,
    build_registry,
    pledge_row,
)
from shared.db import RowRuns
from shared.eventstore import StoredEvent
from shared.personal import new_key, seal


def stored(registry, data: dict, stream_id: uuid.UUID | None = None) -> StoredEvent:
    return StoredEvent(
        "cs-a",
        7,
        stream_id or uuid.uuid4(),
        1,
        "PledgeRegistered",
        registry.schema_version("PledgeRegistered"),
        data,
        {"command": "RegisterPledges"},
        datetime(2021, 2, 15, 3, tzinfo=UTC),
        bytes(32),
        bytes(32),
    )


def collective(registry, n: int) -> dict:
    encode = registry.codec.encode
    return {
        "campaign_id": encode(uuid.uuid4()),
        "campaign_unit": "ldld-a",
        "unit_id": "cs-a",
        "title": "tap_the_lao_dong_tien_tien",
        "registered_on": encode(date(2021, 2, 15)),
        "late": False,
        "subject": "collective",
        "name": f"Tổ {n}",
        "person_id": None,
        "key_id": None,
        "sealed": "",
        "ref": "",
    }


def test_fast_rows_are_the_events_rows() -> None:
    registry = build_registry()
    encode = registry.codec.encode
    key_id, key = uuid.uuid4(), new_key()
    gone = uuid.uuid4()  # an erased person's key: no longer among the keys
    plain = collective(registry, 3) | {"title": "lao_dong_tien_tien", "late": True}
    person = plain | {
        "subject": "person",
        "name": "",
        "person_id": encode(uuid.uuid4()),
        "key_id": encode(key_id),
        "sealed": seal(key, key_id, {"name": "Bùi Thị Hoa"}),
        "ref": "G01",
    }
    erased = person | {"key_id": encode(gone), "sealed": seal(new_key(), gone, {"name": "X"})}
    keys = {key_id: key}
    for data in (person, erased, plain):
        event = stored(registry, data)
        fast = _pledge_row_of(registry, event, keys, _Decoded(registry))
        slow = pledge_row(event.tenant_id, event.stream_id, registry.decode(event), keys)
        assert fast == slow
    rows = [
        _pledge_row_of(registry, stored(registry, d), keys, _Decoded(registry))
        for d in (person, erased, plain)
    ]
    assert [r[5] for r in rows] == ["Bùi Thị Hoa", "", "Tổ 3"]


def broken(registry) -> dict:
    """Data no projection can read (no "ref"): fails while building its row."""
    data = collective(registry, -1)
    del data["ref"]
    return data


@pytest.mark.parametrize("failing", ["a repeated pledge", "a row that cannot be built"])
async def test_a_part_that_fails_fails_the_batch_and_the_connection_rolls_back(
    owner: asyncpg.Connection, failing: str
) -> None:
    registry = build_registry()
    ids = [uuid.uuid4() for _ in range(3 * RowRuns.PART)]
    events = [stored(registry, collective(registry, n), i) for n, i in enumerate(ids)]
    if failing == "a repeated pledge":  # the last part's insert fails on the key
        events.append(stored(registry, collective(registry, 0), ids[0]))
        expected: type[Exception] = asyncpg.UniqueViolationError
    else:  # while the part before it is in flight
        events.insert(RowRuns.PART + 1, stored(registry, broken(registry)))
        expected = KeyError
    with pytest.raises(expected):
        async with owner.transaction():
            await apply(owner, registry, events)
    assert await owner.fetchval("SELECT 1") == 1  # the connection is idle and usable
    count = await owner.fetchval(
        "SELECT count(*) FROM campaign_pledges WHERE pledge_id = ANY ($1::uuid[])", ids
    )
    assert count == 0  # nothing of the batch stayed

    written = [e for e in events if e.stream_id in set(ids)][: len(ids)]
    async with owner.transaction():
        await apply(owner, registry, written)
    count = await owner.fetchval(
        "SELECT count(*) FROM campaign_pledges WHERE pledge_id = ANY ($1::uuid[])", ids
    )
    assert count == len(ids)  # every part written, none lost between them
    await owner.execute("DELETE FROM campaign_pledges WHERE pledge_id = ANY ($1::uuid[])", ids)
