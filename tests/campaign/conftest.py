"""Campaign commands on the session's database, over a tree of units no other test shares, with
a clock the tests set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from services.campaign.commands import CampaignCommands, commands_of
from services.gateway.runtime import Runtime
from tests.registry.conftest import Tree, principal, registry, tree  # noqa: F401  (fixtures)
from tests.registry.test_graphql import client, elsewhere, tokens  # noqa: F401  (fixtures)


@dataclass
class Clock:
    on: date = date(2021, 1, 20)

    def __call__(self) -> date:
        return self.on


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def campaigns(runtime: Runtime, clock: Clock) -> CampaignCommands:
    return commands_of(runtime, clock)


def officer(tenant: str):
    return principal(tenant, "officer")


SEED_003 = dict(
    name="Phát động phong trào thi đua trong đoàn viên, CNVCLĐ và các cấp công đoàn năm 2021",
    theme="Tận dụng cơ hội, vượt mọi khó khăn, nỗ lực phấn đấu, đưa nghị quyết của Đảng vào cuộc sống",
    kind="yearly",
    period_start=date(2021, 1, 1),
    period_end=date(2021, 12, 31),
    participants="workers",
    contents=["Phát huy sáng kiến, sáng tạo", "Đẩy mạnh các phong trào do TLĐ phát động"],
    registration_due=date(2021, 2, 20),
    report_days=5,
    min_contents=1,
)


async def seed_003(campaigns: CampaignCommands, unit: str, *, launch: bool = True):
    """Seed 003's campaign of ``unit``: two phases, two indicators; launched by default."""
    actor = officer(unit)
    campaign_id = await campaigns.create(actor, **SEED_003)
    await campaigns.add_phase(
        actor, campaign_id, name="Đợt 1", starts=date(2021, 1, 1), ends=date(2021, 6, 30)
    )
    await campaigns.add_phase(
        actor, campaign_id, name="Đợt 2", starts=date(2021, 7, 1), ends=date(2021, 12, 31)
    )
    await campaigns.add_indicator(
        actor, campaign_id, code="cdcs-moi", name="Thành lập CĐCS mới", measure="count", target=20
    )
    await campaigns.add_indicator(
        actor,
        campaign_id,
        code="cttcs-tot",
        name="Công đoàn cấp trên cơ sở xếp loại tốt",
        measure="percent",
        target=85,
        scope="own",
    )
    if launch:
        await campaigns.launch(actor, campaign_id)
    return campaign_id
