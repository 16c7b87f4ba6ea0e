"""Disclosure (issue 14, point 12): a state honour's nominee is published to the deciding unit's
subtree at least 10 working days before its council meets (rule DISCLOSURE), counted on the
working-day calendar: with Tết inside the window, the council must wait longer."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.awards.commands_council import council_commands_of
from services.awards.domain import Member
from shared.errors import DomainError
from tests.awards.conftest import officer
from tests.awards.test_chain import appraise_all
from tests.awards.test_people_graphql import AN, register
from tests.awards.test_proposals import PDF, SUBMIT, add, draft, upload
from tests.registry.test_graphql import gql

READ = """query($id: ID!) { disclosure(id: $id) { title publishedOn councilOn
  nominees { who award } } }"""
MEMBERS = [Member("chu-tich"), Member("uy-vien")]


async def appraised_state_honour(client, tokens, tree):
    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    pid = await draft(client, tokens, tree.cs1)
    added = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="huan_chuong_lao_dong_hang_ba",
    )
    assert added["data"]["addNominee"]["findings"] == []  # a state honour: proposed upward
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, tree.cs1, pid, kind, PDF + uuid.uuid4().bytes)
    await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    await appraise_all(client, tokens, tree.upper1, pid)
    return uuid.UUID(pid), an


async def test_a_state_honour_waits_ten_working_days_after_its_disclosure_tet_inside(
    client, tokens, tree, runtime, clock
):
    pid, an = await appraised_state_honour(client, tokens, tree)
    council = council_commands_of(runtime, clock)
    actor = officer(tree.upper1)

    def convene(meets_on: date):
        return council.convene(
            actor,
            title="Phiên họp",
            meets_on=meets_on,
            ballot="secret",
            quorum=2,
            members=MEMBERS,
            proposals=[pid],
        )

    clock.on = date(2026, 2, 10)
    with pytest.raises(DomainError) as undisclosed:
        await convene(date(2026, 3, 20))
    assert (undisclosed.value.code, undisclosed.value.shown()["rule"]) == (
        "RULE_BROKEN",
        "DISCLOSURE",
    )

    # Published on Tuesday 10/02/2026; Tết is 16-20/02.
    disclosure = await council.disclose(
        actor,
        title="Danh sách đề nghị Huân chương Lao động",
        council_on=date(2026, 3, 4),
        proposals=[pid],
    )
    with pytest.raises(DomainError) as early:
        await convene(date(2026, 3, 3))  # 9 working days between
    assert early.value.shown()["rule"] == "DISCLOSURE" and "9 ngày" in early.value.message
    session = await convene(date(2026, 3, 4))  # 10 working days between: 11/02 to 03/03
    assert session is not None

    seen = await gql(client, tokens, tree.cs1, ["officer"], READ, id=str(disclosure))
    published = seen["data"]["disclosure"]
    assert (published["publishedOn"], published["councilOn"]) == ("2026-02-10", "2026-03-04")
    assert published["nominees"] == [
        {"who": f"person:{an['id']}", "award": "huan_chuong_lao_dong_hang_ba"}
    ]
    aside = await gql(client, tokens, tree.upper2, ["officer"], READ, id=str(disclosure))
    assert aside["data"]["disclosure"] is None
