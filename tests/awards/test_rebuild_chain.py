"""``thidua projections rebuild awards`` after the whole chain: the rebuilt register holds the
rows the live one held. A rebuild catches each unit's log up on its own, so an upper level's
appraisal may be projected before the proposal it judges (the province, here, sorts before the
upper-level union whose forwarded proposal it appraises) and a lower level's resubmission
before the verdicts of the round it replaces: no row may depend on that order."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, timedelta

import pytest

from services.awards.commands_decisions import decision_commands_of, revoke
from services.awards.projections import PROJECTION
from services.campaign.commands import commands_of as campaign_commands
from shared.clock import today
from shared.db import owner_connection
from shared.projection_rebuild import begin, building_schema, rebuild
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
    for award in ("lao_dong_tien_tien", "chien_si_thi_dua_co_so"):
        decision = titles[award, 2025]["id"]
        await _revoked(client, tokens, tree.upper1, decision, who, today() + timedelta(2), runtime)
    flagged = {"chien_si_thi_dua_co_so"} | (
        {"bang_khen_tld"} if request.param == "revoked after" else set()
    )
    return upward, who, flagged


async def test_a_rebuilt_register_holds_the_live_rows(
    client, tokens, tree, owner, runtime, history
):
    upward, who, flagged = history
    seen = await gql(client, tokens, tree.upper1, ["officer"], READ, id=upward)
    before = await _rows(owner, tree, "public")
    rows = await owner.fetch(
        "SELECT award FROM decision_recipients WHERE who = $1 AND review <> '[]'", who
    )
    assert {r["award"] for r in rows} == flagged

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
    async with owner_connection(database_url) as owner:
        target = await begin(owner, ASIDE)
        yield target
        await owner.execute(f"DROP SCHEMA IF EXISTS {building_schema(ASIDE)} CASCADE")
        for table in ("projection_checkpoints", "projection_versions"):
            await owner.execute(f"DELETE FROM {table} WHERE name = $1", ASIDE.name)


@pytest.mark.parametrize("order", ["lower units first", "upper units first"])
async def test_the_rows_do_not_depend_on_the_order_the_units_are_caught_up_in(
    tree, owner, runtime, history, aside, order
):
    """Each unit's whole log, one unit after another: a proposer's before or after the
    appraisals of it, a revocation before or after the later awards that leaned on it."""
    units = [tree.cs1, tree.upper1, tree.prov1, tree.tld]
    async with runtime.projector_pool.acquire() as conn:
        await add_checkpoints(conn, aside)
        for unit in units if order == "lower units first" else units[::-1]:
            while await run_batch(conn, aside, unit, 1_000):
                pass
    assert await _rows(owner, tree, building_schema(ASIDE)) == await _rows(owner, tree, "public")
