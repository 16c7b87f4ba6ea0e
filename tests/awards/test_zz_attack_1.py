"""Throwaway attack probes (to be deleted)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

from shared.clock import today
from tests.awards.test_people_graphql import AN, REGISTER, register
from tests.awards.test_people_graphql import ONE as PERSON_ONE
from tests.awards.test_proposals import INBOX, ONE, PDF, SUBMIT, add, draft, upload
from tests.campaign.test_pledges import csv_file
from tests.registry.test_graphql import code_of, gql


async def test_a_idempotent_register_person(client, tokens, tree):
    body = await gql(
        client, tokens, tree.cs1, ["officer"], REGISTER, input={**AN, "idempotencyKey": "k-1"}
    )
    print("REGISTER WITH KEY:", body)
    amend = """mutation($id: ID!, $input: PersonInput!) { amendPerson(id: $id, input: $input) { fullName } }"""
    p = await register(client, tokens, tree.cs1, {**AN, "staffNumber": "X2"})
    token = tokens.issue(tenant=tree.cs1, roles=["officer"], subject="s", ttl=timedelta(minutes=5))
    r = await client.post(
        "/graphql",
        json={"query": amend, "variables": {"id": p["id"], "input": {**AN, "staffNumber": "X2"}}},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "k-2"},
    )
    print("AMEND WITH HEADER KEY:", r.json())


async def _submitted(client, tokens, tree):
    an = await register(client, tokens, tree.cs1)
    pid = await draft(client, tokens, tree.cs1)
    ok = await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    assert ok["data"]["addNominee"]["findings"] == []
    for kind in ("memo", "achievement_report", "council_minutes"):
        done = await upload(
            client, tokens, tree.cs1, pid, kind, PDF + kind.encode() + tree.prefix.encode()
        )
        assert done.status_code == 200, done.text
    body = await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    assert "errors" not in body, body
    return pid, an


async def test_b_future_move_and_proposals(client, tokens, tree, registry, owner):
    pid, an = await _submitted(client, tokens, tree)
    # cs1 moves under upper3 (province 2) a month from now.
    await registry.move(None, tree.cs1, tree.upper3, today() + timedelta(days=30))
    rows = await owner.fetch(
        "SELECT ancestor, valid_from, valid_to FROM unit_closure WHERE descendant = $1", tree.cs1
    )
    print("CLOSURE:", [dict(r) for r in rows])
    for unit in ("upper1", "prov1", "upper3", "prov2"):
        read = await gql(client, tokens, getattr(tree, unit), ["officer"], ONE, id=pid)
        inbox = await gql(client, tokens, getattr(tree, unit), ["officer"], INBOX)
        person = await gql(
            client, tokens, getattr(tree, unit), ["officer"], PERSON_ONE, id=an["id"]
        )
        print(
            unit,
            "proposal visible:",
            read["data"]["proposal"] is not None,
            "in inbox:",
            pid in [e["node"]["id"] for e in inbox["data"]["proposalInbox"]["edges"]],
            "person visible:",
            person["data"]["person"] is not None,
        )


async def test_c_calendar_refused_but_written(client, tokens, tree, owner):
    q = 'mutation { markCalendarDay(on: "1999-06-07", working: false, reason: "thử") { year } }'
    body = await gql(client, tokens, tree.tld, ["admin"], q)
    print("MARK 1999:", body)
    await asyncio.sleep(0.5)
    row = await owner.fetchrow("SELECT * FROM calendar_days WHERE day = '1999-06-07'")
    print("ROW:", row)


async def test_d_same_bytes_two_units(client, tokens, tree):
    p1 = await draft(client, tokens, tree.cs1)
    p2 = await draft(client, tokens, tree.upper2)
    content = PDF + b"shared" + tree.prefix.encode()
    a = await upload(client, tokens, tree.cs1, p1, "memo", content)
    b = await upload(client, tokens, tree.upper2, p2, "memo", content)
    print("FIRST:", a.status_code, a.text)
    print("SECOND:", b.status_code, b.text)
    # the same bytes as two kinds in one draft
    c = await upload(client, tokens, tree.cs1, p1, "council_minutes", content)
    print("SAME BYTES OTHER KIND:", c.status_code, c.text)
    body = await gql(client, tokens, tree.cs1, ["officer"], ONE, id=p1)
    print("DOCS:", body["data"]["proposal"]["documents"])


async def test_e_nul_in_uploaded_name_poisons_projection(client, tokens, tree, owner):
    token = tokens.issue(tenant=tree.cs1, roles=["officer"], subject="s", ttl=timedelta(minutes=5))
    content = csv_file([["Số hiệu", "Họ và tên", "Giới tính"], ["N1", "Trần\x00Thị", "Nữ"]])
    r = await client.post(
        "/people", files={"file": ("a.csv", content)}, headers={"Authorization": f"Bearer {token}"}
    )
    print("UPLOAD NUL:", r.status_code, r.text)
    later = await gql(
        client, tokens, tree.cs1, ["officer"], REGISTER, input={**AN, "staffNumber": "AFTER"}
    )
    print("LATER REGISTER:", later)
    n = await owner.fetchval("SELECT count(*) FROM people WHERE tenant_id = $1", tree.cs1)
    print("PEOPLE ROWS:", n)
    events = await owner.fetchval(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND event_type = 'PersonRegistered'",
        tree.cs1,
    )
    print("EVENTS:", events)


async def test_f_base_salary_two_nationals(client, tokens, tree, elsewhere, owner):
    q = 'mutation { setBaseSalary(amountVnd: "3000000", effectiveFrom: "2031-07-01", source: "NĐ x") { amountVnd } }'
    a = await gql(client, tokens, tree.tld, ["admin"], q)
    print("TREE TLD:", a)
    b = await gql(client, tokens, elsewhere, ["admin"], q)
    print("ELSEWHERE:", b)
    later = await gql(
        client, tokens, elsewhere, ["officer"], REGISTER, input={**AN, "staffNumber": "E1"}
    )
    print("ELSEWHERE REGISTER AFTER:", later)


async def test_g_local_rule_numbers(client, tokens, tree):
    q = """mutation($n: JSON) { addLocalRule(code: "x", kind: "quota", message: "m",
      effectiveFrom: "2025-01-01", source: "s", numbers: $n) }"""
    for n in ({"a": True}, {"a": "1"}, {"a": 1.5}, {"a": 10**30}, [1], {"a" * 65: 1}):
        body = await gql(client, tokens, tree.prov1, ["officer"], q, n=n)
        print("NUMBERS", str(n)[:40], "->", code_of(body), body.get("data"))


async def test_h_search_blank(client, tokens, tree):
    await register(client, tokens, tree.cs1)
    q = "query($s: String) { people(search: $s, first: 5) { total } }"
    for s in (None, "  ", "anh"):
        body = await gql(client, tokens, tree.cs1, ["officer"], q, s=s)
        print("SEARCH", repr(s), body)


async def test_i_former_parent_reads_amendments(client, tokens, tree, registry, owner):
    an = await register(client, tokens, tree.cs1)
    # As if registered long ago: the row's day before the move.
    await owner.execute(
        "UPDATE people SET recorded_on = '2024-03-01' WHERE person_id = $1", uuid.UUID(an["id"])
    )
    await registry.move(None, tree.cs1, tree.upper2, date(2024, 6, 1))
    amend = """mutation($id: ID!, $input: PersonInput!) { amendPerson(id: $id, input: $input) { fullName } }"""
    body = await gql(
        client,
        tokens,
        tree.cs1,
        ["officer"],
        amend,
        id=an["id"],
        input={**AN, "fullName": "Tên Mới Sau Khi Chuyển", "contacts": ["moi@example.vn"]},
    )
    print("AMEND:", body)
    seen = await gql(client, tokens, tree.upper1, ["officer"], PERSON_ONE, id=an["id"])
    print(
        "FORMER PARENT SEES:",
        seen["data"]["person"]
        and (seen["data"]["person"]["fullName"], seen["data"]["person"]["contacts"]),
    )
