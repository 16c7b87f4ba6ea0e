"""The rules that count beyond one nominee (issue 14, point 4; DOMAIN.md rules 2, 3, 6 and 10),
as specifications: first on the facts a command reads (pure), then through GraphQL against the
register, where two proposals in flight at once meet at the decision.

- Rule 2: within one deciding level and one year, a comprehensive (regular) form and a thematic
  one exclude each other; ad hoc and career awards aside.
- Rule 3: the Chiến sĩ thi đua cơ sở of a unit and those below it, at most 15% of its holders of
  Lao động tiên tiến that year, rounded up (a federation may set a lower share).
- Rule 6: TLĐ's thematic Bằng khen, at most 300 per topic a year nationally.
- Rule 10: no title for a person away 40 working days or more (maternity leave not counted),
  employed under 10 months in the year, or disciplined that year (a federation may lower the
  numbers, and its rule is then the one named)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, timedelta
from types import MappingProxyType

import pytest

from services.awards import commands_decisions
from services.awards.rules import (
    AwardedFacts,
    LocalRuleFacts,
    NomineeFacts,
    PersonFacts,
    QuotaFacts,
    Rule,
    findings,
    rule_set_on,
)
from services.campaign.commands import commands_of as campaign_commands
from shared.clock import today
from tests.awards.conftest import nodes, officer
from tests.awards.test_chain import ISSUE, appraise_all, council_passes, forwarded_and_sent
from tests.awards.test_people_graphql import AN, register
from tests.awards.test_proposals import PDF, SUBMIT, add, draft, upload
from tests.registry.test_graphql import code_of, gql

RULES = rule_set_on(date(2025, 6, 1))
ABOVE_GRASSROOTS = ("upper", "provincial", "sector", "national")


def nominee(award: str, **facts) -> NomineeFacts:
    base = {
        "award": award,
        "subject": "person",
        "who": "person:p1",
        "kind": "regular",
        "year": 2025,
        "ancestor_levels": ABOVE_GRASSROOTS,
        "state": False,
        "deciders": ("upper", "provincial", "sector", "national"),
        "person": PersonFacts(direct_worker=True, cadre="none", cadre_since=None),
    }
    return NomineeFacts(**(base | facts))


def rules_of(found) -> list[tuple[str, str]]:
    return [(f["rule"], f["version"]) for f in found]


# --- rule 2 ---------------------------------------------------------------------------------


def test_a_thematic_form_beside_a_comprehensive_one_of_the_same_level_and_year_is_found():
    regular = AwardedFacts("giay_khen_cd_cap_tren", 2025, "regular", "upper")
    thematic = nominee(
        "giay_khen_cd_cap_tren", kind="thematic", deciders=("upper",), awarded=(regular,)
    )
    assert rules_of(findings(RULES, thematic)) == [("ONE_ACHIEVEMENT_ONE_AWARD", "999/2024")]
    for other in (
        dataclasses.replace(thematic, kind="ad_hoc"),  # ad hoc awards are excepted
        dataclasses.replace(thematic, year=2024),  # another year
        dataclasses.replace(  # another deciding level
            thematic, awarded=(dataclasses.replace(regular, level="provincial"),)
        ),
        dataclasses.replace(  # a title is not a form
            thematic, awarded=(AwardedFacts("lao_dong_tien_tien", 2025, "regular", "upper"),)
        ),
    ):
        assert findings(RULES, other) == []


# --- rule 3 ---------------------------------------------------------------------------------


def cstdcs(**facts) -> NomineeFacts:
    return nominee(
        "chien_si_thi_dua_co_so",
        earlier_titles=(("lao_dong_tien_tien", 2025),),
        initiatives=(),
        **facts,
    )


def test_the_chien_si_quota_is_a_share_of_the_lao_dong_tien_tien_holders_rounded_up():
    prerequisite = ("CSTDCS_PREREQUISITES", "999/2024")  # no initiative here: found either way
    third = cstdcs(quota=QuotaFacts(holders=20, taken=2))
    assert rules_of(findings(RULES, third)) == [prerequisite]  # 15% of 20 is 3
    fourth = cstdcs(quota=QuotaFacts(holders=20, taken=3))
    found = findings(RULES, fourth)
    assert rules_of(found) == [prerequisite, prerequisite]
    assert "tối đa 3: 15% của 20" in found[1]["message"]
    first_of_few = cstdcs(quota=QuotaFacts(holders=0, taken=0))  # one named holds the title
    assert rules_of(findings(RULES, first_of_few)) == [prerequisite]
    second_of_few = cstdcs(quota=QuotaFacts(holders=2, taken=1))
    assert len(findings(RULES, second_of_few)) == 2


def test_a_federations_lower_quota_is_the_rule_named():
    local = LocalRuleFacts(
        "prov", "ty_le_cstdcs", "quota", "Tối đa 10%", "QĐ 5/LĐLĐ", {"quota_percent": 10}
    )
    found = findings(RULES, cstdcs(quota=QuotaFacts(holders=20, taken=2), local=(local,)))
    assert rules_of(found)[-1] == ("ty_le_cstdcs", "local:prov")
    assert found[-1]["source"] == "QĐ 5/LĐLĐ" and "tối đa 2" in found[-1]["message"]
    higher = dataclasses.replace(local, numbers={"quota_percent": 50})  # never looser
    assert len(findings(RULES, cstdcs(quota=QuotaFacts(20, 3), local=(higher,)))) == 2


# --- rule 10 --------------------------------------------------------------------------------


def worker(**facts) -> PersonFacts:
    return PersonFacts(direct_worker=True, cadre="none", cadre_since=None, **facts)


@pytest.mark.parametrize(
    ("person", "excluded"),
    [
        (worker(absent_working_days=39), False),
        (worker(absent_working_days=40), True),
        (worker(employed_since=date(2025, 3, 1)), False),  # March to December: 10 months
        (worker(employed_since=date(2025, 4, 1)), True),
        (worker(employed_since=date(2026, 1, 5)), True),  # not yet employed that year
        (worker(disciplined=("warning",)), True),
        (worker(), False),
    ],
)
def test_local_exclusions_keep_a_person_from_the_years_titles(person, excluded):
    found = findings(RULES, nominee("lao_dong_tien_tien", person=person))
    assert rules_of(found) == ([("LOCAL_EXCLUSIONS", "999/2024")] if excluded else [])
    form = nominee("giay_khen_cd_cap_tren", person=person, deciders=("upper",))
    assert findings(RULES, form) == []  # a form (hình thức) is not a title of the year


def test_a_federations_exclusion_lowers_the_numbers_and_is_named():
    local = LocalRuleFacts(
        "prov", "vang_mat", "exclusion", "Vắng quá 30 ngày", "QĐ 12", {"absent_working_days": 30}
    )
    away = nominee("lao_dong_tien_tien", person=worker(absent_working_days=35), local=(local,))
    found = findings(RULES, away)
    assert rules_of(found) == [("vang_mat", "local:prov")]
    assert "vắng 35 ngày làm việc" in found[0]["message"]
    quota = dataclasses.replace(local, kind="quota")  # a quota rule excludes no one
    assert findings(RULES, dataclasses.replace(away, local=(quota,))) == []


# --- through GraphQL ------------------------------------------------------------------------

ABSENCE = """mutation($id: ID!, $year: Int!, $days: Int!) {
  setAbsence(id: $id, year: $year, workingDays: $days) { version years { year
  absentWorkingDays disciplined } } }"""
DISCIPLINE = """mutation($id: ID!, $on: Date!, $form: String!) {
  recordDiscipline(id: $id, on: $on, form: $form) { version years { year absentWorkingDays
  disciplined } history { what } } }"""
ADD_RULE = """mutation($numbers: JSON!) { addLocalRule(code: "vang_mat", kind: "exclusion",
  message: "Không xét người vắng từ 30 ngày làm việc", effectiveFrom: "2025-01-01",
  source: "Quyết định 12/QĐ-LĐLĐ", numbers: $numbers) }"""


async def test_absence_and_discipline_recorded_and_weighed_by_rule_10(client, tokens, tree):
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": "R10"})
    set_ = await gql(
        client, tokens, tree.cs1, ["officer"], ABSENCE, id=an["id"], year=2025, days=45
    )
    assert set_["data"]["setAbsence"]["years"] == [
        {"year": 2025, "absentWorkingDays": 45, "disciplined": []}
    ]
    version = set_["data"]["setAbsence"]["version"]
    for bad in ({"year": 1999, "days": 3}, {"year": 2025, "days": -1}, {"year": 2025, "days": 400}):
        refused = await gql(client, tokens, tree.cs1, ["officer"], ABSENCE, id=an["id"], **bad)
        assert code_of(refused) == "PERSON_INVALID"
    wrong = await gql(
        client, tokens, tree.cs1, ["officer"], DISCIPLINE, id=an["id"], on="2025-03-02", form="x"
    )
    assert code_of(wrong) == "PERSON_INVALID"
    for unit in (tree.upper2, tree.upper1):  # another unit, and the one above: its own only
        aside = await gql(
            client, tokens, unit, ["officer"], ABSENCE, id=an["id"], year=2025, days=1
        )
        assert code_of(aside) == "NOT_FOUND"
    pid = await draft(client, tokens, tree.cs1)
    ldtt = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    finding = ldtt["data"]["addNominee"]["findings"]
    assert [f["rule"] for f in finding] == ["LOCAL_EXCLUSIONS"], ldtt
    assert "vắng 45 ngày làm việc" in finding[0]["message"]

    corrected = await gql(
        client, tokens, tree.cs1, ["officer"], ABSENCE, id=an["id"], year=2025, days=12
    )
    assert corrected["data"]["setAbsence"]["version"] == version + 1  # the refusals wrote nothing
    disciplined = await gql(
        client,
        tokens,
        tree.cs1,
        ["officer"],
        DISCIPLINE,
        id=an["id"],
        on="2025-03-02",
        form="warning",
    )
    person = disciplined["data"]["recordDiscipline"]
    assert person["years"] == [{"year": 2025, "absentWorkingDays": 12, "disciplined": ["warning"]}]
    assert person["history"][-1]["what"] == "disciplined"
    other = await draft(client, tokens, tree.cs1)
    again = await add(
        client,
        tokens,
        tree.cs1,
        other,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    assert "bị kỷ luật" in again["data"]["addNominee"]["findings"][0]["message"]
    next_year = await draft(client, tokens, tree.cs1, year=2026)
    clean = await add(
        client,
        tokens,
        tree.cs1,
        next_year,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    assert clean["data"]["addNominee"]["findings"] == []  # 2026: neither away nor disciplined


async def test_a_provinces_own_exclusion_is_named_on_the_nominees_below_it(client, tokens, tree):
    added = await gql(
        client, tokens, tree.prov1, ["officer"], ADD_RULE, numbers={"absent_working_days": 30}
    )
    assert "errors" not in added, added
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": "R10L"})
    await gql(client, tokens, tree.cs1, ["officer"], ABSENCE, id=an["id"], year=2025, days=35)
    pid = await draft(client, tokens, tree.cs1)
    ldtt = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    [finding] = ldtt["data"]["addNominee"]["findings"]
    assert (finding["rule"], finding["version"], finding["source"]) == (
        "vang_mat",
        f"local:{tree.prov1}",
        "Quyết định 12/QĐ-LĐLĐ",
    )
    aside = await register(client, tokens, tree.upper3, AN | {"staffNumber": "R10A"})  # prov2's
    await gql(client, tokens, tree.upper3, ["officer"], ABSENCE, id=aside["id"], year=2025, days=35)
    theirs = await draft(client, tokens, tree.upper3)
    free = await add(
        client,
        tokens,
        tree.upper3,
        theirs,
        subject="PERSON",
        personId=aside["id"],
        award="lao_dong_tien_tien",
    )
    assert free["data"]["addNominee"]["findings"] == []  # another province's rule binds no one


async def sent(client, tokens, unit, nominees, **proposal):
    """A proposal of ``unit`` with ``nominees`` (none found at fault), its dossier, submitted."""
    pid = await draft(client, tokens, unit, **proposal)
    for n in nominees:
        added = await add(client, tokens, unit, pid, **n)
        assert added["data"]["addNominee"]["findings"] == [], added
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, unit, pid, kind, PDF + uuid.uuid4().bytes)
    body = await gql(client, tokens, unit, ["officer"], SUBMIT, id=pid)
    assert body["data"]["submitProposal"]["status"] == "submitted", body
    return pid


ITEMS = """query($id: ID!) { councilSession(id: $id) { items(first: 500) { edges { node { id proposalId } } } } }"""


async def passed_together(client, tokens, unit, pids):
    """One council of ``unit`` passes every proposal: the items of each, by proposal."""
    for pid in pids:
        await appraise_all(client, tokens, unit, pid)
    session, _ = await council_passes(client, tokens, unit, pids)
    body = await gql(client, tokens, unit, ["officer"], ITEMS, id=session)
    items = {pid: [] for pid in pids}
    for item in nodes(body["data"]["councilSession"]["items"]):
        items[item["proposalId"]].append(item["id"])
    return session, items


async def issue(client, tokens, unit, session, items):
    return await gql(
        client, tokens, unit, ["approver"], ISSUE, session=session, title="Khen", items=items
    )


async def test_a_comprehensive_and_a_thematic_form_meet_at_the_decision(client, tokens, tree):
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": "R2"})
    giay_khen = {"subject": "PERSON", "personId": an["id"], "award": "giay_khen_cd_cap_tren"}
    # Both in flight at once: neither sees the other in the register when its nominee is added.
    regular = await sent(client, tokens, tree.cs1, [giay_khen])
    thematic = await sent(
        client, tokens, tree.cs1, [giay_khen], kind="THEMATIC", topic="An toàn lao động"
    )
    session, items = await passed_together(client, tokens, tree.upper1, [regular, thematic])
    both = await issue(client, tokens, tree.upper1, session, items[regular] + items[thematic])
    assert code_of(both) == "RULE_BROKEN"
    assert both["errors"][0]["extensions"]["rule"] == "ONE_ACHIEVEMENT_ONE_AWARD"
    first = await issue(client, tokens, tree.upper1, session, items[regular])
    assert first["data"]["issueDecision"]["recipientCount"] == 1
    second = await issue(client, tokens, tree.upper1, session, items[thematic])
    assert code_of(second) == "RULE_BROKEN"
    third = await draft(client, tokens, tree.cs1, kind="THEMATIC", topic="Chuyển đổi số")
    live = await add(client, tokens, tree.cs1, third, **giay_khen)  # now the register has it
    assert [f["rule"] for f in live["data"]["addNominee"]["findings"]] == [
        "ONE_ACHIEVEMENT_ONE_AWARD"
    ]


async def test_the_chien_si_quota_holds_across_proposals_at_the_decision(
    client, tokens, tree, runtime
):
    people = [
        await register(client, tokens, tree.cs1, AN | {"staffNumber": f"Q{n}"}) for n in range(2)
    ]
    ldtt = await sent(
        client,
        tokens,
        tree.cs1,
        [{"subject": "PERSON", "personId": p["id"], "award": "lao_dong_tien_tien"} for p in people],
    )
    session, items = await passed_together(client, tokens, tree.upper1, [ldtt])
    assert "errors" not in await issue(client, tokens, tree.upper1, session, items[ldtt])

    campaigns = campaign_commands(runtime)
    initiatives = []
    for n in range(2):  # each nominee's own: another's would not count
        initiative = await campaigns.register_initiative(
            officer(tree.cs1),
            title=f"Cải tiến quy trình {n}",
            authors=["Nguyễn Thị Ánh"],
            author_staff_numbers=[f"Q{n}"],  # two people bear the name: the number tells which
        )
        await campaigns.recognise_initiative(
            officer(tree.cs1), initiative, benefit_vnd=30_000_000, applied_at=["Xưởng 2"]
        )
        initiatives.append(initiative)
    # Two holders of Lao động tiên tiến: 15% rounded up allows one Chiến sĩ thi đua cơ sở. Two
    # proposals at once each name one, and each alone is within the quota.
    pids = [
        await sent(
            client,
            tokens,
            tree.cs1,
            [
                {
                    "subject": "PERSON",
                    "personId": p["id"],
                    "award": "chien_si_thi_dua_co_so",
                    "initiatives": [str(own)],
                }
            ],
        )
        for p, own in zip(people, initiatives, strict=True)
    ]
    session, items = await passed_together(client, tokens, tree.upper1, pids)
    first = await issue(client, tokens, tree.upper1, session, items[pids[0]])
    assert first["data"]["issueDecision"]["recipientCount"] == 1, first
    second = await issue(client, tokens, tree.upper1, session, items[pids[1]])
    assert code_of(second) == "RULE_BROKEN"
    assert second["errors"][0]["extensions"]["rule"] == "CSTDCS_PREREQUISITES"
    late = await draft(client, tokens, tree.cs1)
    live = await add(
        client,
        tokens,
        tree.cs1,
        late,
        subject="PERSON",
        personId=people[1]["id"],
        award="chien_si_thi_dua_co_so",
        initiatives=[str(initiatives[1])],
    )
    assert [f["rule"] for f in live["data"]["addNominee"]["findings"]] == [
        "CSTDCS_PREREQUISITES"  # the quota, now that the register holds the first
    ]


async def test_tlds_thematic_cap_counts_its_whole_register_per_topic(
    client, tokens, tree, monkeypatch
):
    # The cap as data: a rule set whose national cap is 1, so two nominees reach it.
    real = rule_set_on(date.today())
    caps = real.rules["THEMATIC_CAPS"]
    capped = dataclasses.replace(
        real,
        rules=MappingProxyType(
            dict(real.rules)
            | {
                "THEMATIC_CAPS": Rule(
                    caps.code, caps.message, caps.source, {**caps.numbers, "per_topic_per_year": 1}
                )
            }
        ),
    )
    monkeypatch.setattr(commands_decisions, "rule_set_on", lambda on: capped)
    people = [
        await register(client, tokens, tree.cs1, AN | {"staffNumber": f"C{n}"}) for n in range(2)
    ]
    topic = {"kind": "THEMATIC", "topic": "Chuyển đổi số"}
    pid = await sent(
        client,
        tokens,
        tree.cs1,
        [{"subject": "PERSON", "personId": p["id"], "award": "bang_khen_tld"} for p in people],
        **topic,
    )
    for unit in (tree.upper1, tree.prov1):
        session, _ = await passed_together(client, tokens, unit, [pid])
        pid, _ = await forwarded_and_sent(client, tokens, unit, session, expected=2)
    session, items = await passed_together(client, tokens, tree.tld, [pid])
    both = await issue(client, tokens, tree.tld, session, items[pid])
    assert code_of(both) == "RULE_BROKEN"
    assert both["errors"][0]["extensions"]["rule"] == "THEMATIC_CAPS"
    one = await issue(client, tokens, tree.tld, session, items[pid][:1])
    assert one["data"]["issueDecision"]["recipientCount"] == 1, one
    other = await issue(client, tokens, tree.tld, session, items[pid][1:])
    assert code_of(other) == "RULE_BROKEN"


REGISTER = """query($unit: ID!) { decisions(unitId: $unit, subtree: true, first: 10) { total
  cashTotalVnd edges { node { unitId } } } }"""
FIGURES = """query($unit: ID!) { awardYear(year: 2025, unitId: $unit) { persons cashVnd } }"""


async def test_the_register_and_the_figures_read_decisions_as_the_tree_stood_that_day(
    client, tokens, tree, registry
):
    # upper1 decides today; it moves to prov2 in 30 days: prov1 reads the decision, prov2 never.
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": "MV1"})
    pid = await sent(
        client,
        tokens,
        tree.cs1,
        [{"subject": "PERSON", "personId": an["id"], "award": "lao_dong_tien_tien"}],
    )
    session, items = await passed_together(client, tokens, tree.upper1, [pid])
    decided = await issue(client, tokens, tree.upper1, session, items[pid])
    cash = decided["data"]["issueDecision"]["cashTotalVnd"]
    await registry.move(None, tree.upper1, tree.prov2, today() + timedelta(days=30))

    def ask(unit, query):
        return gql(client, tokens, unit, ["officer"], query, unit=unit)

    for unit in (tree.prov1, tree.tld, tree.upper1):
        seen = (await ask(unit, REGISTER))["data"]["decisions"]
        assert (seen["total"], seen["cashTotalVnd"]) == (1, cash), unit
        assert (await ask(unit, FIGURES))["data"]["awardYear"] == {"persons": 1, "cashVnd": cash}
    later = (await ask(tree.prov2, REGISTER))["data"]["decisions"]
    assert (later["total"], later["edges"]) == (0, [])  # its subtree from next month, not then
    assert (await ask(tree.prov2, FIGURES))["data"]["awardYear"] == {"persons": 0, "cashVnd": 0}
    aside = await gql(client, tokens, tree.upper2, ["officer"], REGISTER, unit=tree.upper1)
    assert aside["data"]["decisions"] is None  # a sibling's register: not found
    below = await gql(client, tokens, tree.cs1, ["officer"], REGISTER, unit=tree.upper1)
    assert below["data"]["decisions"] is None


async def test_a_units_thematic_cap_counts_its_other_proposals_of_the_topic(client, tokens, tree):
    people = [
        await register(client, tokens, tree.cs1, AN | {"staffNumber": f"TC{n}"}) for n in range(6)
    ]
    topic = {"kind": "THEMATIC", "topic": "An toàn, vệ sinh lao động"}

    async def propose(pid, person):
        body = await add(
            client,
            tokens,
            tree.cs1,
            pid,
            subject="PERSON",
            personId=person["id"],
            award="bang_khen_tld",
        )
        return [f["rule"] for f in body["data"]["addNominee"]["findings"]]

    first = await draft(client, tokens, tree.cs1, **topic)
    for person in people[:3]:
        assert await propose(first, person) == []
    second = await draft(client, tokens, tree.cs1, **topic)
    assert await propose(second, people[3]) == []  # the fourth of the topic this year
    assert await propose(second, people[4]) == ["THEMATIC_CAPS"]  # the fifth, in another proposal
    other = await draft(client, tokens, tree.cs1, kind="THEMATIC", topic="Chuyển đổi số")
    assert await propose(other, people[5]) == []  # another topic counts on its own


async def test_only_the_nominees_own_initiatives_count_towards_a_title(
    client, tokens, tree, runtime
):
    # Given two people of a union, and a recognised initiative of which only the first is author
    author, colleague = [
        await register(
            client, tokens, tree.cs1, AN | {"fullName": name, "staffNumber": uuid.uuid4().hex[:8]}
        )
        for name in ("Trần Văn Tác", "Lê Thị Đồng")
    ]
    campaigns = campaign_commands(runtime)
    initiative = await campaigns.register_initiative(
        officer(tree.cs1),
        title="Khuôn ép cải tiến",
        authors=["Trần Văn Tác"],
        author_staff_numbers=[author["staffNumber"]],
    )
    await campaigns.recognise_initiative(
        officer(tree.cs1), initiative, benefit_vnd=30_000_000, applied_at=["Xưởng 1"]
    )
    pid = await draft(client, tokens, tree.cs1)

    # When each is nominated for Chiến sĩ thi đua cơ sở on it, Lao động tiên tiến of the year held
    def nominee(person):
        return {
            "subject": "PERSON",
            "personId": person["id"],
            "award": "chien_si_thi_dua_co_so",
            "initiatives": [str(initiative)],
            "earlierTitles": [{"award": "lao_dong_tien_tien", "year": 2025}],
        }

    own = await add(client, tokens, tree.cs1, pid, **nominee(author))
    borrowed = await add(client, tokens, tree.cs1, pid, **nominee(colleague))

    # Then the author's counts, and the colleague's is found short, saying why
    assert own["data"]["addNominee"]["findings"] == []
    findings = borrowed["data"]["addNominee"]["findings"]
    assert {f["rule"] for f in findings} == {"CSTDCS_PREREQUISITES"}, findings
    assert any("không do người này là tác giả" in f["message"] for f in findings), findings
