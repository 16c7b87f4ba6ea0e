"""A person nominee's summary is about them (issue 14, point 2; found by an attacker's second
review): given a proposal naming someone, when it is forwarded, erased, raced or repeated, then
the summary is nowhere in plain text, and erasure blanks it everywhere it was opened."""

from __future__ import annotations

import asyncio

from services.awards import projections as awards_projections
from services.awards.commands_proposals import proposal_commands_of
from services.awards.domain import Personal
from shared import access
from shared.clock import today
from tests.awards.conftest import officer
from tests.awards.test_chain import appraise_all, council_passes, forwarded_and_sent
from tests.awards.test_proposals import ADD, PDF, SUBMIT, add, draft, upload
from tests.awards.test_sealed_names import AN_PLAIN, ERASE, NOMINEES, _events
from tests.registry.conftest import principal
from tests.registry.test_graphql import code_of, gql


async def _sent(client, tokens, unit, person, summary):
    proposal = await draft(client, tokens, unit, kind="AD_HOC")
    nominee = {"subject": "PERSON", "personId": str(person), "award": "bang_khen_ldld"}
    added = await add(client, tokens, unit, proposal, **nominee, summary=summary)
    assert added["data"]["addNominee"]["findings"] == [], added
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, unit, proposal, kind, PDF + kind.encode())
    sent = await gql(client, tokens, unit, ["officer"], SUBMIT, id=proposal)
    assert sent["data"]["submitProposal"]["status"] == "submitted", sent
    return proposal


async def _summaries(client, tokens, unit, proposal, roles=("officer",)):
    body = await gql(client, tokens, unit, list(roles), NOMINEES, id=proposal)
    return [e["node"]["summary"] for e in body["data"]["proposal"]["nominees"]["edges"]]


async def test_a_forward_carries_the_sealed_summary_even_when_the_person_is_out_of_reach(
    awards, registry, tree, owner, client, tokens
):
    summary = "Anh Khoa cứu ba công nhân khỏi vụ nổ lò hơi"
    actor = officer(tree.cs1)
    khoa = await awards.register_person(
        actor, staff_number="K-2", personal=Personal("Lê Văn Khoa", 1985), particulars=AN_PLAIN
    )
    proposal = await _sent(client, tokens, tree.cs1, khoa, summary)
    await appraise_all(client, tokens, tree.upper1, proposal)
    session, _ = await council_passes(client, tokens, tree.upper1, proposal)
    await registry.move(None, tree.cs1, tree.upper2, today())  # moved before the forward

    forwarded, _ = await forwarded_and_sent(client, tokens, tree.upper1, session, expected=1)

    for _, data in await _events(owner, tree.upper1):
        assert "lò hơi" not in str(data)
    assert await _summaries(client, tokens, tree.upper1, forwarded) == [summary]
    await awards.erase_person(actor, khoa, legal_reason=ERASE)
    assert await _summaries(client, tokens, tree.upper1, forwarded) == [""]


async def test_an_erasure_racing_the_projection_of_a_summary_still_blanks_it(
    awards, tree, owner, runtime, monkeypatch, clock
):
    summary = "Chị Mai hiến máu cứu người bị nạn 20 lần"
    actor = officer(tree.cs1)
    mai = await awards.register_person(
        actor, staff_number="M-1", personal=Personal("Đỗ Thị Mai", 1990), particulars=AN_PLAIN
    )
    proposals = proposal_commands_of(runtime, clock)
    upper = officer(tree.upper1)
    pid = await proposals.draft(upper, title="Đề nghị", kind="ad_hoc", year=2021, topic="")
    reached, release = asyncio.Event(), asyncio.Event()
    original = awards_projections._HANDLERS["NomineeAdded"]

    async def held(conn, stored, e, keys):  # upper1's batch, its keys read, held a moment
        if stored.tenant_id == tree.upper1:
            reached.set()
            await release.wait()
        await original(conn, stored, e, keys)

    monkeypatch.setitem(awards_projections._HANDLERS, "NomineeAdded", held)
    monkeypatch.setattr(runtime.pipeline, "projection_wait_s", 0.3)
    await proposals.add_nominee(
        upper, pid, subject="person", award="bang_khen_ldld", person_id=mai, summary=summary
    )
    try:
        await asyncio.wait_for(reached.wait(), 10)
        # cs1's log, another batch: appended, and applied while upper1's is held.
        erasure = asyncio.create_task(awards.erase_person(actor, mai, legal_reason=ERASE))
        await asyncio.sleep(0.5)
    finally:
        release.set()
    await erasure
    monkeypatch.setattr(runtime.pipeline, "projection_wait_s", 10.0)
    for unit in (tree.upper1, tree.cs1):
        head = await owner.fetchval("SELECT seq FROM tenant_heads WHERE tenant_id = $1", unit)
        await asyncio.wait_for(runtime.pipeline.caught_up(unit, head), 20)
    row = await owner.fetchval(
        "SELECT summary FROM proposal_nominees WHERE tenant_id = $1 AND proposal_id = $2",
        tree.upper1,
        pid,
    )
    assert row == ""


async def test_a_key_left_behind_by_a_transfer_is_no_longer_readable_there(
    awards, tree, owner, runtime, clock
):
    actor = officer(tree.cs1)
    pid = await awards.register_person(
        actor, staff_number="T-1", personal=Personal("Ngô Thị Thu", 1992), particulars=AN_PLAIN
    )
    key_id = await owner.fetchval("SELECT key_id FROM people WHERE person_id = $1", pid)

    async def reads(unit: str) -> bool:
        async with access.scope(runtime.pool, principal(unit, "officer")) as conn:
            return bool(await conn.fetch("SELECT 1 FROM person_keys WHERE key_id = $1", key_id))

    assert [await reads(u) for u in (tree.cs1, tree.upper1, tree.upper3)] == [True, True, False]
    await awards.transfer_person(actor, pid, to_unit=tree.upper3, on=clock())
    await awards.receive_person(officer(tree.upper3), pid)
    assert [await reads(u) for u in (tree.cs1, tree.upper1, tree.prov1, tree.upper3)] == [
        False,
        False,
        False,
        True,
    ]


async def test_a_repeated_key_answers_without_weighing_a_persons_summary(
    awards, tree, client, tokens
):
    lan = await awards.register_person(
        officer(tree.cs1),
        staff_number="L-1",
        personal=Personal("Phan Thị Lan", 1991),
        particulars=AN_PLAIN,
    )
    proposal = await draft(client, tokens, tree.cs1)

    def nominee(summary):
        return {
            "subject": "PERSON",
            "personId": str(lan),
            "award": "lao_dong_tien_tien",
            "summary": summary,
            "idempotencyKey": "add-lan-1",
        }

    first = await gql(
        client, tokens, tree.cs1, ["officer"], ADD, id=proposal, input=nominee("A" * 30)
    )
    await awards.erase_person(officer(tree.cs1), lan, legal_reason=ERASE)
    guesses = [
        await gql(client, tokens, tree.cs1, ["officer"], ADD, id=proposal, input=nominee(s))
        for s in ("B" * 30, "A" * 30)
    ]
    assert [code_of(g) for g in guesses] == [None, None]  # the same answer, whichever guess
    assert {g["data"]["addNominee"]["id"] for g in guesses} == {first["data"]["addNominee"]["id"]}


async def test_a_member_reads_no_persons_summary(awards, tree, client, tokens):
    an = await awards.register_person(
        officer(tree.cs1), staff_number="S-9", personal=Personal("Vũ Thị An"), particulars=AN_PLAIN
    )
    proposal = await draft(client, tokens, tree.cs1, kind="AD_HOC")
    await add(
        client,
        tokens,
        tree.cs1,
        proposal,
        subject="PERSON",
        personId=str(an),
        award="bang_khen_ldld",
        summary="Chị An tự nguyện ở lại ca đêm",
    )
    await add(
        client,
        tokens,
        tree.cs1,
        proposal,
        subject="COLLECTIVE",
        unitId=tree.cs1,
        award="bang_khen_ldld",
        summary="Tổ ca đêm",
    )
    assert sorted(await _summaries(client, tokens, tree.cs1, proposal)) == [
        "Chị An tự nguyện ở lại ca đêm",
        "Tổ ca đêm",
    ]
    assert sorted(await _summaries(client, tokens, tree.cs1, proposal, roles=("member",))) == [
        "",
        "Tổ ca đêm",
    ]
