"""The campaigns' projection builds a bulk pledge's rows from the stored data without building
each event (services/campaign/projections.py ``_pledge_row_of``): every such row must be the
one the event itself gives (``pledge_row``), for a person's sealed name, an erased one, and a
collective's plain name."""

import uuid
from datetime import UTC, date, datetime

from services.campaign.projections import _Decoded, _pledge_row_of, build_registry, pledge_row
from shared.eventstore import StoredEvent
from shared.personal import new_key, seal


def stored(registry, data: dict) -> StoredEvent:
    return StoredEvent(
        "cs-a",
        7,
        uuid.uuid4(),
        1,
        "PledgeRegistered",
        registry.schema_version("PledgeRegistered"),
        data,
        {"command": "RegisterPledges"},
        datetime(2021, 2, 15, 3, tzinfo=UTC),
        bytes(32),
        bytes(32),
    )


def test_fast_rows_are_the_events_rows() -> None:
    registry = build_registry()
    encode = registry.codec.encode
    key_id, key = uuid.uuid4(), new_key()
    gone = uuid.uuid4()  # an erased person's key: no longer among the keys
    common = {
        "campaign_id": encode(uuid.uuid4()),
        "campaign_unit": "ldld-a",
        "unit_id": "cs-a",
        "title": "lao_dong_tien_tien",
        "registered_on": encode(date(2021, 2, 15)),
        "late": True,
    }
    person = common | {
        "subject": "person",
        "name": "",
        "person_id": encode(uuid.uuid4()),
        "key_id": encode(key_id),
        "sealed": seal(key, key_id, {"name": "Bùi Thị Hoa"}),
        "ref": "G01",
    }
    erased = person | {"key_id": encode(gone), "sealed": seal(new_key(), gone, {"name": "X"})}
    collective = common | {
        "subject": "collective",
        "name": "Tổ Dệt 3",
        "person_id": None,
        "key_id": None,
        "sealed": "",
        "ref": "",
    }
    keys = {key_id: key}
    for data in (person, erased, collective):
        event = stored(registry, data)
        fast = _pledge_row_of(registry, event, keys, _Decoded(registry))
        slow = pledge_row(event.tenant_id, event.stream_id, registry.decode(event), keys)
        assert fast == slow
    rows = [
        _pledge_row_of(registry, stored(registry, d), keys, _Decoded(registry))
        for d in (person, erased, collective)
    ]
    assert [r[5] for r in rows] == ["Bùi Thị Hoa", "", "Tổ Dệt 3"]
