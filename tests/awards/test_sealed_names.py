"""Names in pledges and initiative authors are personal data (issue 14, point 2): given a unit's
people, when a pledge or an initiative names someone, then their name goes into the event only
sealed with that person's key (matched by staff number, else a person made for the name in
the same append), and erasing the person erases it there too, counts untouched."""

from __future__ import annotations

import orjson
import pytest

from services.awards.bulk import PersonRow, register_people
from services.awards.domain import Particulars, Personal
from services.campaign.bulk import PledgeRow, register_pledges
from services.campaign.projections import PROJECTION as CAMPAIGNS
from shared import audit
from shared.errors import DomainError
from shared.projection_rebuild import rebuild
from tests.awards.conftest import officer
from tests.awards.test_proposals import add, draft
from tests.campaign.conftest import seed_003
from tests.registry.test_graphql import code_of, gql

AN = Personal("Nguyễn Thị Ân", 1988)
AN_PLAIN = Particulars("female", post="Công nhân", direct_worker=True)
ERASE = "Yêu cầu xóa theo Nghị định 13/2023/NĐ-CP"
PLEDGES = """query($c: ID, $s: String) { pledges(campaignId: $c, search: $s) {
  total edges { node { name personId ref title } } } }"""
INITIATIVES = """query($s: String) { initiatives(search: $s) {
  count edges { node { title authors } } } }"""
PERSON = """query($id: ID!) { person(id: $id) { fullName gender staffNumber } }"""


def _pledge(row: int, name: str, ref: str = "", title: str = "lao_dong_tien_tien"):
    return PledgeRow(row=row, subject="", name=name, title=title, ref=ref)


async def _events(owner, tenant: str) -> list[tuple[str, dict]]:
    rows = await owner.fetch(
        "SELECT event_type, data::text AS data FROM events WHERE tenant_id = $1 ORDER BY seq",
        tenant,
    )
    return [(r["event_type"], orjson.loads(r["data"])) for r in rows]


async def _written(owner, tenant: str) -> tuple[int, int]:
    events = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tenant)
    keys = await owner.fetchval("SELECT count(*) FROM person_keys WHERE tenant_id = $1", tenant)
    return events, keys


def _no_plain(data: dict, *names: str) -> None:
    text = orjson.dumps(data).decode()
    for name in names:
        assert name not in text and name.encode("unicode_escape").decode() not in text


async def test_a_pledge_by_staff_number_is_sealed_with_that_persons_key(
    awards, campaigns, tree, owner, client, tokens
):
    actor = officer(tree.cs1)
    pid = await awards.register_person(
        actor, staff_number="NV-1", personal=AN, particulars=AN_PLAIN
    )
    key_id = await owner.fetchval("SELECT key_id FROM people WHERE person_id = $1", pid)
    campaign_id = await seed_003(campaigns, tree.prov1)

    result = await register_pledges(
        campaigns,
        actor,
        campaign_id,
        [
            _pledge(1, "Nguyễn Thị Ân", "nv-1"),
            _pledge(2, "Tổ Cơ điện", title="tap_the_lao_dong_tien_tien"),
        ],
        max_rows=100,
    )

    assert (result.written, result.error_count) == (2, 0)
    pledges = [d for t, d in await _events(owner, tree.cs1) if t == "PledgeRegistered"]
    person, collective = sorted(pledges, key=lambda d: d["subject"] != "person")
    _no_plain(person, "Nguyễn Thị Ân", "Ân")
    assert person["name"] == "" and person["sealed"].startswith("v1.")
    assert person["key_id"]["_data_"] == key_id.hex and person["person_id"]["_data_"] == pid.hex
    assert collective["name"] == "Tổ Cơ điện" and collective["key_id"] is None  # not personal
    assert [t for t, _ in await _events(owner, tree.cs1)].count("PersonRegistered") == 1
    body = await gql(client, tokens, tree.cs1, ["officer"], PLEDGES, c=str(campaign_id), s="an")
    nodes = body["data"]["pledges"]["edges"]
    assert [(n["node"]["name"], n["node"]["personId"]) for n in nodes] == [
        ("Nguyễn Thị Ân", str(pid))
    ]


async def test_a_name_no_one_holds_makes_a_person_in_the_same_append_and_once(
    awards, campaigns, tree, owner, client, tokens
):
    actor = officer(tree.cs1)
    campaign_id = await seed_003(campaigns, tree.prov1)

    await register_pledges(campaigns, actor, campaign_id, [_pledge(1, "Trần Văn Bảo")], max_rows=10)
    await register_pledges(  # the same name again, for another title: the same person
        campaigns,
        actor,
        campaign_id,
        [_pledge(1, "trần văn bảo", title="chien_si_thi_dua_co_so")],
        max_rows=10,
    )

    events = await _events(owner, tree.cs1)
    made = [d for t, d in events if t == "PersonRegistered"]
    assert [t for t, _ in events if t in ("PersonRegistered", "PledgeRegistered")] == [
        "PersonRegistered",
        "PledgeRegistered",
        "PledgeRegistered",
    ]
    assert len(made) == 1 and made[0]["gender"] == "" and made[0]["staff_number"] == ""
    _no_plain(made[0], "Trần Văn Bảo", "Bảo")
    people = await owner.fetch("SELECT * FROM people WHERE tenant_id = $1", tree.cs1)
    assert [(p["full_name"], p["gender"], p["status"]) for p in people] == [
        ("Trần Văn Bảo", "", "active")
    ]
    pid = str(people[0]["person_id"])
    body = await gql(client, tokens, tree.cs1, ["officer"], PERSON, id=pid)
    assert body["data"]["person"] == {"fullName": "Trần Văn Bảo", "gender": None, "staffNumber": ""}


async def test_erasing_the_person_erases_the_name_in_pledges_and_initiatives_counts_stay(
    awards, campaigns, tree, owner, client, tokens, runtime
):
    actor = officer(tree.cs1)
    pid = await awards.register_person(
        actor, staff_number="NV-2", personal=AN, particulars=AN_PLAIN
    )
    campaign_id = await seed_003(campaigns, tree.prov1)
    await register_pledges(
        campaigns, actor, campaign_id, [_pledge(1, "Nguyễn Thị Ân", "NV-2")], max_rows=10
    )
    await campaigns.register_initiative(
        actor,
        title="Máy ép bã mía",
        authors=["Nguyễn Thị Ân", "Lê Văn Cường"],
        author_staff_numbers=["NV-2", ""],
    )
    body = await gql(client, tokens, tree.cs1, ["officer"], INITIATIVES, s="nguyen thi an")
    assert body["data"]["initiatives"]["edges"][0]["node"]["authors"] == [
        "Nguyễn Thị Ân",
        "Lê Văn Cường",
    ]

    await awards.erase_person(actor, pid, legal_reason=ERASE)

    pledges = await gql(client, tokens, tree.cs1, ["officer"], PLEDGES, c=str(campaign_id))
    page = pledges["data"]["pledges"]
    assert page["total"] == 1  # counted still
    assert page["edges"][0]["node"]["name"] is None
    assert page["edges"][0]["node"]["ref"] == "NV-2"
    found = await gql(client, tokens, tree.cs1, ["officer"], PLEDGES, c=str(campaign_id), s="an")
    assert found["data"]["pledges"]["total"] == 0  # nor found by the name
    body = await gql(client, tokens, tree.cs1, ["officer"], INITIATIVES, s="may ep")
    assert body["data"]["initiatives"]["edges"][0]["node"]["authors"] == [None, "Lê Văn Cường"]
    assert (await gql(client, tokens, tree.cs1, ["officer"], INITIATIVES, s="nguyen thi an"))[
        "data"
    ]["initiatives"]["count"] == 0
    verdict = await audit.verify_tenant(owner, tree.cs1)
    assert verdict.ok, verdict.describe()

    # A rebuild from the log opens nothing: the key is gone.
    await rebuild(owner, runtime.projector_pool, CAMPAIGNS)
    pledges = await gql(client, tokens, tree.cs1, ["officer"], PLEDGES, c=str(campaign_id))
    assert pledges["data"]["pledges"]["edges"][0]["node"]["name"] is None
    body = await gql(client, tokens, tree.cs1, ["officer"], INITIATIVES, s="may ep")
    assert body["data"]["initiatives"]["edges"][0]["node"]["authors"] == [None, "Lê Văn Cường"]


async def test_a_pledge_naming_an_erased_person_is_its_rows_error_and_writes_nothing_for_it(
    awards, campaigns, tree, owner
):
    actor = officer(tree.cs1)
    pid = await awards.register_person(
        actor, staff_number="NV-3", personal=AN, particulars=AN_PLAIN
    )
    await awards.erase_person(actor, pid, legal_reason=ERASE)
    campaign_id = await seed_003(campaigns, tree.prov1)

    result = await register_pledges(
        campaigns,
        actor,
        campaign_id,
        [_pledge(1, "Phạm Thị Dung", "NV-4"), _pledge(2, "Nguyễn Thị Ân", "NV-3")],
        max_rows=10,
    )

    assert (result.written, result.error_count) == (1, 1)
    assert [(e.row, e.code) for e in result.errors] == [(2, "PERSON_ERASED")]
    pledged = [d for t, d in await _events(owner, tree.cs1) if t == "PledgeRegistered"]
    assert [d["ref"] for d in pledged] == ["NV-4"]


async def test_a_refused_command_makes_no_person_and_mints_no_key(awards, campaigns, tree, owner):
    actor = officer(tree.cs1)
    campaign_id = await seed_003(campaigns, tree.cs1, launch=False)  # a draft: not open
    before = await _written(owner, tree.cs1)

    with pytest.raises(DomainError) as closed:
        await register_pledges(
            campaigns, actor, campaign_id, [_pledge(1, "Đỗ Văn Em")], max_rows=10
        )
    with pytest.raises(DomainError) as mismatched:
        await campaigns.register_initiative(
            actor, title="Khuôn dập", authors=["Đỗ Văn Em"], author_staff_numbers=["A", "B"]
        )

    assert closed.value.code == "CAMPAIGN_NOT_LAUNCHED"
    assert (mismatched.value.code, mismatched.value.context["field"]) == (
        "INITIATIVE_INVALID",
        "authorStaffNumbers",
    )
    assert await _written(owner, tree.cs1) == before


async def test_the_unit_completes_a_person_made_for_a_name_before_nominating_them(
    awards, campaigns, tree, owner, client, tokens
):
    actor = officer(tree.cs1)
    campaign_id = await seed_003(campaigns, tree.prov1)
    await register_pledges(
        campaigns, actor, campaign_id, [_pledge(1, "Vũ Thị Giang", "NV-9")], max_rows=10
    )
    made = await owner.fetchrow("SELECT * FROM people WHERE tenant_id = $1", tree.cs1)
    assert (made["gender"], made["staff_number"]) == ("", "NV-9")
    proposal = await draft(client, tokens, tree.cs1)
    nominee = {
        "subject": "PERSON",
        "personId": str(made["person_id"]),
        "award": "lao_dong_tien_tien",
    }
    incomplete = await add(client, tokens, tree.cs1, proposal, **nominee)
    assert code_of(incomplete) == "PERSON_INCOMPLETE"

    result = await register_people(
        awards,
        actor,
        [PersonRow(1, "NV-9", Personal("Vũ Thị Giang", 1990), AN_PLAIN)],
        max_rows=10,
    )

    assert (result.written, result.unchanged) == (1, 0)
    row = await owner.fetchrow("SELECT * FROM people WHERE person_id = $1", made["person_id"])
    assert (row["gender"], row["birth_year"], row["key_id"]) == ("female", 1990, made["key_id"])
    again = await register_people(
        awards, actor, [PersonRow(1, "NV-9", Personal("Vũ Thị Giang", 1990), AN_PLAIN)], max_rows=10
    )
    assert (again.written, again.unchanged) == (0, 1)
    added = await add(client, tokens, tree.cs1, proposal, **nominee)
    assert "errors" not in added, added


REQUIRE_PLEDGE = """mutation { addLocalRule(code: "chua_dang_ky", kind: "exclusion",
  message: "Không xét danh hiệu cho người không đăng ký thi đua", effectiveFrom: "2021-01-01",
  source: "Quyết định 15/QĐ-LĐLĐ", numbers: {registered: 1}) }"""


async def test_a_provinces_exclusion_of_the_not_registered_weighs_the_pledges_that_name_them(
    awards, campaigns, tree, client, tokens
):
    added = await gql(client, tokens, tree.prov1, ["officer"], REQUIRE_PLEDGE)
    assert "errors" not in added, added
    actor = officer(tree.cs1)
    an = await awards.register_person(actor, staff_number="R-1", personal=AN, particulars=AN_PLAIN)
    binh = await awards.register_person(
        actor, staff_number="R-2", personal=Personal("Trần Văn Bình"), particulars=AN_PLAIN
    )
    campaign_id = await seed_003(campaigns, tree.prov1)
    await register_pledges(  # 2021 (the tests' clock): An pledges Lao động tiên tiến, Bình not
        campaigns, actor, campaign_id, [_pledge(1, "Nguyễn Thị Ân", "R-1")], max_rows=10
    )
    proposal = await draft(client, tokens, tree.cs1, year=2021)

    def nominee(person, award="lao_dong_tien_tien"):
        return {"subject": "PERSON", "personId": str(person), "award": award}

    pledged = await add(client, tokens, tree.cs1, proposal, **nominee(an))
    assert pledged["data"]["addNominee"]["findings"] == [], pledged
    unpledged = await add(client, tokens, tree.cs1, proposal, **nominee(binh))
    [finding] = unpledged["data"]["addNominee"]["findings"]
    assert (finding["rule"], finding["version"]) == ("chua_dang_ky", f"local:{tree.prov1}")
    assert "không đăng ký thi đua" in finding["message"]
    next_year = await draft(client, tokens, tree.cs1, year=2022)  # her pledge was for 2021
    later = await add(client, tokens, tree.cs1, next_year, **nominee(an))
    assert [f["rule"] for f in later["data"]["addNominee"]["findings"]] == ["chua_dang_ky"]


SUMMARY = "Chị Ánh cứu hai công nhân khỏi đám cháy xưởng sợi"
NOMINEES = """query($id: ID!) { proposal(id: $id) { nominees(first: 10) { edges { node {
  subject summary } } } } }"""


async def test_a_persons_summary_is_sealed_forwarded_sealed_again_and_erased(
    awards, tree, owner, client, tokens
):
    from tests.awards.test_chain import appraise_all, council_passes, forwarded_and_sent
    from tests.awards.test_proposals import PDF, SUBMIT, upload

    actor = officer(tree.cs1)
    anh = await awards.register_person(
        actor, staff_number="S-1", personal=Personal("Nguyễn Thị Ánh", 1990), particulars=AN_PLAIN
    )
    proposal = await draft(client, tokens, tree.cs1, kind="AD_HOC")
    for nominee in (
        {"subject": "PERSON", "personId": str(anh), "award": "bang_khen_ldld", "summary": SUMMARY},
        {
            "subject": "COLLECTIVE",
            "unitId": tree.cs1,
            "award": "bang_khen_ldld",
            "summary": "Tổ sợi",
        },
    ):
        added = await add(client, tokens, tree.cs1, proposal, **nominee)
        assert added["data"]["addNominee"]["findings"] == [], added
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, tree.cs1, proposal, kind, PDF + kind.encode())
    sent = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=proposal)
    assert sent["data"]["submitProposal"]["status"] == "submitted", sent
    await appraise_all(client, tokens, tree.upper1, proposal)
    session, _ = await council_passes(client, tokens, tree.upper1, proposal)
    forwarded, _ = await forwarded_and_sent(client, tokens, tree.upper1, session, expected=2)

    for unit in (tree.cs1, tree.upper1):  # neither log holds her summary in plain text
        for _, data in await _events(owner, unit):
            _no_plain(data, SUMMARY, "đám cháy")
    for pid, unit in ((proposal, tree.cs1), (forwarded, tree.upper1)):
        body = await gql(client, tokens, unit, ["officer"], NOMINEES, id=pid)
        shown = {
            e["node"]["subject"]: e["node"]["summary"]
            for e in body["data"]["proposal"]["nominees"]["edges"]
        }
        assert shown == {"PERSON": SUMMARY, "COLLECTIVE": "Tổ sợi"}

    await awards.erase_person(actor, anh, legal_reason=ERASE)

    for pid, unit in ((proposal, tree.cs1), (forwarded, tree.upper1)):
        body = await gql(client, tokens, unit, ["officer"], NOMINEES, id=pid)
        shown = {
            e["node"]["subject"]: e["node"]["summary"]
            for e in body["data"]["proposal"]["nominees"]["edges"]
        }
        assert shown == {"PERSON": "", "COLLECTIVE": "Tổ sợi"}  # hers gone, counted still
