"""The register rebuilt beside the live one (``thidua projections rebuild awards``): the same
rows, an erased person still erased (their key is gone, nothing opens), the others' names
opened again with their keys."""

from __future__ import annotations

from services.awards.domain import Particulars, Personal
from services.awards.projections import PROJECTION
from shared.projection_rebuild import rebuild
from tests.awards.conftest import officer

COLUMNS = "person_id, full_name, search_key, birth_year, contacts, gender, status, history, version"


async def _rows(owner, tenant):
    rows = await owner.fetch(
        f"SELECT {COLUMNS} FROM people WHERE tenant_id = $1 ORDER BY person_id", tenant
    )
    return [tuple(r) for r in rows]


async def test_a_rebuilt_register_keeps_the_erased_erased(awards, tree, owner, runtime):
    actor = officer(tree.upper3)
    kept = await awards.register_person(
        actor,
        staff_number="R1",
        personal=Personal("Đinh Văn Khoa", 1975),
        particulars=Particulars("male"),
    )
    gone = await awards.register_person(
        actor,
        staff_number="R2",
        personal=Personal("Mai Thị Lan", 1980),
        particulars=Particulars("female"),
    )
    await awards.erase_person(actor, gone, legal_reason="Nghị định 13/2023/NĐ-CP")
    before = await _rows(owner, tree.upper3)

    live = await rebuild(owner, runtime.projector_pool, PROJECTION, batch_size=64)

    assert live.version > PROJECTION.version
    after = await _rows(owner, tree.upper3)
    assert after == before
    names = {r[0]: r[1] for r in after}
    assert names == {kept: "Đinh Văn Khoa", gone: None}
