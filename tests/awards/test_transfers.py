"""A person moved between units (issue 14, point 1: chuyển sinh hoạt công đoàn), through GraphQL:
the unit they leave closes their record, naming the unit they go to; that unit sees them among
its incoming people and receives them into its own register with the key they came with, so an
erasure there reaches the record they left. Each refusal writes nothing; a unit the transfer is
not addressed to reads and receives nothing. A stored transfer (two golden files) replays."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest

from services.awards.domain import Particulars, Person, Personal, PersonAlreadyRegistered
from services.awards.projections import PROJECTION, build_registry
from shared import audit
from shared.aggregates import Repository
from shared.clock import today
from shared.projection_rebuild import rebuild
from tests.awards.test_people_graphql import AN, ERASE, ONE, register
from tests.awards.test_proposals import add, draft
from tests.conftest import GOLDEN
from tests.registry.test_graphql import code_of, gql
from tests.shared.test_golden import golden_rows, insert_golden

TRANSFER = """mutation($id: ID!, $to: ID!, $on: Date!) { transferPerson(id: $id, toUnitId: $to,
  on: $on) { status transferTo transferredOn receivedAs version history { what } } }"""
INCOMING = "{ incomingPeople { id fromUnit staffNumber fullName gender transferredOn } }"
RECEIVE = """mutation($id: ID!, $staff: String) { receivePerson(id: $id, staffNumber: $staff) {
  id unitId staffNumber fullName birthYear contacts post cadre status arrivedFrom
  history { what } } }"""
AMEND = """mutation($id: ID!) { recordLeaving(id: $id, on: "2025-01-01", reason: "Nghỉ") {
  status } }"""


async def officer(client, tokens, unit, query, **variables):
    return await gql(client, tokens, unit, ["officer"], query, **variables)


async def test_a_person_moves_to_another_province_and_is_received_there(client, tokens, tree):
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": "CK-01"})
    on = today().isoformat()

    # Refused, and nothing written: their own unit, an unknown unit, a person of another unit.
    for to, code in ((tree.cs1, "PERSON_INVALID"), ("no-such-unit", "NOT_FOUND")):
        refused = await officer(client, tokens, tree.cs1, TRANSFER, id=an["id"], to=to, on=on)
        assert code_of(refused) == code
    aside = await officer(client, tokens, tree.upper2, TRANSFER, id=an["id"], to=tree.upper3, on=on)
    assert code_of(aside) == "NOT_FOUND"
    late = (today() + timedelta(days=400)).isoformat()
    assert (
        code_of(
            await officer(client, tokens, tree.cs1, TRANSFER, id=an["id"], to=tree.upper3, on=late)
        )
        == "PERSON_INVALID"
    )

    sent = await officer(client, tokens, tree.cs1, TRANSFER, id=an["id"], to=tree.upper3, on=on)
    record = sent["data"]["transferPerson"]
    assert (record["status"], record["transferTo"], record["receivedAs"]) == (
        "TRANSFERRED",
        tree.upper3,
        None,
    )
    assert record["version"] == an["version"] + 1  # the refusals wrote nothing
    closed = await officer(client, tokens, tree.cs1, AMEND, id=an["id"])
    assert code_of(closed) == "PERSON_TRANSFERRED"
    pid = await draft(client, tokens, tree.cs1)
    nominated = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    assert code_of(nominated) == "PERSON_TRANSFERRED"  # nominated, if at all, where they went

    # Only the unit it is addressed to sees and receives it.
    for unit in (tree.upper1, tree.prov2, tree.upper2):
        assert (await officer(client, tokens, unit, INCOMING))["data"]["incomingPeople"] == []
        stolen = await officer(client, tokens, unit, RECEIVE, id=an["id"])
        assert code_of(stolen) == "NOT_FOUND"
    member = await gql(client, tokens, tree.upper3, ["member"], INCOMING)
    assert member["data"]["incomingPeople"] == []  # a member's token reads no one's name
    [incoming] = (await officer(client, tokens, tree.upper3, INCOMING))["data"]["incomingPeople"]
    assert (incoming["id"], incoming["fromUnit"], incoming["fullName"]) == (
        an["id"],
        tree.cs1,
        "Nguyễn Thị Ánh",
    )

    received = await officer(client, tokens, tree.upper3, RECEIVE, id=an["id"], staff="NB-77")
    person = received["data"]["receivePerson"]
    assert (person["unitId"], person["staffNumber"], person["status"]) == (
        tree.upper3,
        "NB-77",
        "ACTIVE",
    )
    assert (person["fullName"], person["birthYear"], person["contacts"]) == (
        "Nguyễn Thị Ánh",
        1990,
        ["anh@example.vn"],
    )
    assert (person["post"], person["cadre"], person["arrivedFrom"]) == (
        AN["post"],
        "PART_TIME",
        tree.cs1,
    )
    assert [h["what"] for h in person["history"]] == ["registered", "arrived"]
    twice = await officer(client, tokens, tree.upper3, RECEIVE, id=an["id"])
    assert code_of(twice) == "NOT_FOUND"
    erase_there = await officer(client, tokens, tree.cs1, ERASE, id=an["id"], why="Yêu cầu")
    assert code_of(erase_there) == "PERSON_TRANSFERRED"  # received: the unit they went to erases
    assert (await officer(client, tokens, tree.upper3, INCOMING))["data"]["incomingPeople"] == []
    left = (await officer(client, tokens, tree.cs1, ONE, id=an["id"]))["data"]["person"]
    assert left["status"] == "TRANSFERRED" and left["fullName"] == "Nguyễn Thị Ánh"

    # Erased where they are now: the record they left reads as erased too.
    erased = await officer(
        client, tokens, tree.upper3, ERASE, id=person["id"], why="Nghị định 13/2023/NĐ-CP"
    )
    assert erased["data"]["erasePerson"]["fullName"] is None
    before = (await officer(client, tokens, tree.cs1, ONE, id=an["id"]))["data"]["person"]
    assert (before["fullName"], before["birthYear"], before["contacts"]) == (None, None, [])


# --- stored history ----------------------------------------------------------------------------

OUT_FILE, IN_FILE = GOLDEN / "awards_transfer_out.jsonl", GOLDEN / "awards_transfer_in.jsonl"
LEFT = UUID("5d457600-ae3e-57d5-bc15-c380b1aba23e")
CAME = UUID("7cf5ea8c-ab5f-5f02-a870-109f8560d8bf")


async def _replayed(logs, registry, store, owner, runtime) -> set[str]:
    """Each golden log's chain verified, its events decoded by today's code and projected: the
    event types it holds."""
    seen: set[str] = set()
    for rows in logs:
        tenant = rows[0]["tenant_id"]
        verdict = await audit.verify_tenant(owner, tenant)
        assert verdict.ok, verdict.describe()
        seen |= {registry.decode(e) and e.event_type for e in await store.read_log(tenant)}
        assert await runtime.projections.wait_for(tenant, len(rows), 30)
    return seen


@pytest.fixture(scope="module")
async def golden(database_url):
    return [await insert_golden(database_url, golden_rows(path)) for path in (OUT_FILE, IN_FILE)]


async def test_a_stored_transfer_replays_and_projects_with_todays_code(
    golden, store, owner, runtime
):
    # tests/golden/awards_transfer_{out,in}.jsonl: Đinh Thị Thu (KT-03) leaves
    # golden-cs-transfer-out on 2025-06-30 and is received by golden-cs-transfer-in on 07-01.
    registry = build_registry()
    seen = await _replayed(golden, registry, store, owner, runtime)
    assert {"PersonTransferred", "PersonArrived"} <= seen
    repo = Repository(store, registry, snapshot_every=0)
    left = await repo.get("golden-cs-transfer-out", LEFT)
    came = await repo.get("golden-cs-transfer-in", CAME)
    assert (left.status, came.status, came.key_id) == ("transferred", "active", left.key_id)
    rows = {
        r["tenant_id"]: r
        for r in await owner.fetch(
            "SELECT tenant_id, status, transfer_to, received_as, arrived_from FROM people "
            "WHERE person_id = ANY ($1::uuid[])",
            [LEFT, CAME],
        )
    }
    assert tuple(rows["golden-cs-transfer-out"])[1:] == (
        "transferred",
        "golden-cs-transfer-in",
        CAME,
        None,
    )
    assert rows["golden-cs-transfer-in"]["arrived_from"] == "golden-cs-transfer-out"


HOME_FILE, AWAY_FILE = GOLDEN / "awards_return_home.jsonl", GOLDEN / "awards_return_away.jsonl"
HOME = UUID("36e5ad3d-3dc7-559e-b561-a0af54ad4070")
AWAY = UUID("b5de879a-7e3c-5d8b-8d01-b1d0c3adf5fc")


@pytest.fixture(scope="module")
async def golden_return(database_url):
    return [await insert_golden(database_url, golden_rows(p)) for p in (HOME_FILE, AWAY_FILE)]


async def test_a_stored_return_replays_and_projects_with_todays_code(
    golden_return, store, owner, runtime
):
    # tests/golden/awards_return_{home,away}.jsonl: Phan Văn Hòa (DL-09) leaves
    # golden-cs-return-home on 2025-06-30, is received by golden-cs-return-away (a PersonArrived
    # of schema 2, with the sending record's version), sent back on 09-30 and received into his
    # old record on 10-01 (PersonReturned).
    registry = build_registry()
    seen = await _replayed(golden_return, registry, store, owner, runtime)
    assert {"PersonTransferred", "PersonArrived", "PersonReturned"} <= seen
    repo = Repository(store, registry, snapshot_every=0)
    home = await repo.get("golden-cs-return-home", HOME)
    away = await repo.get("golden-cs-return-away", AWAY)
    assert (home.status, away.status, home.key_id) == ("active", "transferred", away.key_id)
    rows = {
        r["tenant_id"]: tuple(r)[1:]
        for r in await owner.fetch(
            "SELECT tenant_id, status, post, transfer_to, received_as, arrived_from FROM people "
            "WHERE person_id = ANY ($1::uuid[])",
            [HOME, AWAY],
        )
    }
    assert rows == {
        "golden-cs-return-home": (
            "active",
            "Tổ trưởng tổ điện",
            None,
            None,
            "golden-cs-return-away",
        ),
        "golden-cs-return-away": (
            "transferred",
            "Thợ điện",
            "golden-cs-return-home",
            HOME,
            "golden-cs-return-home",
        ),
    }


async def test_two_receivers_at_once_register_the_person_once(client, tokens, tree):
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": "CK-02"})
    on = today().isoformat()
    await officer(client, tokens, tree.cs1, TRANSFER, id=an["id"], to=tree.upper3, on=on)
    both = await asyncio.gather(
        officer(client, tokens, tree.upper3, RECEIVE, id=an["id"], staff="R-1"),
        officer(client, tokens, tree.upper3, RECEIVE, id=an["id"], staff="R-2"),
    )
    assert sorted(code_of(b) or "ok" for b in both) == ["NOT_FOUND", "ok"]
    people = await officer(
        client, tokens, tree.upper3, "{ people(first: 10) { edges { node { staffNumber } } } }"
    )
    assert len(people["data"]["people"]["edges"]) == 1


async def test_a_person_sent_and_not_yet_received_is_erased_where_they_were(client, tokens, tree):
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": "CK-03"})
    on = today().isoformat()
    await officer(client, tokens, tree.cs1, TRANSFER, id=an["id"], to=tree.upper3, on=on)
    erased = await officer(client, tokens, tree.cs1, ERASE, id=an["id"], why="Nghị định 13/2023")
    assert erased["data"]["erasePerson"]["fullName"] is None
    assert (await officer(client, tokens, tree.upper3, INCOMING))["data"]["incomingPeople"] == []
    late = await officer(client, tokens, tree.upper3, RECEIVE, id=an["id"])
    assert code_of(late) == "NOT_FOUND"


async def test_a_person_sent_away_and_back_is_received_into_their_old_record(
    client, tokens, tree, owner, runtime
):
    """A → B → A under the same staff number: their first record opens again (its id is the one
    the staff number names), and each record they left points to the one that took them."""
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": "CK-05"})
    colleague = await register(
        client, tokens, tree.cs1, AN | {"staffNumber": "CK-06", "fullName": "Lê Văn Bình"}
    )
    on = today().isoformat()
    await officer(client, tokens, tree.cs1, TRANSFER, id=an["id"], to=tree.upper3, on=on)
    there = (await officer(client, tokens, tree.upper3, RECEIVE, id=an["id"]))["data"]
    there = there["receivePerson"]
    assert there["staffNumber"] == "CK-05" and there["id"] != an["id"]
    await officer(client, tokens, tree.upper3, TRANSFER, id=there["id"], to=tree.cs1, on=on)

    # A colleague's staff number stays theirs: refused, and the person is still on their way.
    taken = await officer(client, tokens, tree.cs1, RECEIVE, id=there["id"], staff="CK-06")
    assert code_of(taken) == "PERSON_ALREADY_REGISTERED"
    [incoming] = (await officer(client, tokens, tree.cs1, INCOMING))["data"]["incomingPeople"]
    assert incoming["id"] == there["id"]
    unchanged = (await officer(client, tokens, tree.cs1, ONE, id=colleague["id"]))["data"]
    assert unchanged["person"]["version"] == colleague["version"]

    back = (await officer(client, tokens, tree.cs1, RECEIVE, id=there["id"]))["data"]
    back = back["receivePerson"]
    assert (back["id"], back["unitId"], back["staffNumber"], back["status"]) == (
        an["id"],
        tree.cs1,
        "CK-05",
        "ACTIVE",
    )
    assert (back["fullName"], back["arrivedFrom"]) == ("Nguyễn Thị Ánh", tree.upper3)
    assert [h["what"] for h in back["history"]] == ["registered", "transferred", "returned"]
    left = (await officer(client, tokens, tree.upper3, ONE, id=there["id"]))["data"]["person"]
    assert left["status"] == "TRANSFERRED"
    for unit in (tree.cs1, tree.upper3):
        assert (await officer(client, tokens, unit, INCOMING))["data"]["incomingPeople"] == []
    again = await officer(client, tokens, tree.cs1, RECEIVE, id=there["id"])
    assert code_of(again) == "NOT_FOUND"

    # The record works again: sent on once more, they come back to the other unit's record.
    await officer(client, tokens, tree.cs1, TRANSFER, id=an["id"], to=tree.upper3, on=on)
    second = (await officer(client, tokens, tree.upper3, RECEIVE, id=an["id"]))["data"]
    assert second["receivePerson"]["id"] == there["id"]
    assert [h["what"] for h in second["receivePerson"]["history"]] == [
        "registered",
        "arrived",
        "transferred",
        "returned",
    ]

    # Erased where they are now: both records read as erased.
    await officer(client, tokens, tree.upper3, ERASE, id=there["id"], why="Nghị định 13/2023")
    first = (await officer(client, tokens, tree.cs1, ONE, id=an["id"]))["data"]["person"]
    assert (first["status"], first["fullName"]) == ("TRANSFERRED", None)

    # Sent away a second time and not yet received: still on their way, after a rebuild too
    # (each record's transfers told apart by its version, in whichever order the units' logs
    # are projected).
    bao = await register(client, tokens, tree.cs1, AN | {"staffNumber": "CK-07"})
    await officer(client, tokens, tree.cs1, TRANSFER, id=bao["id"], to=tree.upper3, on=on)
    away = (await officer(client, tokens, tree.upper3, RECEIVE, id=bao["id"]))["data"]
    away = away["receivePerson"]
    await officer(client, tokens, tree.upper3, TRANSFER, id=away["id"], to=tree.cs1, on=on)
    home = await officer(client, tokens, tree.cs1, RECEIVE, id=away["id"])
    home = home["data"]["receivePerson"]
    assert home["id"] == bao["id"]
    await officer(client, tokens, tree.cs1, TRANSFER, id=bao["id"], to=tree.upper3, on=on)
    before = await _transfer_rows(owner, tree)
    await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=3)
    assert await _transfer_rows(owner, tree) == before
    [waiting] = (await officer(client, tokens, tree.upper3, INCOMING))["data"]["incomingPeople"]
    assert waiting["id"] == bao["id"]


async def _transfer_rows(owner, tree):
    rows = await owner.fetch(
        "SELECT tenant_id, person_id, status, transfer_to, received_as, arrived_from, "
        "arrived_from_person, version FROM people WHERE tenant_id = ANY ($1::text[]) "
        "ORDER BY tenant_id, person_id",
        [tree.cs1, tree.upper3],
    )
    assert any(r["received_as"] for r in rows)
    return [tuple(r) for r in rows]


def test_only_the_person_a_record_sent_away_comes_back_to_it():
    """Given a record closed by a transfer, when someone comes back to it: the person it sent
    (their key) reopens it; anyone else, or any record still open, is PersonAlreadyRegistered,
    and no event is made."""
    key = UUID("0b7c4d2e-1f3a-4b5c-8d6e-7f8091a2b3c4")

    def sent_away() -> Person:
        person = Person.register(
            unit_id="nb-cs-a",
            staff_number="A-1",
            personal=Personal("Trần Văn Minh", 1980),
            particulars=Particulars("male"),
            key_id=key,
            sealed="v1.YQ",
            on=date(2025, 1, 2),
        )
        person.transfer(to_unit="nb-cs-b", on=date(2025, 3, 1), today=date(2025, 3, 1))
        return person

    back = {
        "particulars": Particulars("male", post="Tổ trưởng"),
        "sealed": "v1.Yg",
        "on": date(2025, 6, 2),
        "from_unit": "nb-cs-b",
        "from_person": UUID("0b7c4d2e-1f3a-4b5c-8d6e-7f8091a2b3c5"),
        "from_version": 2,
    }
    stranger = sent_away()
    with pytest.raises(PersonAlreadyRegistered):
        stranger.come_back(key_id=uuid4(), **back)
    assert [type(e).__name__ for e in stranger.collect_events()][-1] == "PersonTransferred"
    person = sent_away()
    person.collect_events()
    person.come_back(key_id=key, **back)
    assert person.status == "active"
    assert [type(e).__name__ for e in person.collect_events()] == ["PersonReturned"]
    with pytest.raises(PersonAlreadyRegistered):  # open again: not a second time
        person.come_back(key_id=key, **back)
