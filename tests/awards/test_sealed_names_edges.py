"""Sealed names at their edges (issue 14, point 2; found by an attacker's review): an erasure
racing a pledge, names that must not be testable once erased, namesakes, a made person's
transfer, the pledge counts, the bounds, the idempotency fingerprint, and rule 10's pledge year.
Given a unit's people and a campaign, when a pledge or an initiative names someone, then this."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest

from services.awards.domain import Personal
from services.campaign.bulk import register_pledges
from shared.db import owner_connection
from shared.errors import DomainError
from tests.awards.conftest import officer
from tests.awards.test_proposals import add, draft
from tests.awards.test_sealed_names import AN, AN_PLAIN, ERASE, REQUIRE_PLEDGE, _pledge
from tests.campaign.conftest import seed_003
from tests.registry.test_graphql import code_of, gql

PLEDGES = """query($c: ID, $first: Int, $after: String) {
  pledges(campaignId: $c, first: $first, after: $after) {
  total edges { cursor node { id name personId ref title } } } }"""


async def _people(owner, unit: str) -> list[dict]:
    rows = await owner.fetch(
        "SELECT person_id, full_name, staff_number, status, gender FROM people "
        "WHERE tenant_id = $1 ORDER BY registered_on, staff_number, full_name",
        unit,
    )
    return [dict(r) for r in rows]


async def _locked(conn, tenant: str, name: str) -> None:
    """A projection's checkpoint for the unit held, as a busy runner would: it waits."""
    await conn.execute("BEGIN")
    held = await conn.fetch(
        "SELECT last_seq FROM projection_checkpoints WHERE tenant_id = $1 AND name = $2 FOR UPDATE",
        tenant,
        name,
    )
    assert held, name


async def test_a_pledge_appended_after_the_erasure_never_opens_the_name(
    awards, campaigns, tree, owner, database_url, runtime, monkeypatch
):
    actor = officer(tree.cs1)
    pid = await awards.register_person(
        actor, staff_number="RACE-1", personal=AN, particulars=AN_PLAIN
    )
    campaign_id = await seed_003(campaigns, tree.prov1)
    monkeypatch.setattr(runtime.pipeline, "projection_wait_s", 0.3)
    async with (
        owner_connection(database_url) as awards_held,
        owner_connection(database_url) as campaigns_held,
    ):
        await _locked(awards_held, tree.cs1, "awards")
        await _locked(campaigns_held, tree.cs1, "campaigns")
        await awards.erase_person(actor, pid, legal_reason=ERASE)
        # Decided while the register still shows her: the pledge lands after the erasure, in
        # the same batch of the campaigns' projection.
        await register_pledges(
            campaigns, actor, campaign_id, [_pledge(1, "Nguyễn Thị Ân", "RACE-1")], max_rows=10
        )
        head = await owner.fetchval("SELECT seq FROM tenant_heads WHERE tenant_id = $1", tree.cs1)
        await campaigns_held.execute("ROLLBACK")  # the campaigns' projection goes first
        for _ in range(200):
            at = await owner.fetchval(
                "SELECT max(last_seq) FROM projection_checkpoints WHERE tenant_id = $1 "
                "AND name = 'campaigns'",
                tree.cs1,
            )
            if at >= head:
                break
            await asyncio.sleep(0.05)
        await awards_held.execute("ROLLBACK")
    monkeypatch.setattr(runtime.pipeline, "projection_wait_s", 10.0)
    await runtime.pipeline.caught_up(tree.cs1, head)
    names = await owner.fetch(
        "SELECT name FROM campaign_pledges WHERE tenant_id = $1 AND subject = 'person'", tree.cs1
    )
    assert [r["name"] for r in names] == [""]


async def test_after_an_erasure_a_namesake_is_a_new_person_and_nothing_tells_the_name(
    awards, campaigns, tree, owner, client, tokens
):
    actor = officer(tree.cs1)
    campaign_id = await seed_003(campaigns, tree.prov1)
    await register_pledges(campaigns, actor, campaign_id, [_pledge(1, "Trần Văn Bảo")], max_rows=10)
    [made] = await _people(owner, tree.cs1)
    body = await gql(client, tokens, tree.cs1, ["officer"], PLEDGES, c=str(campaign_id))
    first = body["data"]["pledges"]["edges"][0]["node"]
    assert first["personId"] == str(made["person_id"])
    # Neither the person's id nor the pledge's follows from the name.
    for namespace in (uuid.NAMESPACE_OID, uuid.UUID("3f1c2a9e-6b7d-5e0f-9a41-7c2d8e5b6a10")):
        assert uuid.uuid5(namespace, f"named:{tree.cs1}:trần văn bảo") != made["person_id"]

    await awards.erase_person(actor, made["person_id"], legal_reason=ERASE)

    again = await register_pledges(  # another Trần Văn Bảo, the same title
        campaigns, actor, campaign_id, [_pledge(1, "Trần Văn Bảo")], max_rows=10
    )
    assert (again.written, again.unchanged, again.error_count) == (1, 0, 0)
    people = await _people(owner, tree.cs1)
    assert sorted((p["status"], p["full_name"] or "") for p in people) == [
        ("active", "Trần Văn Bảo"),
        ("erased", ""),
    ]


async def test_a_name_without_staff_number_is_the_one_person_of_that_name_else_ambiguous(
    awards, campaigns, tree, owner, client, tokens
):
    actor = officer(tree.cs1)
    an = await awards.register_person(actor, staff_number="NV-2", personal=AN, particulars=AN_PLAIN)
    for number in ("H-1", "H-2"):
        await awards.register_person(
            actor, staff_number=number, personal=Personal("Lê Thị Hoa"), particulars=AN_PLAIN
        )
    campaign_id = await seed_003(campaigns, tree.prov1)

    result = await register_pledges(
        campaigns,
        actor,
        campaign_id,
        [_pledge(1, "nguyễn thị ân"), _pledge(2, "Lê Thị Hoa")],
        max_rows=10,
    )

    assert (result.written, result.error_count) == (1, 1)
    assert [(e.row, e.code, e.field) for e in result.errors] == [(2, "PERSON_AMBIGUOUS", "name")]
    body = await gql(client, tokens, tree.cs1, ["officer"], PLEDGES, c=str(campaign_id))
    assert [e["node"]["personId"] for e in body["data"]["pledges"]["edges"]] == [str(an)]
    assert len(await _people(owner, tree.cs1)) == 3  # no one made
    await awards.erase_person(actor, an, legal_reason=ERASE)
    body = await gql(client, tokens, tree.cs1, ["officer"], PLEDGES, c=str(campaign_id))
    assert [e["node"]["name"] for e in body["data"]["pledges"]["edges"]] == [None]


async def test_every_row_is_written_unchanged_or_refused_once(awards, campaigns, tree):
    actor = officer(tree.cs1)
    pid = await awards.register_person(
        actor, staff_number="NV-3", personal=AN, particulars=AN_PLAIN
    )
    await awards.erase_person(actor, pid, legal_reason=ERASE)
    campaign_id = await seed_003(campaigns, tree.prov1)
    rows = [_pledge(1, "Phạm Thị Dung", "NV-4"), _pledge(2, "Nguyễn Thị Ân", "NV-3")]
    rows += [_pledge(3, "Đỗ Văn Em"), _pledge(4, "Đỗ Văn Em", "M" * 65)]

    first = await register_pledges(campaigns, actor, campaign_id, rows, max_rows=10)
    second = await register_pledges(campaigns, actor, campaign_id, rows, max_rows=10)

    assert (first.received, first.written, first.unchanged, first.error_count) == (4, 2, 0, 2)
    assert [(e.row, e.code, e.field) for e in first.errors] == [
        (2, "PERSON_ERASED", "name"),
        (4, "PLEDGE_INVALID", "ref"),  # a staff number: 64 characters at most
    ]
    assert (second.written, second.unchanged, second.error_count) == (0, 2, 2)


async def test_a_person_made_for_a_name_is_completed_before_a_transfer(
    awards, campaigns, tree, owner
):
    actor = officer(tree.cs1)
    campaign_id = await seed_003(campaigns, tree.prov1)
    await register_pledges(
        campaigns, actor, campaign_id, [_pledge(1, "Vũ Thị Giang", "NV-9")], max_rows=10
    )
    [made] = await _people(owner, tree.cs1)
    with pytest.raises(DomainError) as refused:
        await awards.transfer_person(
            actor, made["person_id"], to_unit=tree.upper2, on=date(2021, 1, 20)
        )
    assert refused.value.code == "PERSON_INCOMPLETE"
    await awards.register_person(
        actor, staff_number="NV-9", personal=Personal("Vũ Thị Giang", 1990), particulars=AN_PLAIN
    )
    await awards.transfer_person(
        actor, made["person_id"], to_unit=tree.upper2, on=date(2021, 1, 20)
    )
    received = await awards.receive_person(officer(tree.upper2), made["person_id"])
    assert received is not None


async def test_staff_numbers_one_per_author_no_more(campaigns, tree, owner):
    actor = officer(tree.cs1)
    authors = [f"Tác Giả {chr(0x41 + i // 26)}{chr(0x41 + i % 26)}" for i in range(50)]
    before = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.cs1)
    with pytest.raises(DomainError) as refused:
        await campaigns.register_initiative(
            actor,
            title="Nhiều tác giả",
            authors=authors,
            author_staff_numbers=[f"S-{i}" for i in range(51)],
        )
    assert (refused.value.code, refused.value.context["field"]) == (
        "INITIATIVE_INVALID",
        "authorStaffNumbers",
    )
    with pytest.raises(DomainError) as too_long:  # a staff number past the register's bound
        await campaigns.register_initiative(
            actor, title="Khuôn", authors=["Lê Văn Tư"], author_staff_numbers=["9" * 200]
        )
    assert (too_long.value.code, too_long.value.context["field"]) == (
        "PERSON_INVALID",
        "authorStaffNumbers",
    )
    assert (
        await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.cs1) == before
    )


async def test_an_idempotency_key_answers_without_weighing_the_names(
    awards, campaigns, tree, owner
):
    actor = officer(tree.cs1)
    first = await campaigns.register_initiative(
        actor, title="Máy ép bã mía", authors=["Lê Văn Cường"], idempotency_key="ini-1"
    )
    [made] = await _people(owner, tree.cs1)
    await awards.erase_person(actor, made["person_id"], legal_reason=ERASE)
    answers = [
        await campaigns.register_initiative(
            actor, title="Máy ép bã mía", authors=[guess], idempotency_key="ini-1"
        )
        for guess in ("Nguyễn Văn An", "Lê Văn Cường")
    ]
    assert answers == [first, first]  # the same answer whichever name is guessed
    with pytest.raises(DomainError) as other:  # other input still tells itself apart
        await campaigns.register_initiative(
            actor, title="Khuôn dập", authors=["Lê Văn Cường"], idempotency_key="ini-1"
        )
    assert other.value.code == "IDEMPOTENCY_KEY_REUSED"


async def test_two_at_once_with_one_key_leave_no_key_behind(campaigns, tree, owner):
    actor = officer(tree.cs1)
    for i in range(3):
        await asyncio.gather(
            campaigns.register_initiative(
                actor, title="M", authors=[f"Ông A{i}"], idempotency_key=f"k-{i}"
            ),
            campaigns.register_initiative(
                actor, title="N", authors=[f"Bà B{i}"], idempotency_key=f"k-{i}"
            ),
            return_exceptions=True,
        )
    keys = await owner.fetchval("SELECT count(*) FROM person_keys WHERE tenant_id = $1", tree.cs1)
    assert keys == len(await _people(owner, tree.cs1)) == 3


async def test_rule_10_counts_a_pledge_by_its_campaigns_year(
    awards, campaigns, tree, client, tokens, clock
):
    added = await gql(client, tokens, tree.prov1, ["officer"], REQUIRE_PLEDGE)
    assert "errors" not in added, added
    actor = officer(tree.cs1)
    clock.on = date(2020, 12, 20)
    an = await awards.register_person(actor, staff_number="R-1", personal=AN, particulars=AN_PLAIN)
    campaign_id = await seed_003(campaigns, tree.prov1)  # 2021's, launched in December 2020
    await register_pledges(
        campaigns, actor, campaign_id, [_pledge(1, "Nguyễn Thị Ân", "R-1")], max_rows=10
    )
    clock.on = date(2021, 1, 20)
    nominee = {"subject": "PERSON", "personId": str(an), "award": "lao_dong_tien_tien"}
    for year, rules in ((2021, []), (2020, ["chua_dang_ky"])):
        proposal = await draft(client, tokens, tree.cs1, year=year)
        body = await add(client, tokens, tree.cs1, proposal, **nominee)
        assert [f["rule"] for f in body["data"]["addNominee"]["findings"]] == rules, body
    assert code_of(body) is None


async def test_commands_at_once_naming_someone_new_make_one_person(campaigns, tree, owner):
    actor = officer(tree.cs1)
    campaign_id = await seed_003(campaigns, tree.prov1)
    results = await asyncio.gather(
        register_pledges(campaigns, actor, campaign_id, [_pledge(1, "Đinh Văn Lộc")], max_rows=10),
        register_pledges(
            campaigns,
            actor,
            campaign_id,
            [_pledge(1, "đinh văn lộc", title="chien_si_thi_dua_co_so")],
            max_rows=10,
        ),
        campaigns.register_initiative(actor, title="Khuôn", authors=["ĐINH VĂN LỘC"]),
    )
    assert [r.written for r in results[:2]] == [1, 1]
    people = await _people(owner, tree.cs1)
    keys = await owner.fetchval("SELECT count(*) FROM person_keys WHERE tenant_id = $1", tree.cs1)
    assert (len(people), keys) == (1, 1)


async def test_a_name_with_a_control_character_is_refused_whoever_it_names(
    awards, campaigns, tree, owner
):
    actor = officer(tree.cs1)
    await awards.register_person(actor, staff_number="C-1", personal=AN, particulars=AN_PLAIN)
    campaign_id = await seed_003(campaigns, tree.prov1)
    before = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.cs1)
    result = await register_pledges(
        campaigns,
        actor,
        campaign_id,
        [_pledge(1, "Nguyễn Thị Ân\x07", "C-1"), _pledge(2, "Lê Văn Tư", "C\x00-2")],
        max_rows=10,
    )
    assert [(e.row, e.code, e.field) for e in result.errors] == [
        (1, "PLEDGE_INVALID", "name"),
        (2, "PLEDGE_INVALID", "ref"),
    ]
    with pytest.raises(DomainError) as refused:
        await campaigns.register_initiative(
            actor, title="Khuôn", authors=["Nguyễn Thị Ân\x1b"], author_staff_numbers=["C-1"]
        )
    assert refused.value.code == "INITIATIVE_INVALID"
    assert (
        await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.cs1) == before
    )
