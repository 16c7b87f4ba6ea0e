"""Campaign commands as specifications: given a tree and a campaign, when a command, then these
events and read-model rows, or this error and nothing written."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from shared.errors import DomainError

from .conftest import SEED_003, officer, principal, seed_003

FIRST, SECOND = SEED_003["contents"]  # a registering unit picks from these


async def events_of(owner, tenant: str) -> list[str]:
    rows = await owner.fetch(
        "SELECT event_type FROM events WHERE tenant_id = $1 ORDER BY seq", tenant
    )
    return [r["event_type"] for r in rows]


async def refused(code: str, owner, tenant: str, command) -> None:
    """The command fails with ``code`` and the tenant's log is unchanged."""
    before = await events_of(owner, tenant)
    with pytest.raises(DomainError) as caught:
        await command
    assert caught.value.code == code
    assert await events_of(owner, tenant) == before


async def test_a_campaign_is_planned_then_launched_and_its_plan_is_frozen(campaigns, tree, owner):
    campaign_id = await seed_003(campaigns, tree.prov1)
    assert await events_of(owner, tree.prov1) == [
        "UnitRegistered",
        "CampaignCreated",
        "PhaseAdded",
        "PhaseAdded",
        "IndicatorAdded",
        "IndicatorAdded",
        "CampaignLaunched",
    ]
    row = await owner.fetchrow(
        "SELECT status, launched_on, version FROM campaigns WHERE campaign_id = $1", campaign_id
    )
    assert (row["status"], row["launched_on"], row["version"]) == ("launched", date(2021, 1, 20), 6)
    await refused(
        "CAMPAIGN_FROZEN",
        owner,
        tree.prov1,
        campaigns.add_phase(
            officer(tree.prov1),
            campaign_id,
            name="Đợt 3",
            starts=date(2021, 12, 1),
            ends=date(2021, 12, 2),
        ),
    )
    await refused(
        "CAMPAIGN_ALREADY_LAUNCHED",
        owner,
        tree.prov1,
        campaigns.launch(officer(tree.prov1), campaign_id),
    )


async def test_an_amendment_after_launch_is_an_event_with_its_reason(campaigns, tree, owner):
    campaign_id = await seed_003(campaigns, tree.prov1)
    await refused(
        "REASON_REQUIRED",
        owner,
        tree.prov1,
        campaigns.amend(
            officer(tree.prov1), campaign_id, {"registration_due": date(2021, 2, 28)}, "  "
        ),
    )
    await campaigns.amend(
        officer(tree.prov1), campaign_id, {"registration_due": date(2021, 2, 28)}, "Gia hạn do Tết"
    )
    await campaigns.amend_target(officer(tree.prov1), campaign_id, "cdcs-moi", 25, "Tỉnh giao thêm")
    assert (await events_of(owner, tree.prov1))[-2:] == [
        "CampaignAmended",
        "IndicatorTargetAmended",
    ]
    row = await owner.fetchrow(
        "SELECT registration_due, amendments FROM campaigns WHERE campaign_id = $1", campaign_id
    )
    assert row["registration_due"] == date(2021, 2, 28)
    assert "Gia hạn do Tết" in row["amendments"] and "Tỉnh giao thêm" in row["amendments"]
    target = await owner.fetchval(
        "SELECT target FROM campaign_indicators WHERE campaign_id = $1 AND code = 'cdcs-moi'",
        campaign_id,
    )
    assert target == 25


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"period_start": date(2021, 12, 31), "period_end": date(2021, 1, 1)}, "DATE_ORDER"),
        ({"kind": "monthly"}, "CAMPAIGN_INVALID"),
        ({"registration_due": date(2022, 1, 1)}, "DATE_ORDER"),
        ({"name": "  "}, "CAMPAIGN_INVALID"),
    ],
)
async def test_a_plan_with_bad_dates_or_values_is_refused(campaigns, tree, owner, change, code):
    await refused(
        code, owner, tree.prov1, campaigns.create(officer(tree.prov1), **(SEED_003 | change))
    )


async def test_a_phase_outside_the_period_or_in_the_wrong_order_is_refused(campaigns, tree, owner):
    campaign_id = await seed_003(campaigns, tree.prov1, launch=False)
    actor = officer(tree.prov1)
    await refused(
        "PHASE_OUTSIDE_PERIOD",
        owner,
        tree.prov1,
        campaigns.add_phase(
            actor, campaign_id, name="Đợt 3", starts=date(2021, 12, 1), ends=date(2022, 1, 10)
        ),
    )
    await refused(
        "DATE_ORDER",
        owner,
        tree.prov1,
        campaigns.add_phase(
            actor, campaign_id, name="Đợt 3", starts=date(2021, 5, 1), ends=date(2021, 4, 1)
        ),
    )
    await refused(
        "PHASE_OVERLAP",
        owner,
        tree.prov1,
        campaigns.add_phase(
            actor, campaign_id, name="Đợt 3", starts=date(2021, 6, 1), ends=date(2021, 7, 1)
        ),
    )


async def test_a_percent_target_over_100_and_a_duplicate_code_are_refused(campaigns, tree, owner):
    campaign_id = await seed_003(campaigns, tree.prov1, launch=False)
    actor = officer(tree.prov1)
    await refused(
        "INDICATOR_PERCENT_OVER_100",
        owner,
        tree.prov1,
        campaigns.add_indicator(
            actor, campaign_id, code="x", name="Tỷ lệ", measure="percent", target=101
        ),
    )
    await refused(
        "INDICATOR_INVALID",
        owner,
        tree.prov1,
        campaigns.add_indicator(
            actor, campaign_id, code="cdcs-moi", name="Lặp", measure="count", target=1
        ),
    )


async def test_text_is_stored_in_nfc_not_refused(campaigns, tree, owner):
    decomposed = unicodedata.normalize("NFD", "Thi đua Lao động giỏi")
    campaign_id = await campaigns.create(
        officer(tree.prov1), **(SEED_003 | {"name": decomposed, "contents": [decomposed]})
    )
    row = await owner.fetchrow(
        "SELECT name, contents, search_key FROM campaigns WHERE campaign_id = $1", campaign_id
    )
    assert row["name"] == unicodedata.normalize("NFC", decomposed)
    assert unicodedata.is_normalized("NFC", row["contents"])
    assert row["search_key"].startswith("thi dua lao dong gioi")


async def test_text_in_paragraphs_keeps_its_paragraphs(campaigns, tree, owner):
    objectives = "  Mục đích:  tạo khí thế thi đua.\r\n\r\n\r\n Yêu cầu:\tthiết thực, hiệu quả. \n"
    campaign_id = await campaigns.create(
        officer(tree.prov1), **(SEED_003 | {"objectives": objectives})
    )
    stored = await owner.fetchval(
        "SELECT objectives FROM campaigns WHERE campaign_id = $1", campaign_id
    )
    assert stored == "Mục đích: tạo khí thế thi đua.\n\nYêu cầu: thiết thực, hiệu quả."


async def test_a_unit_registers_on_time_late_only_when_it_says_so(campaigns, tree, owner, clock):
    campaign_id = await seed_003(campaigns, tree.prov1)
    clock.on = date(2021, 2, 20)
    await campaigns.register(
        officer(tree.upper1), campaign_id, contents=[FIRST], targets={"cdcs-moi": 2}
    )
    clock.on = date(2021, 2, 21)
    await refused(
        "REGISTRATION_LATE",
        owner,
        tree.upper2,
        campaigns.register(officer(tree.upper2), campaign_id, contents=[SECOND]),
    )
    await campaigns.register(officer(tree.upper2), campaign_id, contents=[SECOND], late=True)
    rows = await owner.fetch(
        "SELECT tenant_id, late FROM campaign_registrations WHERE campaign_id = $1 ORDER BY tenant_id",
        campaign_id,
    )
    assert [(r["tenant_id"], r["late"]) for r in rows] == [
        (tree.upper1, False),
        (tree.upper2, True),
    ]
    assert await events_of(owner, tree.upper1) == ["UnitRegistered", "RegistrationSubmitted"]


async def test_a_registration_needs_the_campaigns_minimum_of_contents(campaigns, tree, owner):
    campaign_id = await campaigns.create(officer(tree.prov1), **(SEED_003 | {"min_contents": 2}))
    await campaigns.launch(officer(tree.prov1), campaign_id)
    await refused(
        "REGISTRATION_TOO_FEW_CONTENTS",
        owner,
        tree.upper1,
        campaigns.register(officer(tree.upper1), campaign_id, contents=[FIRST]),
    )
    await campaigns.register(officer(tree.upper1), campaign_id, contents=[FIRST, SECOND])


async def test_targets_and_reports_must_name_the_campaigns_indicators(
    campaigns, tree, owner, clock
):
    campaign_id = await seed_003(campaigns, tree.prov1)
    await refused(
        "INDICATOR_UNKNOWN",
        owner,
        tree.upper1,
        campaigns.register(
            officer(tree.upper1), campaign_id, contents=[FIRST], targets={"khong-co": 1}
        ),
    )
    await refused(
        "INDICATOR_PERCENT_OVER_100",
        owner,
        tree.upper1,
        campaigns.register(
            officer(tree.upper1), campaign_id, contents=[FIRST], targets={"cttcs-tot": 120}
        ),
    )
    await refused(
        "INDICATOR_UNKNOWN",
        owner,
        tree.upper1,
        campaigns.report_progress(officer(tree.upper1), campaign_id, 1, {"khong-co": 1}),
    )
    await refused(
        "PHASE_UNKNOWN",
        owner,
        tree.upper1,
        campaigns.report_progress(officer(tree.upper1), campaign_id, 3, {"cdcs-moi": 1}),
    )


async def test_a_report_after_the_phase_deadline_is_flagged_late(campaigns, tree, owner, clock):
    campaign_id = await seed_003(campaigns, tree.prov1)
    clock.on = date(2021, 7, 5)  # phase 1 ended 30/6: due within 5 days
    assert (
        await campaigns.report_progress(officer(tree.upper1), campaign_id, 1, {"cdcs-moi": 3})
        is False
    )
    clock.on = date(2021, 7, 6)
    assert (
        await campaigns.report_progress(officer(tree.upper1), campaign_id, 1, {"cdcs-moi": 4})
        is True
    )
    rows = await owner.fetch(
        "SELECT actual, late FROM campaign_progress WHERE campaign_id = $1", campaign_id
    )
    assert [(r["actual"], r["late"]) for r in rows] == [(4, True)]  # the correction counts
    assert await events_of(owner, tree.upper1) == [
        "UnitRegistered",
        "ProgressOpened",
        "ProgressReported",
        "ProgressReported",
    ]


async def test_reviews_and_conclusion_carry_report_and_figures(campaigns, tree, owner, clock):
    campaign_id = await seed_003(campaigns, tree.prov1)
    clock.on = date(2021, 7, 10)
    await campaigns.review_phase(
        officer(tree.prov1), campaign_id, 1, "Báo cáo sơ kết đợt 1", {"sáng kiến": 640}
    )
    await refused(
        "PHASE_ALREADY_REVIEWED",
        owner,
        tree.prov1,
        campaigns.review_phase(officer(tree.prov1), campaign_id, 1, "Lần hai", {}),
    )
    clock.on = date(2022, 1, 3)
    await campaigns.conclude(
        officer(tree.prov1), campaign_id, "Báo cáo tổng kết", {"sáng kiến": 1250}
    )
    review = await owner.fetchval(
        "SELECT review FROM campaign_phases WHERE campaign_id = $1 AND number = 1", campaign_id
    )
    assert '"late": true' in review and "640" in review
    row = await owner.fetchrow(
        "SELECT status, conclusion FROM campaigns WHERE campaign_id = $1", campaign_id
    )
    assert row["status"] == "concluded" and '"late": false' in row["conclusion"]
    await refused(
        "CAMPAIGN_CONCLUDED",
        owner,
        tree.upper1,
        campaigns.register(officer(tree.upper1), campaign_id, contents=[FIRST], late=True),
    )


async def test_corrections_amend_or_withdraw_a_registration_with_a_reason(campaigns, tree, owner):
    campaign_id = await seed_003(campaigns, tree.prov1)
    actor = officer(tree.upper1)
    await campaigns.register(actor, campaign_id, contents=[FIRST])
    await refused(
        "REGISTRATION_EXISTS",
        owner,
        tree.upper1,
        campaigns.register(actor, campaign_id, contents=[SECOND]),
    )
    await campaigns.amend_registration(
        actor,
        campaign_id,
        plan="Kế hoạch mới",
        contents=[FIRST, SECOND],
        targets={},
        reason="Bổ sung",
    )
    await campaigns.withdraw_registration(actor, campaign_id, "Đơn vị sáp nhập")
    await refused(
        "REGISTRATION_WITHDRAWN",
        owner,
        tree.upper1,
        campaigns.withdraw_registration(actor, campaign_id, "Lần nữa"),
    )
    row = await owner.fetchrow(
        "SELECT status, contents, history FROM campaign_registrations WHERE tenant_id = $1",
        tree.upper1,
    )
    assert (
        row["status"] == "withdrawn"
        and "Bổ sung" in row["history"]
        and "Đơn vị sáp nhập" in row["history"]
    )


async def test_a_lower_campaign_carries_out_a_launched_ancestor_campaign(campaigns, tree, owner):
    upper = await seed_003(campaigns, tree.prov1)
    draft = await seed_003(campaigns, tree.prov1, launch=False)
    own = await campaigns.create(officer(tree.upper1), **(SEED_003 | {"parent_campaign": upper}))
    row = await owner.fetchrow(
        "SELECT parent_unit, parent_campaign FROM campaigns WHERE campaign_id = $1", own
    )
    assert (row["parent_unit"], row["parent_campaign"]) == (tree.prov1, upper)
    # A draft of the parent, and anything of a unit not above, is "not found".
    await refused(
        "NOT_FOUND",
        owner,
        tree.upper1,
        campaigns.create(officer(tree.upper1), **(SEED_003 | {"parent_campaign": draft})),
    )
    cousin = await seed_003(campaigns, tree.prov2)
    await refused(
        "NOT_FOUND",
        owner,
        tree.upper1,
        campaigns.create(officer(tree.upper1), **(SEED_003 | {"parent_campaign": cousin})),
    )


async def test_only_officers_write_and_only_in_their_own_unit(campaigns, tree, owner):
    campaign_id = await seed_003(campaigns, tree.prov1)
    await refused(
        "FORBIDDEN",
        owner,
        tree.prov1,
        campaigns.create(principal(tree.prov1, "member"), **SEED_003),
    )
    await refused(
        "FORBIDDEN",
        owner,
        tree.prov1,
        campaigns.amend(officer(tree.upper1), campaign_id, {"theme": "Khác"}, "x"),
    )
    await refused(
        "NOT_FOUND",
        owner,
        tree.upper3,
        campaigns.register(officer(tree.upper3), campaign_id, contents=[FIRST]),
    )
    await refused(
        "NOT_FOUND",
        owner,
        tree.prov1,
        campaigns.register(officer(tree.prov1), campaign_id, contents=[FIRST]),
    )


async def test_a_unit_neither_registers_nor_reports_under_a_campaign_of_a_unit_below(
    campaigns, tree, owner
):
    below = await seed_003(campaigns, tree.upper1)  # the province reads it, but stands above it
    await refused(
        "NOT_FOUND",
        owner,
        tree.prov1,
        campaigns.register(officer(tree.prov1), below, contents=[FIRST]),
    )
    await refused(
        "NOT_FOUND",
        owner,
        tree.prov1,
        campaigns.report_progress(officer(tree.prov1), below, 1, {"cdcs-moi": 1}),
    )


async def test_a_merged_dissolved_or_unregistered_unit_gives_no_command(
    campaigns, registry, tree, owner
):
    await registry.dissolve(None, tree.cs1, date(2024, 6, 1), "Doanh nghiệp giải thể")
    await refused("UNIT_INACTIVE", owner, tree.cs1, campaigns.create(officer(tree.cs1), **SEED_003))
    await refused(
        "NOT_FOUND",
        owner,
        f"{tree.prefix}-ghost",
        campaigns.create(officer(f"{tree.prefix}-ghost"), **SEED_003),
    )
