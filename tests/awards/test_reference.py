"""What every award is checked against (issue 14, points 3-6): the catalogue and the rule set in
force on a day, the base salary across its 2023 and 2024 changes and the cash it makes, the
working-day calendar with Tết inside a deadline, a federation's own rules; and who may change
what (a refusal writes nothing)."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from services.awards.commands_proposals import local_rules_for
from shared import access
from shared.clock import today
from tests.awards.conftest import officer
from tests.campaign.test_reach_dates import move
from tests.registry.test_graphql import code_of, gql

CATALOGUE = """query($on: Date, $subject: AwardSubject, $by: String) {
  awardCatalogue(on: $on, subject: $subject, decidedBy: $by) { code kind subjects deciders state
    cash { subject multiple } effectiveFrom source } }"""
RULES = """query($on: Date) { ruleSet(on: $on) { version effectiveFrom effectiveTo source
  rules { code message source numbers } } }"""
BASE = "query($on: Date) { baseSalary(on: $on) { amountVnd effectiveFrom source } }"
CASH = """query($award: String!, $subject: AwardSubject!, $on: Date) {
  awardCash(award: $award, subject: $subject, on: $on) { code multiple amountVnd
    ruleSetVersion baseSalary { amountVnd effectiveFrom } } }"""
SET_BASE = """mutation($amount: BigInt!, $from: Date!, $source: String!) {
  setBaseSalary(amountVnd: $amount, effectiveFrom: $from, source: $source) { amountVnd } }"""
ADD_DAYS = "query($start: Date!, $days: Int!) { addWorkingDays(start: $start, days: $days) }"
YEAR = """query($year: Int!) { workingYear(year: $year) { year days_off: daysOff { on name marked }
  workingWeekendDays } }"""
MARK = """mutation($on: Date!, $working: Boolean!, $reason: String!) {
  markCalendarDay(on: $on, working: $working, reason: $reason) { year } }"""
ADD_RULE = """mutation($code: String!, $kind: String!, $from: Date!, $numbers: JSON) {
  addLocalRule(code: $code, kind: $kind, message: "Không xét người nghỉ quá 30 ngày làm việc",
    effectiveFrom: $from, source: "Quyết định 12/QĐ-LĐLĐ", numbers: $numbers) }"""
END_RULE = """mutation($id: ID!, $on: Date!) {
  endLocalRule(id: $id, on: $on, reason: "Thay bằng quy định mới") }"""
LOCAL = """query($unit: ID, $on: Date) { localRules(unitId: $unit, on: $on) { id unitId code kind
  numbers effectiveFrom effectiveTo source } }"""


async def ask(client, tokens, tree, query, unit="cs1", roles=("officer",), **variables):
    return await gql(client, tokens, getattr(tree, unit), list(roles), query, **variables)


async def province_rule(
    client, tokens, tree, code, kind, numbers, start="2025-01-01", province="prov1"
):
    """A rule of the province's own (its officer adds it): its id."""
    added = await ask(
        client,
        tokens,
        tree,
        ADD_RULE,
        unit=province,
        code=code,
        kind=kind,
        numbers=numbers,
        **{"from": start},
    )
    assert "errors" not in added, added
    return added["data"]["addLocalRule"]


async def test_the_catalogue_in_force_on_a_day(client, tokens, tree):
    body = await ask(client, tokens, tree, CATALOGUE, on="2025-01-01", subject="COLLECTIVE")
    codes = {e["code"]: e for e in body["data"]["awardCatalogue"]}
    assert "tap_the_lao_dong_xuat_sac" in codes and "lao_dong_tien_tien" not in codes
    assert codes["tap_the_lao_dong_xuat_sac"]["cash"] == [
        {"subject": "COLLECTIVE", "multiple": 1.5}
    ]
    assert codes["huan_chuong_lao_dong_hang_ba"]["state"] is True
    assert codes["huan_chuong_lao_dong_hang_ba"]["deciders"] == []
    grassroots = await ask(client, tokens, tree, CATALOGUE, on="2025-01-01", by="grassroots")
    decided = {e["code"] for e in grassroots["data"]["awardCatalogue"]}
    assert {"giay_khen_cdcs", "lao_dong_tien_tien"} <= decided
    assert "bang_khen_tld" not in decided and "giay_khen_cd_cap_tren" not in decided
    before = await ask(client, tokens, tree, CATALOGUE, on="2024-03-01")
    codes = {e["code"] for e in before["data"]["awardCatalogue"]}
    assert "giay_khen_cdcs" in codes and "co_thi_dua_tld" not in codes  # from 999/QĐ-TLĐ
    assert (await ask(client, tokens, tree, CATALOGUE, on="2016-01-01"))["data"][
        "awardCatalogue"
    ] == []


async def test_the_rule_set_in_force_names_its_version_and_source(client, tokens, tree):
    old = (await ask(client, tokens, tree, RULES, on="2023-06-01"))["data"]["ruleSet"]
    new = (await ask(client, tokens, tree, RULES, on="2025-06-01"))["data"]["ruleSet"]
    assert (old["version"], old["effectiveTo"]) == ("1689/2019", "2024-05-29")
    assert new["version"] == "999/2024" and new["effectiveTo"] is None
    rules = {r["code"]: r for r in new["rules"]}
    assert len(rules) == 12  # DOMAIN.md's eleven, and the council's majority
    assert rules["CSTDCS_PREREQUISITES"]["numbers"] == {"initiatives": 1, "quota_percent": 15}
    assert rules["LAO_DONG_SANG_TAO"]["numbers"]["benefit_vnd"] == 80_000_000
    assert rules["APPRAISAL_DEADLINE"]["numbers"]["with_concurrence_working_days"] == 20
    assert all(r["source"] and r["message"] for r in new["rules"])
    before = await ask(client, tokens, tree, RULES, on="2018-01-01")
    assert code_of(before) == "NO_RULE_SET"


@pytest.mark.parametrize(
    ("on", "amount"),
    [
        ("2023-06-30", 1_490_000),
        ("2023-07-01", 1_800_000),
        ("2024-06-30", 1_800_000),
        ("2024-07-01", 2_340_000),
    ],
)
async def test_the_base_salary_across_its_changes(client, tokens, tree, on, amount):
    body = await ask(client, tokens, tree, BASE, on=on)
    assert body["data"]["baseSalary"]["amountVnd"] == amount


@pytest.mark.parametrize(
    ("award", "subject", "on", "multiple", "amount"),
    [
        ("chien_si_thi_dua_co_so", "PERSON", "2024-06-30", 1.0, 1_800_000),
        ("Chiến sĩ thi đua cơ sở", "PERSON", "2024-07-01", 1.0, 2_340_000),
        ("giay khen cua ban chap hanh cong doan co so", "PERSON", "2025-01-01", 0.15, 360_000),
        ("bang_khen_tld", "COLLECTIVE", "2025-01-01", 2.0, 4_680_000),
        ("lao_dong_tien_tien", "PERSON", "2024-02-01", 0.3, 540_000),
    ],
)
async def test_cash_is_the_multiple_of_the_base_salary_on_the_day_rounded_up(
    client, tokens, tree, award, subject, on, multiple, amount
):
    body = await ask(client, tokens, tree, CASH, award=award, subject=subject, on=on)
    cash = body["data"]["awardCash"]
    assert (cash["multiple"], cash["amountVnd"]) == (multiple, amount)


async def test_an_award_without_cash_or_unknown(client, tokens, tree):
    none = await ask(client, tokens, tree, CASH, award="bang_lao_dong_sang_tao", subject="PERSON")
    assert none["data"]["awardCash"] is None
    unknown = await ask(client, tokens, tree, CASH, award="huy chương vàng", subject="PERSON")
    assert code_of(unknown) == "NOT_FOUND"


def _unused_base_salary_day() -> date:
    """A day before the shipped values (2019) that no other test takes: a value set for it
    changes no cash any other test computes (a later value wins from its day on)."""
    return date(2003, 1, 1) + timedelta(days=random.randrange(0, 5800))


def _future_day(weekday: int) -> date:
    """A day of ``weekday`` in a far year no other test marks (the calendar is everyone's),
    and, on a weekday, a working day of the public calendar (not inside a Tết)."""
    from shared.calendar import WorkingCalendar

    while True:
        day = date(2090, 1, 1) + timedelta(days=random.randrange(0, 3000))
        day += timedelta(days=(weekday - day.weekday()) % 7)
        if weekday >= 5 or WorkingCalendar().is_working_day(day):
            return day


async def test_only_the_national_admin_keeps_the_base_salary(client, tokens, tree, owner):
    day = _unused_base_salary_day()
    args = {"amount": 2_530_000, "from": day.isoformat(), "source": "Nghị định mới"}
    for unit, roles in (("tld", ["officer"]), ("prov1", ["admin"]), ("cs1", ["admin"])):
        refused = await ask(client, tokens, tree, SET_BASE, unit=unit, roles=roles, **args)
        assert code_of(refused) == "FORBIDDEN"
    assert (
        await owner.fetchval("SELECT count(*) FROM base_salaries WHERE effective_from = $1", day)
        == 0
    )
    done = await ask(client, tokens, tree, SET_BASE, unit="tld", roles=["admin"], **args)
    assert done["data"]["setBaseSalary"]["amountVnd"] == 2_530_000
    later = await ask(client, tokens, tree, BASE, on=(day + timedelta(days=1)).isoformat())
    assert later["data"]["baseSalary"] == {
        "amountVnd": 2_530_000,
        "effectiveFrom": day.isoformat(),
        "source": "Nghị định mới",
    }
    for again in ({**args, "amount": 9}, {**args, "from": "2024-07-01"}, {**args, "amount": 0}):
        refused = await ask(client, tokens, tree, SET_BASE, unit="tld", roles=["admin"], **again)
        assert code_of(refused) == "BASE_SALARY_INVALID"


async def test_working_days_skip_tet_and_the_days_an_admin_marks(client, tokens, tree):
    # Submitted on Tuesday 10/02/2026: Tết is 16-20/02, so 10 working days end on 03/03.
    deadline = await ask(client, tokens, tree, ADD_DAYS, start="2026-02-10", days=10)
    assert deadline["data"]["addWorkingDays"] == "2026-03-03"
    year = (await ask(client, tokens, tree, YEAR, year=2025))["data"]["workingYear"]
    assert {"on": "2025-01-29", "name": "Tết Nguyên Đán", "marked": False} in year["days_off"]
    assert year["workingWeekendDays"] == ["2025-04-26"]

    tuesday = _future_day(1)
    start = tuesday - timedelta(days=1)
    plain = (await ask(client, tokens, tree, ADD_DAYS, start=start.isoformat(), days=2))["data"]
    marked = await ask(
        client,
        tokens,
        tree,
        MARK,
        unit="tld",
        roles=["admin"],
        on=tuesday.isoformat(),
        working=False,
        reason="Nghỉ bù",
    )
    assert "errors" not in marked, marked
    moved = (await ask(client, tokens, tree, ADD_DAYS, start=start.isoformat(), days=2))["data"]
    assert date.fromisoformat(moved["addWorkingDays"]) > date.fromisoformat(plain["addWorkingDays"])
    again = await ask(
        client,
        tokens,
        tree,
        MARK,
        unit="tld",
        roles=["admin"],
        on=tuesday.isoformat(),
        working=True,
        reason="Hủy nghỉ bù",
    )
    assert "errors" not in again
    back = (await ask(client, tokens, tree, ADD_DAYS, start=start.isoformat(), days=2))["data"]
    assert back == plain
    refused = await ask(
        client,
        tokens,
        tree,
        MARK,
        unit="prov1",
        roles=["admin"],
        on=tuesday.isoformat(),
        working=False,
        reason="x",
    )
    assert code_of(refused) == "FORBIDDEN"
    too_far = await ask(client, tokens, tree, ADD_DAYS, start="2026-01-01", days=100_000)
    assert code_of(too_far) == "INVALID_INPUT"


async def test_the_rules_binding_a_unit_below_are_those_of_all_its_ancestors_whoever_asks(
    client, tokens, tree, runtime
):
    # given a province's own quota, from 2025
    await province_rule(client, tokens, tree, "ty_le_cstdcs", "quota", {"quota_percent": 10})
    # when the grassroots union's rules are looked up by itself and by the upper level that
    # decides for it (row-level security shows the upper level only its own edges of the tree)
    for reader in (tree.cs1, tree.upper1):
        async with access.scope(runtime.pool, officer(reader)) as conn:
            found = await local_rules_for(conn, tree.cs1, date(2025, 6, 1))
            before = await local_rules_for(conn, tree.cs1, date(2024, 6, 1))
        # then both find the province's, in force from its day
        assert [(r.unit_id, r.code) for r in found if r.kind == "quota"] == [
            (tree.prov1, "ty_le_cstdcs")
        ], reader
        assert [r for r in before if r.kind == "quota"] == []
    # and a unit beside it finds nothing of the grassroots union's
    async with access.scope(runtime.pool, officer(tree.upper2)) as conn:
        assert await local_rules_for(conn, tree.cs1, date(2025, 6, 1)) == ()


async def test_a_unit_moved_since_a_day_is_bound_that_day_by_its_ancestors_of_then(
    client, tokens, tree, runtime
):
    # given each province's own rule since 2020, and the grassroots union moved from the first
    # province to the second on 1 June 2025
    for province in ("prov1", "prov2"):
        await province_rule(
            client, tokens, tree, f"rule_{province}", "exclusion", {}, "2020-01-01", province
        )
    await move(client, tokens, tree, tree.cs1, tree.upper3, date(2025, 6, 1))
    # when its rules are asked for a day before the move and for today
    seen = {}
    for on in ("2025-01-01", None):
        body = await gql(client, tokens, tree.cs1, ["officer"], LOCAL, on=on)
        seen[on] = [r["code"] for r in body["data"]["localRules"]]
    # then the rules of the tree of that day bind it
    assert seen == {"2025-01-01": ["rule_prov1"], None: ["rule_prov2"]}
    # and the upper level it had then finds them too for that day, not for today
    async with access.scope(runtime.pool, officer(tree.upper1)) as conn:
        then = await local_rules_for(conn, tree.cs1, date(2025, 1, 1))
        now = await local_rules_for(conn, tree.cs1, today())
    assert ([r.code for r in then], now) == (["rule_prov1"], ())


async def test_a_federations_own_rules_bind_the_units_below_it(client, tokens, tree, elsewhere):
    rule_id = await province_rule(
        client, tokens, tree, "vang_mat", "exclusion", {"absent_working_days": 30}
    )
    for unit in ("prov1", "upper1", "cs1"):
        seen = await ask(client, tokens, tree, LOCAL, unit=unit, on="2025-06-01")
        rules = seen["data"]["localRules"]
        assert [(r["code"], r["unitId"], r["numbers"]) for r in rules] == [
            ("vang_mat", tree.prov1, {"absent_working_days": 30})
        ]
    for unit in ("prov2", "upper3"):
        aside = await ask(client, tokens, tree, LOCAL, unit=unit, on="2025-06-01")
        assert aside["data"]["localRules"] == []
    # an upper level reading a unit below it sees the rules above itself that bind that unit
    below = await gql(
        client, tokens, tree.upper1, ["officer"], LOCAL, unit=tree.cs1, on="2025-06-01"
    )
    assert [r["code"] for r in below["data"]["localRules"]] == ["vang_mat"]
    peek = await gql(client, tokens, tree.upper3, ["officer"], LOCAL, unit=tree.cs1)
    assert peek["data"]["localRules"] is None  # a unit out of reach
    not_yet = await ask(client, tokens, tree, LOCAL, unit="cs1", on="2024-12-31")
    assert not_yet["data"]["localRules"] == []

    for unit, args in (
        ("cs1", {"code": "x", "kind": "quota"}),  # a grassroots union sets no rules
        ("upper1", {"code": "x", "kind": "quota"}),
    ):
        refused = await ask(
            client, tokens, tree, ADD_RULE, unit=unit, **args, **{"from": "2025-01-01"}
        )
        assert code_of(refused) == "FORBIDDEN"
    bad = await ask(
        client,
        tokens,
        tree,
        ADD_RULE,
        unit="prov1",
        code="x",
        kind="bonus",
        **{"from": "2025-01-01"},
    )
    assert code_of(bad) == "LOCAL_RULE_INVALID"
    for code in ("COMPETENCE", "competence", "\u0421OMPETENCE", "\uff23\uff21\uff33\uff28"):
        taken = await ask(
            client,
            tokens,
            tree,
            ADD_RULE,
            unit="prov1",
            code=code,
            kind="exclusion",
            **{"from": "2025-01-01"},
        )
        assert code_of(taken) == "LOCAL_RULE_INVALID", code  # a national code, or its look-alike
    for numbers in ({"vang\u001b[2J": 1}, {"số ngày": 1}, {"x": 1.5}):
        bad_numbers = await ask(
            client,
            tokens,
            tree,
            ADD_RULE,
            unit="prov1",
            code="y",
            kind="exclusion",
            numbers=numbers,
            **{"from": "2025-01-01"},
        )
        assert code_of(bad_numbers) == "LOCAL_RULE_INVALID", numbers
    other = await ask(client, tokens, tree, END_RULE, unit="prov2", id=rule_id, on="2026-01-01")
    assert code_of(other) == "NOT_FOUND"
    ended = await ask(client, tokens, tree, END_RULE, unit="prov1", id=rule_id, on="2026-01-01")
    assert ended["data"]["endLocalRule"] is True
    after = await ask(client, tokens, tree, LOCAL, unit="cs1", on="2026-01-01")
    assert after["data"]["localRules"] == []
    twice = await ask(client, tokens, tree, END_RULE, unit="prov1", id=rule_id, on="2026-02-01")
    assert code_of(twice) == "LOCAL_RULE_ENDED"


async def test_a_rule_refusal_names_the_rule_its_version_and_source():
    from services.awards.rules import rule_set_on

    error = rule_set_on(date(2025, 1, 1)).broken("SERVICE_MEDAL", "(12 năm)")
    assert error.code == "RULE_BROKEN"
    assert error.shown() == {
        "rule": "SERVICE_MEDAL",
        "version": "999/2024",
        "source": "Quyết định 999/QĐ-TLĐ",
    }
    assert "15 năm" in error.message and error.message.endswith("(12 năm)")
