"""``thidua demo``: the tree, the campaigns of seeds 003 and 004 as the plans write them, the
registrations, reports and review, loaded once and only once; and the command itself.

The demo is loaded here under a prefix of its own (the session's database is shared); the CLI
test loads it with its real ids, which no other test uses."""

from __future__ import annotations

import asyncio
import re
import unicodedata
import uuid
from datetime import date

import orjson
import pytest
from typer.testing import CliRunner

from services.demo import loader, show
from services.demo.plans import GRASSROOTS, NATIONAL, PROVINCE, SECTOR, plans
from services.gateway.cli import app as cli
from shared.auth import TokenService
from tests.registry.test_graphql import client, gql, tokens  # noqa: F401  (fixtures)

THEME_003 = (
    "Tận dụng cơ hội, vượt mọi khó khăn, nỗ lực phấn đấu, đưa nghị quyết của Đảng vào cuộc sống"
)


@pytest.fixture(scope="module")
async def loaded(runtime):
    prefix = f"demo-{uuid.uuid4().hex[:6]}-"
    return prefix, await loader.load_demo(runtime, prefix=prefix)


async def campaign_row(owner, unit: str, name_start: str):
    return await owner.fetchrow(
        "SELECT * FROM campaigns WHERE tenant_id = $1 AND name LIKE $2", unit, name_start + "%"
    )


async def events_of(owner, prefix: str) -> int:
    return await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id LIKE $1", prefix + "%")


async def test_the_tree_has_every_level_under_the_national_unit(loaded, owner):
    prefix, summary = loaded
    levels = {
        r["level"]: r["n"]
        for r in await owner.fetch(
            "SELECT level, count(*) AS n FROM units WHERE tenant_id LIKE $1 GROUP BY level",
            prefix + "%",
        )
    }
    assert levels == {"national": 1, "provincial": 1, "sector": 1, "upper": 10, "grassroots": 32}
    assert summary.units == levels and 30 <= summary.unit_count <= 60
    below = await owner.fetch(
        "SELECT u.level, c.depth, u.sector_type FROM unit_closure c "
        "JOIN units u ON u.tenant_id = c.descendant WHERE c.ancestor = $1 AND c.depth > 0",
        prefix + PROVINCE,
    )
    assert {(r["level"], r["depth"]) for r in below} == {("upper", 1), ("grassroots", 2)}
    assert {r["sector_type"] for r in below if r["level"] == "grassroots"} == {
        "hành chính",
        "sự nghiệp",
        "DN nhà nước",
        "DN tư nhân",
        "DN FDI",
    }
    sector = await owner.fetchrow(
        "SELECT name, level, parent_id FROM units WHERE tenant_id = $1", prefix + SECTOR
    )
    assert tuple(sector) == ("Công đoàn Công Thương Việt Nam", "sector", prefix + NATIONAL)
    names = [
        r["name"]
        for r in await owner.fetch("SELECT name FROM units WHERE tenant_id LIKE $1", prefix + "%")
    ]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)


async def test_seed_003_is_launched_by_the_province_as_the_plan_writes_it(loaded, owner):
    prefix, _ = loaded
    row = await campaign_row(owner, prefix + PROVINCE, "Phát động phong trào thi đua trong")
    assert row["name"] == (
        "Phát động phong trào thi đua trong đoàn viên, công nhân, viên chức, lao động và các cấp "
        "công đoàn năm 2021"
    )
    assert row["theme"] == THEME_003
    assert (row["kind"], row["status"], row["launched_on"]) == (
        "yearly",
        "launched",
        date(2021, 1, 20),
    )
    assert (row["period_start"], row["period_end"]) == (date(2021, 1, 1), date(2021, 12, 31))
    assert (row["registration_due"], row["report_days"], row["min_contents"]) == (
        date(2021, 2, 20),
        5,
        1,
    )
    contents = orjson.loads(row["contents"])
    assert len(contents) == 5 and contents == list(plans().campaign("nb-2021").contents)
    assert contents[0].startswith("Vận động đoàn viên, công chức, viên chức và người lao động")
    assert "“Lao động giỏi, Lao động sáng tạo”" in contents[1]
    assert contents[4].endswith("lành mạnh, an toàn, tiết kiệm.")
    assert len(orjson.loads(row["measures"])) == 7
    assert row["objectives"].startswith("Động viên sức mạnh to lớn của cán bộ, đoàn viên, CNVCLĐ")
    for text in (row["name"], row["theme"], row["objectives"], *contents):
        assert unicodedata.is_normalized("NFC", text) and "*" not in text

    phases = await owner.fetch(
        "SELECT number, name, starts, ends FROM campaign_phases WHERE campaign_id = $1 ORDER BY 1",
        row["campaign_id"],
    )
    assert [tuple(p) for p in phases] == [
        (1, "Đợt 1", date(2021, 1, 1), date(2021, 6, 30)),
        (2, "Đợt 2", date(2021, 7, 1), date(2021, 12, 31)),
    ]
    indicators = {
        r["code"]: (r["measure"], r["target"], r["category"], r["source"], r["scope"])
        for r in await owner.fetch(
            "SELECT * FROM campaign_indicators WHERE campaign_id = $1", row["campaign_id"]
        )
    }
    assert len(indicators) == 28
    assert indicators["cdcs-moi"] == ("count", 20, "direct", "reported", "subtree")
    assert indicators["doan-vien-moi"] == ("count", 8000, "direct", "reported", "subtree")
    assert indicators["cttcs-tot"] == ("percent", 85, "direct", "reported", "own")
    assert indicators["sang-kien"] == ("count", 1200, "coordinated", "computed", "subtree")
    assert indicators["bang-lao-dong-sang-tao"] == (
        "count",
        18,
        "coordinated",
        "reported",
        "subtree",
    )
    assert {v[2] for v in indicators.values()} == {"direct", "coordinated"}
    # Only the initiatives indicator is computed (from the initiatives recognised).
    assert {c for c, v in indicators.items() if v[3] == "computed"} == {"sang-kien"}


async def test_seed_004_is_launched_by_the_sector_union_as_the_plan_writes_it(loaded, owner):
    prefix, _ = loaded
    row = await campaign_row(owner, prefix + SECTOR, "Phát động phong trào thi đua yêu nước")
    assert row["name"].endswith(
        "tiến tới Đại hội Công đoàn Công Thương lần thứ III và Đại hội lần thứ XII Công đoàn Việt Nam"
    )
    assert (row["status"], row["launched_on"], row["min_contents"]) == (
        "launched",
        date(2017, 3, 2),
        2,
    )
    assert (row["registration_due"], row["report_days"]) == (None, None)
    contents = orjson.loads(row["contents"])
    assert len(contents) == 5 and contents == list(plans().campaign("ct-2017").contents)
    assert "“Năng suất cao hơn, chất lượng tốt hơn”" in contents[0]
    assert contents[4].startswith("Năm 2017, “Năm vì lợi ích của đoàn viên”")
    assert "nhằm mang lại cho đoàn viên" in contents[4]  # the page break is joined
    phases = await owner.fetch(
        "SELECT starts, ends FROM campaign_phases WHERE campaign_id = $1 ORDER BY number",
        row["campaign_id"],
    )
    assert [tuple(p) for p in phases] == [
        (date(2017, 1, 1), date(2017, 8, 31)),
        (date(2017, 9, 1), date(2017, 12, 31)),
    ]
    assert not await owner.fetchval(
        "SELECT count(*) FROM campaign_indicators WHERE campaign_id = $1", row["campaign_id"]
    )


async def test_upper_level_unions_carry_out_the_provinces_campaign(loaded, owner):
    prefix, summary = loaded
    province = await campaign_row(owner, prefix + PROVINCE, "Phát động")
    rows = await owner.fetch(
        "SELECT tenant_id, status, parent_unit FROM campaigns WHERE parent_campaign = $1",
        province["campaign_id"],
    )
    assert sorted(r["tenant_id"] for r in rows) == [
        prefix + u for u in ("nb-hoa-lu", "nb-kcn", "nb-tp-tam-diep")
    ]
    assert {(r["status"], r["parent_unit"]) for r in rows} == {("launched", prefix + PROVINCE)}
    assert len(summary.campaigns) == 5
    assert sum(1 for c in summary.campaigns if c.carries_out) == 3


async def test_units_register_on_time_late_or_not_yet(loaded, owner):
    prefix, summary = loaded
    province = await campaign_row(owner, prefix + PROVINCE, "Phát động")
    rows = await owner.fetch(
        "SELECT u.tenant_id, r.late, r.registered_on, r.contents FROM units u "
        "LEFT JOIN campaign_registrations r ON r.tenant_id = u.tenant_id AND r.campaign_id = $1 "
        "WHERE u.parent_id = $2",
        province["campaign_id"],
        prefix + PROVINCE,
    )
    status = {
        r["tenant_id"].removeprefix(prefix): None
        if r["late"] is None
        else ("late" if r["late"] else "on_time")
        for r in rows
    }
    assert status == {
        "nb-hoa-lu": "on_time",
        "nb-tp-tam-diep": "on_time",
        "nb-kcn": "on_time",
        "nb-tp-ninh-binh": "on_time",
        "nb-gia-vien": "late",
        "nb-kim-son": "late",
        "nb-giao-duc": None,
    }
    for r in rows:
        if r["late"] is not None:
            assert r["late"] == (r["registered_on"] > date(2021, 2, 20))
            assert set(orjson.loads(r["contents"])) <= set(plans().campaign("nb-2021").contents)
    sector = await campaign_row(owner, prefix + SECTOR, "Phát động")
    picked = await owner.fetch(
        "SELECT contents FROM campaign_registrations WHERE campaign_id = $1", sector["campaign_id"]
    )
    assert len(picked) == 4
    assert all(len(orjson.loads(r["contents"])) >= 2 for r in picked)
    assert dict(summary.registrations) == {"on_time": 15, "late": 4, "not_yet": 4, "withdrawn": 0}


async def test_units_report_phase_1_and_the_province_reviews_it(loaded, owner):
    prefix, summary = loaded
    province = await campaign_row(owner, prefix + PROVINCE, "Phát động")
    late = {
        r["tenant_id"].removeprefix(prefix): r["late"]
        for r in await owner.fetch(
            "SELECT DISTINCT tenant_id, late FROM campaign_progress WHERE tenant_id LIKE $1",
            prefix + "%",
        )
    }
    assert late["nb-gia-vien"] and late["nb-cs-dam-nb"] and not late["nb-hoa-lu"]
    assert (summary.progress_reports, summary.progress_late) == (9, 2)
    review = orjson.loads(
        await owner.fetchval(
            "SELECT review::text FROM campaign_phases WHERE campaign_id = $1 AND number = 1",
            province["campaign_id"],
        )
    )
    assert review["reviewed_on"] == "2021-07-05" and review["late"] is False
    assert review["report"].startswith("Sơ kết đợt 1 (01/01–30/6/2021)")
    # The reports in by 5/7 (Gia Viễn's of 9/7 is not): four districts and the province itself.
    assert review["figures"] == {
        "don-vi-bao-cao": 5,
        "cdcs-moi": 8,
        "doan-vien-moi": 3040,
        "bang-lao-dong-sang-tao": 3,
        "hoi-nghi-nguoi-lao-dong": 38,
    }
    assert summary.reviews == 1
    # Indicators to be computed from events are never reported by hand.
    computed = {i.code for c in plans().campaigns for i in c.indicators if i.computed_from}
    assert computed == {"sang-kien"}
    assert not any(set(p.actuals) & computed for p in plans().progress)


async def test_people_pledge_units_register_works_and_initiatives(loaded, owner):
    prefix, summary = loaded
    rows = sum(len(loader.pledge_rows(plans(), people)) for _, people in plans().pledging.units)
    assert summary.pledges == rows == summary.written["pledges"] > 1000
    titles = await owner.fetch(
        "SELECT title, subject, count(*) AS n FROM campaign_pledges WHERE tenant_id LIKE $1 "
        "GROUP BY 1, 2 ORDER BY 1",
        prefix + "%",
    )
    assert {r["title"]: r["subject"] for r in titles} == {
        "chien_si_thi_dua_co_so": "person",
        "cong_doan_co_so_vung_manh": "collective",
        "lao_dong_tien_tien": "person",
        "tap_the_lao_dong_xuat_sac": "collective",
    }
    works = await owner.fetch(
        "SELECT w.tenant_id, w.campaign_unit FROM campaign_works w WHERE tenant_id LIKE $1",
        prefix + "%",
    )
    assert len(works) == summary.works == len(plans().works)
    assert {w["campaign_unit"] for w in works} == {prefix + SECTOR}  # seed 004's campaign
    benefit = sum(i.benefit_vnd or 0 for i in plans().initiatives)
    assert summary.initiatives == (len(plans().initiatives), 7, benefit)


async def test_loading_again_writes_nothing(loaded, runtime, owner):
    prefix, first = loaded
    before = await events_of(owner, prefix)
    again = await loader.load_demo(runtime, prefix=prefix)
    assert await events_of(owner, prefix) == before
    assert not again.fresh and set(again.written.values()) == {0}
    assert first.fresh and first.written["units"] == first.unit_count
    assert (again.units, again.campaigns, again.registrations) == (
        first.units,
        first.campaigns,
        first.registrations,
    )


async def test_a_run_cut_short_is_finished_by_the_next(runtime, owner):
    """A province campaign left a draft with one phase: the next run completes and launches it,
    and makes no second one."""
    prefix = f"demo-{uuid.uuid4().hex[:6]}-"
    ctx = loader.demo_context(runtime, prefix)
    await loader.import_tree(ctx, plans().units)
    plan = plans().campaigns[0]
    ctx.clock.on = plan.launched_on
    draft = await ctx.campaigns.create(
        ctx.officer(plan.unit),
        name=plan.name,
        kind=plan.kind,
        period_start=plan.period[0],
        period_end=plan.period[1],
        contents=list(plan.contents),
    )
    name, starts, ends = plan.phases[0]
    await ctx.campaigns.add_phase(
        ctx.officer(plan.unit), draft, name=name, starts=starts, ends=ends
    )

    summary = await loader.load_demo(runtime, prefix=prefix)
    rows = await owner.fetch(
        "SELECT campaign_id, status FROM campaigns WHERE tenant_id = $1", prefix + PROVINCE
    )
    assert [tuple(r) for r in rows] == [(draft, "launched")]
    assert (
        await owner.fetchval("SELECT count(*) FROM campaign_phases WHERE campaign_id = $1", draft)
        == 2
    )
    assert summary.written["campaigns"] == 4  # the other four; the draft was the first's


async def test_the_printed_queries_answer_for_the_printed_tokens(loaded, client, tokens):  # noqa: F811
    prefix, _ = loaded
    body = await gql(client, tokens, prefix + PROVINCE, ["officer"], show.EXAMPLE_QUERY)
    assert "errors" not in body, body
    mine = [c for c in body["data"]["campaigns"] if c["unitId"] == prefix + PROVINCE]
    assert len(mine) == 1
    campaign = mine[0]
    assert [(p["starts"], p["ends"], p["reportDue"]) for p in campaign["phases"]] == [
        ("2021-01-01", "2021-06-30", "2021-07-05"),
        ("2021-07-01", "2021-12-31", "2022-01-05"),
    ]
    statuses = sorted(
        r["status"] for r in [e["node"] for e in campaign["childRegistrations"]["edges"]]
    )
    assert statuses == ["LATE", "LATE", "NOT_YET", "ON_TIME", "ON_TIME", "ON_TIME", "ON_TIME"]
    actual = {i["code"]: i["actual"] for i in campaign["indicators"]}
    assert actual["doan-vien-moi"] == 480 + 520 + 1650 + 390 + 310
    # computed from the initiatives recognised in the province in 2021
    assert actual["sang-kien"] == sum(i.benefit_vnd is not None for i in plans().initiatives) == 7

    body = await gql(client, tokens, prefix + GRASSROOTS, ["officer"], show.GRASSROOTS_QUERY)
    assert "errors" not in body, body
    assert body["data"]["me"]["unit"]["name"] == "Công đoàn Công ty Cổ phần Du lịch Tràng An"
    assert [r["late"] for r in body["data"]["myRegistrations"]] == [False]


async def test_the_command_loads_once_and_prints_tokens_that_verify(settings, owner, cli_env):
    runner = CliRunner()
    first = await asyncio.to_thread(runner.invoke, cli, ["demo"], env=cli_env)
    assert first.exit_code == 0, first.output
    assert "Demo loaded." in first.output and "Units (45)" in first.output
    assert "Tổng hợp năm 2021 của LĐLĐ tỉnh Ninh Bình" in first.output
    assert "Authorization: Bearer" in first.output and "/graphql" in first.output
    ids = [u.id for u in plans().units]
    count = "SELECT count(*) FROM events WHERE tenant_id = ANY($1::text[])"
    loaded_once = await owner.fetchval(count, ids)
    assert loaded_once > len(ids)

    again = await asyncio.to_thread(runner.invoke, cli, ["demo"], env=cli_env)
    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output
    assert await owner.fetchval(count, ids) == loaded_once

    printed = re.findall(r"^(ey[\w-]+\.[\w-]+\.[\w-]+)$", again.output, re.MULTILINE)
    assert len(printed) == 5
    verified = [TokenService.from_settings(settings).verify(t) for t in printed]
    assert [(p.tenant, set(p.roles)) for p in verified] == [
        (PROVINCE, {"officer"}),
        (GRASSROOTS, {"officer"}),
        ("nb-hoa-lu", {"officer"}),
        ("nb-hoa-lu", {"approver"}),
        ("nb-hoa-lu", {"council"}),
    ]
    assert verified[4].subject == "hoi-dong.chu-tich"  # a member of the demo's councils
    assert "Awards of 2021: 2 decisions" in first.output


async def test_a_national_unit_already_registered_is_taken_as_it_is(runtime, owner):
    """E.g. the README's example import, from 2024 and under the same id: the demo hangs under
    it from that day instead of refusing the file."""
    prefix = f"demo-{uuid.uuid4().hex[:6]}-"
    ctx = loader.demo_context(runtime, prefix)
    await ctx.registry.register(
        None,
        unit_id=prefix + NATIONAL,
        name="Tổng Liên đoàn Lao động Việt Nam (đã có)",
        level="national",
        effective_on=date(2024, 1, 1),
    )
    summary = await loader.load_demo(runtime, prefix=prefix)
    assert (
        summary.unit_count == len(plans().units)
        and summary.written["units"] == len(plans().units) - 1
    )
    row = await owner.fetchrow(
        "SELECT parent_id, since FROM units WHERE tenant_id = $1", prefix + PROVINCE
    )
    assert tuple(row) == (prefix + NATIONAL, date(2024, 1, 1))
    assert dict(summary.registrations) == {"on_time": 15, "late": 4, "not_yet": 4, "withdrawn": 0}


async def test_the_awards_of_2021_run_the_chain_once(loaded, owner):
    prefix, summary = loaded
    assert summary.awards == (2, 3, 1)  # decisions; standing recipients; revoked
    union, hoa_lu, tld = prefix + "nb-cs-trang-an", prefix + "nb-hoa-lu", prefix + "tld"
    rounds = await owner.fetch(
        "SELECT a.round, a.status, a.tenant_id FROM appraisals a JOIN proposals p "
        "ON p.proposal_id = a.proposal_id WHERE p.tenant_id = $1 ORDER BY a.round",
        union,
    )
    assert [(r["round"], r["status"], r["tenant_id"]) for r in rounds] == [
        (1, "returned", hoa_lu),
        (2, "completed", hoa_lu),
    ]
    given = await owner.fetch(
        "SELECT d.tenant_id, d.code, d.decided_on, r.award, r.cash_vnd, r.revoked_on IS NOT NULL "
        "AS revoked FROM decisions d JOIN decision_recipients r USING (tenant_id, decision_id) "
        "WHERE d.tenant_id = ANY ($1::text[]) ORDER BY d.tenant_id, r.award, r.revoked_on",
        [hoa_lu, tld],
    )
    assert [
        (g["tenant_id"], g["code"], g["award"], g["cash_vnd"], g["revoked"]) for g in given
    ] == [
        (hoa_lu, "1/QĐ-KT", "lao_dong_tien_tien", 450_000, True),  # 0.3 × 1,490,000, rounded up
        (hoa_lu, "1/QĐ-KT", "lao_dong_tien_tien", 450_000, False),
        (hoa_lu, "1/QĐ-KT", "tap_the_lao_dong_tien_tien", 1_200_000, False),  # 0.8 ×
        (tld, "1/QĐ-KT", "bang_khen_tld", 2_980_000, False),  # 2.0 ×, forwarded twice
    ]
    assert {g["decided_on"].year for g in given} == {2021, 2022}


async def test_the_provinces_2021_summary_counts_its_subtrees_campaign_work(
    loaded,
    owner,
    client,  # noqa: F811
    tokens,  # noqa: F811
):
    prefix, _ = loaded
    province = prefix + PROVINCE
    below = "SELECT descendant FROM unit_closure WHERE ancestor = $1"
    pledges = await owner.fetchval(
        f"SELECT count(*) FROM campaign_pledges WHERE tenant_id IN ({below}) "
        "AND status = 'registered' AND extract(year FROM registered_on) = 2021",
        province,
    )
    recognised, benefit = await owner.fetchrow(
        f"SELECT count(*), coalesce(sum(benefit_vnd), 0) FROM campaign_initiatives "
        f"WHERE tenant_id IN ({below}) AND status = 'registered' AND recognised_on IS NOT NULL "
        "AND extract(year FROM recognised_on) = 2021",
        province,
    )
    body = await gql(
        client,
        tokens,
        province,
        ["officer"],
        "{ summary(firstYear: 2021) { total { campaignsLaunched pledges initiatives "
        "initiativeBenefitVnd decisions } } }",
    )
    assert "errors" not in body, body
    total = body["data"]["summary"]["total"]
    assert pledges > 0 and recognised > 0
    assert (total["pledges"], total["initiatives"], total["initiativeBenefitVnd"]) == (
        pledges,
        recognised,
        benefit,
    )
    assert total["campaignsLaunched"] >= 1


async def test_the_provinces_5_year_report_is_a_draft_and_hoa_lu_sent_its_own(
    loaded,
    client,  # noqa: F811
    tokens,  # noqa: F811
):
    prefix, _ = loaded
    province = prefix + PROVINCE
    body = await gql(
        client,
        tokens,
        province,
        ["officer"],
        "{ myPeriodReport(firstYear: 2020, lastYear: 2025) { number submittedVersion "
        "sections { code text } } reportsBelow(firstYear: 2020, lastYear: 2025) { unitId status } "
        "kpis(year: 2021) { targets { code part whole } } }",
    )
    assert "errors" not in body, body
    data = body["data"]
    report = data["myPeriodReport"]
    assert report["number"] == "45/BC-LĐLĐ" and report["submittedVersion"] is None
    written = {s["code"] for s in report["sections"] if s["text"]}
    assert {"I.1", "I.2", "II.1", "II.5", "III", "IV.1"} <= written
    status = {b["unitId"]: b["status"] for b in data["reportsBelow"]}
    assert status[prefix + "nb-hoa-lu"] == "SENT_ON_TIME"
    assert "NOT_YET" in status.values()
    cadres = next(t for t in data["kpis"]["targets"] if t["code"] == "cadres_trained")
    assert (cadres["part"], cadres["whole"]) == (35, 40)
