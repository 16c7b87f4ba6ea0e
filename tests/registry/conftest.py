"""A registry on the session's database, and trees of units no other test shares."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import pytest

from services.gateway.runtime import Runtime
from services.registry.commands import RegistryCommands, commands_of
from shared.auth import Principal

SINCE = date(2024, 1, 1)


@pytest.fixture
def registry(runtime: Runtime) -> RegistryCommands:
    return commands_of(runtime)


@dataclass
class Tree:
    """national → provincial ×2 → upper (two under the first province) → grassroots.

    Relations seen from ``upper1``: parent ``prov1``, child ``cs1``, sibling ``upper2``, cousin
    ``upper3`` (under ``prov2``), grandchild none; from ``prov1``: grandchild ``cs1``."""

    prefix: str

    def __getattr__(self, name: str) -> str:
        return f"{self.prefix}-{name}"


def principal(tenant: str, *roles: str, subject: str = "tester") -> Principal:
    return Principal(subject=subject, tenant=tenant, roles=frozenset(roles))


@pytest.fixture
async def tree(registry: RegistryCommands) -> Tree:
    t = Tree(f"u{uuid.uuid4().hex[:8]}")
    r = registry.register
    await r(
        None,
        unit_id=t.tld,
        name="Tổng Liên đoàn Lao động Việt Nam",
        short_name="TLĐ",
        level="national",
        members=0,
        effective_on=SINCE,
    )
    await r(
        None,
        unit_id=t.prov1,
        name="Liên đoàn Lao động tỉnh Ninh Bình",
        level="provincial",
        parent_id=t.tld,
        effective_on=SINCE,
    )
    await r(
        None,
        unit_id=t.prov2,
        name="Liên đoàn Lao động tỉnh Nam Định",
        level="provincial",
        parent_id=t.tld,
        effective_on=SINCE,
    )
    await r(
        None,
        unit_id=t.upper1,
        name="Công đoàn Điện lực Ninh Bình",
        level="upper",
        parent_id=t.prov1,
        effective_on=SINCE,
    )
    await r(
        None,
        unit_id=t.upper2,
        name="LĐLĐ huyện Hoa Lư",
        level="upper",
        parent_id=t.prov1,
        effective_on=SINCE,
    )
    await r(
        None,
        unit_id=t.upper3,
        name="LĐLĐ huyện Ý Yên",
        level="upper",
        parent_id=t.prov2,
        effective_on=SINCE,
    )
    await r(
        None,
        unit_id=t.cs1,
        name="Công đoàn cơ sở Điện lực Hoa Lư",
        level="grassroots",
        sector_type="DN nhà nước",
        members=120,
        parent_id=t.upper1,
        effective_on=SINCE,
    )
    return t
