"""A council's results as the projection writes them (services/awards/projections.py
``_results``): the items of each count in one statement when the counts are few, all of them
by arrays when they are many; either way each item gets its own count."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from services.awards.projections import COUNTS_ALIKE, _results


@pytest.mark.parametrize("counts", [2, COUNTS_ALIKE + 4])
async def test_each_item_gets_its_own_count_however_many_counts_there_are(owner, counts):
    # Given a council's items, not yet counted
    tenant, session, proposal = f"r-{uuid.uuid4().hex[:8]}", uuid.uuid4(), uuid.uuid4()
    items = [f"{proposal}:{n}" for n in range(60)]
    async with owner.transaction():
        await owner.executemany(
            "INSERT INTO council_items (tenant_id, session_id, item_id, proposal_id, proposer, "
            "nominee_id, who, unit_of, award, recused, position) "
            "VALUES ($1, $2, $3, $4, 'u', $3, $3, 'u', 'lao_dong_tien_tien', '[]', $5)",
            [(tenant, session, item, proposal, n) for n, item in enumerate(items)],
        )

        # When their results, of so many distinct counts, are projected
        results = [
            {
                "item_id": item,
                "yes": n % counts,
                "no": 1,
                "abstain": 2,
                "eligible": counts + 5,
                "passed": n % counts > counts // 2,
                "voters": n % counts + 3,
            }
            for n, item in enumerate(items)
        ]
        await _results(owner, SimpleNamespace(tenant_id=tenant, stream_id=session), results)

        # Then each row holds its item's count
        rows = await owner.fetch(
            "SELECT item_id, yes, no, abstain, eligible, passed, voters FROM council_items "
            "WHERE tenant_id = $1 AND session_id = $2",
            tenant,
            session,
        )
        by_item = {r["item_id"]: dict(r) for r in rows}
        assert by_item == {r["item_id"]: r for r in results}
    await owner.execute("DELETE FROM council_items WHERE tenant_id = $1", tenant)
