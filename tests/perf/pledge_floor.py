"""The bulk pledge's floor, shared by bench_campaign.py and bench_pledges_served.py: the events
a bulk pledge writes (PledgeRegistered, each person's name sealed with a key), made in advance,
and the store's batched append of them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence

import asyncpg

from shared.eventstore import EventStore, NewEvent
from shared.personal import new_key, seal

CHUNK = 2_000  # events per append, as services/campaign/bulk.py appends them


def sealed_pledges(
    campaign_id: uuid.UUID, campaign_unit: str, unit: str, people: Sequence[tuple[str, str]]
) -> list[NewEvent]:
    """One PledgeRegistered per (name, staff number), shaped as ours writes them."""
    key_id, key = uuid.uuid4(), new_key()
    data = {
        "campaign_id": {"_type_": "uuid_hex", "_data_": campaign_id.hex},
        "campaign_unit": campaign_unit,
        "unit_id": unit,
        "subject": "person",
        "name": "",
        "key_id": {"_type_": "uuid_hex", "_data_": key_id.hex},
        "title": "lao_dong_tien_tien",
        "registered_on": {"_type_": "date_iso", "_data_": "2021-02-15"},
        "late": False,
    }
    return [
        NewEvent(
            uuid.uuid4(),
            1,
            "PledgeRegistered",
            data
            | {
                "person_id": {"_type_": "uuid_hex", "_data_": uuid.uuid4().hex},
                "sealed": seal(key, key_id, {"name": name}),
                "ref": ref,
            },
            2,
        )
        for name, ref in people
    ]


async def append_rate(
    store: EventStore, conn: asyncpg.Connection, unit: str, events: list[NewEvent]
) -> float:
    """The store's batched append of ``events`` into ``unit``'s log, CHUNK per append, in one
    transaction on ``conn``: events per second."""
    started = time.perf_counter()
    async with conn.transaction():
        for start in range(0, len(events), CHUNK):
            await store.append(
                unit,
                events[start : start + CHUNK],
                meta={"command": "RegisterPledges", "actor": "bench"},
                connection=conn,
            )
    return len(events) / (time.perf_counter() - started)
