"""``thidua projections rebuild awards`` after the whole chain: the rebuilt register holds the
rows the live one held. A rebuild catches each unit's log up on its own, so an upper level's
appraisal may be projected before the proposal it judges (the province, here, sorts before the
upper-level union whose forwarded proposal it appraises) and a lower level's resubmission
before the verdicts of the round it replaces: no row may depend on that order."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import date, timedelta

import pytest

from services.awards.commands import commands_of
from services.awards.commands_decisions import decision_commands_of, revoke
from services.awards.domain import Particulars, Personal
from services.awards.projections import PROJECTION, apply
from services.campaign.commands import commands_of as campaign_commands
from shared.clock import today
from shared.eventstore import StoredEvent
from shared.projection_rebuild import building_schema, rebuild
from shared.projections import add_checkpoints, run_batch
from tests.awards.conftest import nodes, officer
from tests.awards.test_appraisal import CONCLUDE, READ, TAKE_BACK, judge
from tests.awards.test_chain import (
    ISSUE,
    _nominee_ids,
    appraise_all,
    council_passes,
    forwarded_and_sent,
)
from tests.awards.test_people_graphql import AN, register
from tests.awards.test_proposals import PDF, SUBMIT, add, draft, upload
from tests.awards.test_revocation import decided
from tests.registry.conftest import principal
from tests.registry.test_graphql import gql
from tests.shared.beside import built_beside

READ_DECISION = """query($id: ID!) { decision(id: $id) { recipients(first: 10) { edges { node {
  itemId who } } } } }"""

ASIDE = dataclasses.replace(PROJECTION, name="awards_aside")


async def _rows(owner, tree, schema: str) -> dict[str, list[str]]:
    """Every awards row of the tree's units, as text, table by table."""
    rows = {}
    for table in PROJECTION.tables:
        found = await owner.fetch(
            f"SELECT t::text AS row FROM {schema}.{table} t WHERE t::text LIKE $1",
            f"%{tree.prefix}-%",
        )
        rows[table] = sorted(r["row"] for r in found)
    return rows


async def _titles(client, tokens, tree, runtime, an) -> dict[tuple[str, int], dict]:
    """An's Lao động tiên tiến and CSTĐCS of 2024 and 2025, decided by the upper-level union:
    the CSTĐCS two years running a Bằng khen of TLĐ leans on."""
    campaigns = campaign_commands(runtime)
    decisions = {}
    for year in (2024, 2025):
        person = {"subject": "PERSON", "personId": an["id"]}
        decisions["lao_dong_tien_tien", year] = await decided(
            client, tokens, tree, person | {"award": "lao_dong_tien_tien"}, year=year
        )
        initiative = await campaigns.register_initiative(
            officer(tree.cs1), title=f"Sáng kiến {year}", authors=["Nguyễn Thị Ánh"]
        )
        await campaigns.recognise_initiative(
            officer(tree.cs1), initiative, benefit_vnd=50_000_000, applied_at=["Xưởng 1"]
        )
        decisions["chien_si_thi_dua_co_so", year] = await decided(
            client,
            tokens,
            tree,
            person | {"award": "chien_si_thi_dua_co_so", "initiatives": [str(initiative)]},
            year=year,
        )
    return decisions


async def _chain(client, tokens, tree, an) -> str:
    """cs1 proposes An and itself for TLĐ's Bằng khen: a returned round at the bottom, then
    forwarded up to TLĐ, which decides both. The upper-level union's proposal, sent upward."""
    pid = await draft(client, tokens, tree.cs1)
    for nominee in (
        {"subject": "PERSON", "personId": an["id"], "award": "bang_khen_tld"},
        {"subject": "COLLECTIVE", "unitId": tree.cs1, "award": "bang_khen_tld"},
    ):
        added = await add(client, tokens, tree.cs1, pid, **nominee)
        assert added["data"]["addNominee"]["findings"] == [], added
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, tree.cs1, pid, kind, PDF + kind.encode())
    await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    person, collective = await _nominee_ids(client, tokens, tree.upper1, pid)
    await judge(client, tokens, tree.upper1, pid, person, "ACCEPT")
    await judge(client, tokens, tree.upper1, pid, collective, "RETURN", reason="Bổ sung")
    await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    await gql(client, tokens, tree.cs1, ["officer"], TAKE_BACK, id=pid)
    resent = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    assert resent["data"]["submitProposal"]["status"] == "submitted", resent
    await appraise_all(client, tokens, tree.upper1, pid)
    session, _ = await council_passes(client, tokens, tree.upper1, pid)
    upward, _ = await forwarded_and_sent(client, tokens, tree.upper1, session, expected=2)
    await appraise_all(client, tokens, tree.prov1, upward)
    session, _ = await council_passes(client, tokens, tree.prov1, upward)
    higher, _ = await forwarded_and_sent(client, tokens, tree.prov1, session, expected=2)
    await appraise_all(client, tokens, tree.tld, higher)
    session, items = await council_passes(client, tokens, tree.tld, higher)
    body = await gql(
        client, tokens, tree.tld, ["approver"], ISSUE, session=session, title="Khen", items=items
    )
    assert body["data"]["issueDecision"]["recipientCount"] == 2, body
    return upward, body["data"]["issueDecision"]["id"]


async def _revoked(client, tokens, unit, decision_id: str, who: str, on: date, runtime):
    """``who``'s award in the decision revoked by ``unit``'s approver on the day ``on``."""
    body = await gql(client, tokens, unit, ["officer"], READ_DECISION, id=decision_id)
    [item] = [r["itemId"] for r in nodes(body["data"]["decision"]["recipients"]) if r["who"] == who]
    commands = decision_commands_of(runtime, lambda: on)
    await revoke(
        commands,
        principal(unit, "approver"),
        uuid.UUID(decision_id),
        item,
        ground="false_declaration",
        reason="Khai man thành tích",
    )


async def _moved_and_erased(runtime, tree) -> None:
    """A person disciplined in cs1, sent to upper2 and erased there: the record cs1 keeps
    loses the reasons in its history (the form, where they went), whenever it is projected."""
    awards = commands_of(runtime)
    moved = await awards.register_person(
        officer(tree.cs1),
        staff_number=uuid.uuid4().hex[:12],
        personal=Personal("Trần Văn Bình", 1985),
        particulars=Particulars("male"),
    )
    await awards.record_discipline(officer(tree.cs1), moved, on=today(), form="reprimand")
    await awards.transfer_person(officer(tree.cs1), moved, to_unit=tree.upper2, on=today())
    received = await awards.receive_person(officer(tree.upper2), moved)
    await awards.erase_person(officer(tree.upper2), received, legal_reason="Nghị định 13/2023")


@pytest.fixture(params=["revoked after", "revoked before"])
async def history(request, client, tokens, tree, runtime):
    """The whole history, then An's 2025 titles revoked two days on: the upper-level union's
    CSTĐCS (its own row flagged) and TLĐ's Bằng khen (a row of another unit) lean on them.
    "revoked before": TLĐ's Bằng khen was revoked itself the day before, so it is not flagged."""
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:12]})
    who = f"person:{an['id']}"
    titles = await _titles(client, tokens, tree, runtime, an)
    upward, bang_khen = await _chain(client, tokens, tree, an)
    if request.param == "revoked before":
        await _revoked(client, tokens, tree.tld, bang_khen, who, today() + timedelta(1), runtime)
    # TLĐ's Bằng khen of 2025 leans on both CSTĐCS: two flags, in order
    for award, year in (
        ("lao_dong_tien_tien", 2025),
        ("chien_si_thi_dua_co_so", 2025),
        ("chien_si_thi_dua_co_so", 2024),
    ):
        decision = titles[award, year]["id"]
        await _revoked(client, tokens, tree.upper1, decision, who, today() + timedelta(2), runtime)
    await _moved_and_erased(runtime, tree)
    flagged = {"chien_si_thi_dua_co_so": 1} | (
        {"bang_khen_tld": 2} if request.param == "revoked after" else {}
    )
    return upward, who, flagged


async def test_a_rebuilt_register_holds_the_live_rows(
    client, tokens, tree, owner, runtime, history
):
    upward, who, flagged = history
    seen = await gql(client, tokens, tree.upper1, ["officer"], READ, id=upward)
    before = await _rows(owner, tree, "public")
    rows = await owner.fetch(
        "SELECT award, jsonb_array_length(review) AS n FROM decision_recipients "
        "WHERE who = $1 AND review <> '[]'",
        who,
    )
    assert {r["award"]: r["n"] for r in rows} == flagged
    kept = await owner.fetchval(
        "SELECT history::text FROM people WHERE tenant_id = $1 AND status = 'transferred'",
        tree.cs1,
    )
    assert "reprimand" not in kept and "transferred" in kept

    await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=2)

    after = await _rows(owner, tree, "public")
    assert {t: after[t] for t in after if after[t] != before[t]} == {}
    # and the forwarding unit still reads the province's verdict on what it sent
    again = await gql(client, tokens, tree.upper1, ["officer"], READ, id=upward)
    assert again == seen
    assert seen["data"]["proposal"]["appraisal"] == "completed"


@pytest.fixture
async def aside(database_url):
    """The awards projection under a name of its own, built beside the live one and caught up
    only as a test says (the session's runner does not run it)."""
    async with built_beside(database_url, ASIDE) as target:
        yield target


@pytest.mark.parametrize("order", ["lower units first", "upper units first"])
async def test_the_rows_do_not_depend_on_the_order_the_units_are_caught_up_in(
    tree, owner, runtime, history, aside, order
):
    """Each unit's whole log, one unit after another: a proposer's before or after the
    appraisals of it, a revocation before or after the later awards that leaned on it."""
    units = [tree.cs1, tree.upper1, tree.upper2, tree.prov1, tree.tld]
    async with runtime.projector_pool.acquire() as conn:
        await add_checkpoints(conn, aside)
        for unit in units if order == "lower units first" else units[::-1]:
            while await run_batch(conn, aside, unit, 1_000):
                pass
    assert await _rows(owner, tree, building_schema(ASIDE)) == await _rows(owner, tree, "public")


async def _log(owner, unit: str) -> list[StoredEvent]:
    rows = await owner.fetch(
        "SELECT tenant_id, seq, stream_id, stream_version, event_type, schema_version, "
        "data::text AS data, meta::text AS meta, recorded_at, prev_hash, hash FROM events "
        "WHERE tenant_id = $1 ORDER BY seq",
        unit,
    )
    return [StoredEvent.from_row(r) for r in rows if r["event_type"] in PROJECTION.handlers]


async def _applying(pool, schema: str, events: list[StoredEvent], go: asyncio.Event | None):
    """``events`` applied in one transaction of the projector's, into ``schema``; committed once
    ``go`` is set."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT set_config('search_path', quote_ident($1) || ', public', true)", schema
        )
        await apply(conn, PROJECTION.registry, events)
        if go is not None:
            await go.wait()


@pytest.mark.parametrize("history", ["revoked after"], indirect=True)
async def test_a_revocation_and_a_later_award_applied_at_once_meet(
    tree, owner, runtime, history, aside
):
    """Two runners' transactions at once: the upper-level union's revocations, and TLĐ's
    decision on the Bằng khen that leaned on what they revoke. Neither sees the other's rows
    before it commits; the second to lock the (award, year) pairs waits for the first, then
    reads its rows, so the flags are written either way."""
    schema = building_schema(ASIDE)
    pool = runtime.projector_pool
    upper = await _log(owner, tree.upper1)
    tld = await _log(owner, tree.tld)
    cut_upper = next(i for i, e in enumerate(upper) if e.event_type == "AwardRevoked")
    cut_tld = next(i for i, e in enumerate(tld) if e.event_type == "DecisionIssued")
    for unit in (tree.cs1, tree.prov1, tree.upper2):
        await _applying(pool, schema, await _log(owner, unit), None)
    await _applying(pool, schema, upper[:cut_upper], None)
    await _applying(pool, schema, tld[:cut_tld], None)
    go = asyncio.Event()
    # the revocations first, held open; the decision begins while they are
    first = asyncio.ensure_future(_applying(pool, schema, upper[cut_upper:], go))
    await asyncio.sleep(0.3)
    second = asyncio.ensure_future(_applying(pool, schema, tld[cut_tld:], None))
    await asyncio.sleep(0.3)
    go.set()
    await asyncio.gather(first, second)
    assert await _rows(owner, tree, schema) == await _rows(owner, tree, "public")


async def test_an_erasure_met_halfway_through_the_record_the_person_left(
    tree, owner, runtime, aside
):
    """A rebuild has projected the record cs1 keeps of a person up to before they left (their
    name opened with the key then); the person, gone to upper2, is erased there; the rebuild
    then meets the erasure, and the rest of cs1's log: the record reads as erased, as the live
    one does."""
    schema, pool = building_schema(ASIDE), runtime.projector_pool
    awards = commands_of(runtime)
    moved = await awards.register_person(
        officer(tree.cs1),
        staff_number=uuid.uuid4().hex[:12],
        personal=Personal("Trần Thị Bí Mật", 1980, ("0912 345 678",)),
        particulars=Particulars("female"),
    )
    await awards.record_discipline(officer(tree.cs1), moved, on=today(), form="expulsion")
    await awards.transfer_person(officer(tree.cs1), moved, to_unit=tree.upper2, on=today())
    received = await awards.receive_person(officer(tree.upper2), moved)
    cs1 = await _log(owner, tree.cs1)
    cut = next(i for i, e in enumerate(cs1) if e.event_type == "PersonTransferred")
    await _applying(pool, schema, cs1[:cut], None)
    opened = await owner.fetchval(
        f"SELECT full_name FROM {schema}.people WHERE person_id = $1", moved
    )
    assert opened == "Trần Thị Bí Mật"

    await awards.erase_person(officer(tree.upper2), received, legal_reason="Nghị định 13/2023")
    await _applying(pool, schema, await _log(owner, tree.upper2), None)
    await _applying(pool, schema, cs1[cut:], None)

    assert await _rows(owner, tree, schema) == await _rows(owner, tree, "public")
    left = await owner.fetchrow(
        f"SELECT full_name, birth_year, contacts::text, history::text FROM {schema}.people "
        "WHERE person_id = $1",
        moved,
    )
    assert (left["full_name"], left["birth_year"], left["contacts"]) == (None, None, "[]")
    assert "expulsion" not in left["history"]
