"""Verification through GraphQL is computed once per log head, one at a time per unit."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from services.gateway.verifications import Verifications
from services.registry.commands import RegistryCommands, commands_of
from shared import access


@pytest.fixture
def registry(runtime) -> RegistryCommands:
    return commands_of(runtime)


def reader(runtime, unit_id: str):
    """Connections that read the unit's whole log, as the GraphQL resolver opens them."""
    return lambda: access.as_unit(runtime.pool, unit_id)


@pytest.fixture
async def unit(registry) -> str:
    unit_id = f"v{uuid.uuid4().hex[:8]}-tld"
    await registry.register(None, unit_id=unit_id, name="Đơn vị kiểm chuỗi", level="national")
    return unit_id


async def test_thirty_concurrent_asks_verify_once_and_a_repeat_at_the_same_head_costs_nothing(
    runtime, unit
):
    verifications = Verifications()
    verdicts = await asyncio.gather(
        *(verifications.verdict(unit, reader(runtime, unit)) for _ in range(30))
    )
    assert {(v.ok, v.count, v.head_seq) for v in verdicts} == {(True, 1, 1)}
    assert verifications.runs == 1
    await verifications.verdict(unit, reader(runtime, unit))
    assert verifications.runs == 1


async def test_a_new_head_is_verified_again(runtime, registry, unit):
    verifications = Verifications()
    await verifications.verdict(unit, reader(runtime, unit))
    await registry.rename(None, unit_id=unit, name="Tên mới của đơn vị")
    verdict = await verifications.verdict(unit, reader(runtime, unit))
    assert verifications.runs == 2 and verdict.ok and verdict.head_seq == 2


async def test_a_verdict_older_than_its_age_limit_is_recomputed(runtime, unit):
    verifications = Verifications(max_age_s=0)
    await verifications.verdict(unit, reader(runtime, unit))
    await verifications.verdict(unit, reader(runtime, unit))
    assert verifications.runs == 2


async def test_the_per_unit_locks_are_dropped_once_unused(runtime, unit):
    verifications = Verifications()
    await asyncio.gather(*(verifications.verdict(unit, reader(runtime, unit)) for _ in range(5)))
    assert verifications._locks == {} and verifications._users == {}
