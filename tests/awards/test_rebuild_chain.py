"""``thidua projections rebuild awards`` after the whole chain: the rebuilt register holds the
rows the live one held. A rebuild catches each unit's log up on its own, so an upper level's
appraisal may be projected before the proposal it judges (the province, here, sorts before the
upper-level union whose forwarded proposal it appraises) and a lower level's resubmission
before the verdicts of the round it replaces: no row may depend on that order."""

from __future__ import annotations

import pytest

from services.awards.projections import PROJECTION
from shared.projection_rebuild import rebuild
from tests.awards.test_appraisal import CONCLUDE, READ, TAKE_BACK, judge, sent_proposal
from tests.awards.test_chain import ISSUE, appraise_all, council_passes, forwarded_and_sent
from tests.registry.test_graphql import gql


async def _rows(owner, tree) -> dict[str, list[str]]:
    """Every awards row of the tree's units, as text, table by table."""
    rows = {}
    for table in PROJECTION.tables:
        found = await owner.fetch(
            f"SELECT t::text AS row FROM {table} t WHERE t::text LIKE $1", f"%{tree.prefix}-%"
        )
        rows[table] = sorted(r["row"] for r in found)
    return rows


async def _chain(client, tokens, tree) -> str:
    """A returned round at the bottom, then the chain up to TLĐ: cs1's proposal."""
    pid, (person, collective), _ = await sent_proposal(client, tokens, tree)
    await judge(client, tokens, tree.upper1, pid, person, "ACCEPT")
    await judge(client, tokens, tree.upper1, pid, collective, "RETURN", reason="Bổ sung")
    await gql(client, tokens, tree.upper1, ["officer"], CONCLUDE, id=pid)
    await gql(client, tokens, tree.cs1, ["officer"], TAKE_BACK, id=pid)
    resent = await gql(
        client,
        tokens,
        tree.cs1,
        ["officer"],
        "mutation($id: ID!) { submitProposal(proposalId: $id) { status } }",
        id=pid,
    )
    assert resent["data"]["submitProposal"]["status"] == "submitted", resent
    await appraise_all(client, tokens, tree.upper1, pid)
    session, _ = await council_passes(client, tokens, tree.upper1, pid)
    await gql(client, tokens, tree.upper1, ["approver"], ISSUE, session=session, title="Khen")
    upward, _ = await forwarded_and_sent(client, tokens, tree.upper1, session)
    await appraise_all(client, tokens, tree.prov1, upward)
    session, _ = await council_passes(client, tokens, tree.prov1, upward)
    higher, _ = await forwarded_and_sent(client, tokens, tree.prov1, session)
    await appraise_all(client, tokens, tree.tld, higher)
    session, items = await council_passes(client, tokens, tree.tld, higher)
    await gql(
        client, tokens, tree.tld, ["approver"], ISSUE, session=session, title="Khen", items=items
    )
    return upward


@pytest.mark.parametrize("batch_size", [2, 500])
async def test_a_rebuilt_register_holds_the_live_rows(
    client, tokens, tree, owner, runtime, batch_size
):
    upward = await _chain(client, tokens, tree)
    seen = await gql(client, tokens, tree.upper1, ["officer"], READ, id=upward)
    before = await _rows(owner, tree)

    await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=batch_size)

    after = await _rows(owner, tree)
    assert {t: after[t] for t in after if after[t] != before[t]} == {}
    # and the forwarding unit still reads the province's verdict on what it sent
    again = await gql(client, tokens, tree.upper1, ["officer"], READ, id=upward)
    assert again == seen
    assert seen["data"]["proposal"]["appraisal"] == "completed"
