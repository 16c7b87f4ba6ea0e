"""What an attacker's review of the awards service found, each now a specification: a NUL in an
uploaded name, a move scheduled for a later day, personal data in the log, an idempotency key
on a person, a day refused after it was written, two national units on one day, the dossier's
bytes, a member's token and the keys."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import orjson

from services.awards.domain import Particulars, Personal
from services.gateway.schema import redacted
from shared import access
from shared.clock import today
from shared.eventstore import NewEvent
from tests.awards.conftest import officer, principal
from tests.awards.test_people_graphql import AN, REGISTER, register
from tests.awards.test_proposals import INBOX, ONE, PDF, SUBMIT, add, draft, upload
from tests.campaign.test_pledges import csv_file
from tests.registry.test_graphql import code_of, gql


async def test_a_nul_in_an_uploaded_row_is_that_rows_error_and_the_register_goes_on(
    client, tokens, tree, owner
):
    lines = [
        ["Số hiệu", "Họ và tên", "Giới tính"],
        ["N1", "Trần\x00Thị", "Nữ"],
        ["N2", "Lê Thị Hà", "Nữ"],
    ]
    token = tokens.issue(tenant=tree.cs1, roles=["officer"], subject="s", ttl=timedelta(minutes=5))
    response = await client.post(
        "/people",
        files={"file": ("a.csv", csv_file(lines))},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert (body["written"], [(e["row"], e["code"], e["field"]) for e in body["errors"]]) == (
        1,
        [(2, "PERSON_INVALID", "fullName")],
    )
    after = await register(client, tokens, tree.cs1)  # the register is not stopped
    assert after["fullName"] == "Nguyễn Thị Ánh"
    names = await owner.fetch("SELECT full_name FROM people WHERE tenant_id = $1", tree.cs1)
    assert sorted(r["full_name"] for r in names) == ["Lê Thị Hà", "Nguyễn Thị Ánh"]


async def test_a_move_scheduled_for_later_keeps_a_sent_proposal_with_its_upper_level(
    client, tokens, tree, registry
):
    an = await register(client, tokens, tree.cs1)
    pid = await draft(client, tokens, tree.cs1)
    await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=an["id"],
        award="lao_dong_tien_tien",
    )
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, tree.cs1, pid, kind, PDF + kind.encode())
    await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)

    await registry.move(None, tree.cs1, tree.upper3, today() + timedelta(days=30))

    for unit in (tree.upper1, tree.prov1):
        seen = await gql(client, tokens, unit, ["officer"], ONE, id=pid)
        assert seen["data"]["proposal"] is not None, unit
    inbox = await gql(client, tokens, tree.upper1, ["officer"], INBOX)
    assert pid in [e["node"]["id"] for e in inbox["data"]["proposalInbox"]["edges"]]
    future = await gql(client, tokens, tree.upper3, ["officer"], ONE, id=pid)
    assert future["data"]["proposal"] is None  # not its upper level yet, nor then for this one


def test_a_logged_query_or_message_carries_no_literal():
    query = (
        'mutation { registerPerson(input: {fullName: "Bí Mật Tên Riêng", birthYear: 1985, '
        'contacts: ["bimat@example.vn", "0988 111 222"]}) { id } }'
    )
    shown = redacted(query)
    for secret in ("Bí Mật", "1985", "bimat", "0988"):
        assert secret not in shown
    assert shown.startswith("mutation { registerPerson(input: {fullName: …")
    message = "Variable '$input' got invalid value {'fullName': 'Bí Mật', 'birthYear': 1985}."
    assert "Bí Mật" not in redacted(message) and "1985" not in redacted(message)


async def test_a_person_registered_again_under_its_idempotency_key_is_the_first(
    client, tokens, tree, owner
):
    person = AN | {"staffNumber": "", "idempotencyKey": f"k-{uuid.uuid4().hex}"}
    first = await gql(client, tokens, tree.cs1, ["officer"], REGISTER, input=person)
    again = await gql(client, tokens, tree.cs1, ["officer"], REGISTER, input=person)
    assert "errors" not in first and "errors" not in again, (first, again)
    assert first["data"]["registerPerson"]["id"] == again["data"]["registerPerson"]["id"]
    stored = await owner.fetchval(
        "SELECT count(*) FROM events WHERE tenant_id = $1 AND event_type = 'PersonRegistered'",
        tree.cs1,
    )
    assert stored == 1


async def test_a_calendar_day_refused_is_not_written(client, tokens, tree, owner):
    mark = (
        """mutation { markCalendarDay(on: "1999-06-07", working: false, reason: "x") { year } }"""
    )
    body = await gql(client, tokens, tree.tld, ["admin"], mark)
    assert code_of(body) == "INVALID_INPUT"
    assert await owner.fetchval("SELECT count(*) FROM calendar_days WHERE day = '1999-06-07'") == 0


async def test_two_national_units_on_one_base_salary_day(client, tokens, tree, elsewhere, awards):
    day = date(2003, 1, 1) + timedelta(days=uuid.uuid4().int % 5800)  # before 2019's value
    query = """mutation($from: Date!) {
      setBaseSalary(amountVnd: 3000000, effectiveFrom: $from, source: "Nghị định") { amountVnd } }"""
    first = await gql(client, tokens, tree.tld, ["admin"], query, **{"from": day.isoformat()})
    assert "errors" not in first
    second = await gql(client, tokens, elsewhere, ["admin"], query, **{"from": day.isoformat()})
    assert code_of(second) == "BASE_SALARY_INVALID"
    # The second national unit's log is not stopped: its next command is applied.
    pid = await awards.register_person(
        officer(elsewhere),
        staff_number="",
        personal=Personal("Hà Văn Tú"),
        particulars=Particulars("male"),
    )
    assert pid is not None


async def test_the_dossiers_bytes_stay_only_with_a_document_that_joined(
    client, tokens, tree, owner
):
    pid = await draft(client, tokens, tree.cs1)
    content = PDF + uuid.uuid4().bytes
    assert (await upload(client, tokens, tree.cs1, pid, "memo", content)).status_code == 200
    twice = await upload(client, tokens, tree.cs1, pid, "council_minutes", content)
    assert (twice.status_code, twice.json()["code"]) == (422, "PROPOSAL_INVALID")
    other = PDF + uuid.uuid4().bytes
    await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)  # refused: incomplete
    zip_not_office = b"PK\x03\x04" + b"\x00" * 100
    refused = await upload(client, tokens, tree.cs1, pid, "other", zip_not_office)
    assert refused.json()["code"] == "FILE_INVALID"
    stored = await owner.fetchval(
        "SELECT count(*) FROM documents WHERE tenant_id = $1 AND content IN ($2, $3)",
        tree.cs1,
        content,
        other,
    )
    assert stored == 1


async def test_a_members_token_reads_no_key(awards, tree, runtime):
    await awards.register_person(
        officer(tree.cs1),
        staff_number="",
        personal=Personal("Vũ Thị Lan"),
        particulars=Particulars("female"),
    )
    async with access.scope(runtime.pool, principal(tree.cs1, "member")) as conn:
        assert await conn.fetchval("SELECT count(*) FROM person_keys") == 0
    async with access.scope(runtime.pool, principal(tree.cs1, "officer")) as conn:
        assert await conn.fetchval("SELECT count(*) FROM person_keys") >= 1


# --- the second review: the chain ---------------------------------------------------------------


async def test_a_decision_names_an_item_once_and_the_unit_goes_on(client, tokens, tree, awards):
    from tests.awards.test_chain import ISSUE, appraise_all, council_passes

    pid = await _sent(client, tokens, tree)
    await appraise_all(client, tokens, tree.upper1, pid)
    session, items = await council_passes(client, tokens, tree.upper1, pid)
    body = await gql(
        client,
        tokens,
        tree.upper1,
        ["approver"],
        ISSUE,
        session=session,
        title="Khen",
        items=[items[0], items[0]],
    )
    assert body.get("data") and body["data"]["issueDecision"]["recipientCount"] == 1, body
    after = await awards.register_person(
        officer(tree.upper1),
        staff_number="",
        personal=Personal("Sau Quyết Định"),
        particulars=Particulars("male"),
    )
    assert after is not None  # the unit's projection is not stopped


async def test_the_same_award_for_the_same_year_is_not_given_twice(client, tokens, tree):
    from tests.awards.test_chain import ISSUE, appraise_all, council_passes

    person = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    codes = []
    for _ in range(2):
        pid = await _sent(client, tokens, tree, person["id"])
        await appraise_all(client, tokens, tree.upper1, pid)
        session, _ = await council_passes(client, tokens, tree.upper1, pid)
        body = await gql(
            client, tokens, tree.upper1, ["approver"], ISSUE, session=session, title="Khen"
        )
        codes.append(code_of(body) or body["data"]["issueDecision"]["code"])
    assert codes[0].startswith("1/") and codes[1] == "COUNCIL_INVALID"


async def _sent(client, tokens, tree, person_id=None):
    if person_id is None:
        person_id = (
            await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
        )["id"]
    pid = await draft(client, tokens, tree.cs1)
    await add(
        client,
        tokens,
        tree.cs1,
        pid,
        subject="PERSON",
        personId=person_id,
        award="lao_dong_tien_tien",
    )
    for kind in ("memo", "achievement_report", "council_minutes"):
        await upload(client, tokens, tree.cs1, pid, kind, PDF + uuid.uuid4().bytes)
    await gql(client, tokens, tree.cs1, ["officer"], SUBMIT, id=pid)
    return pid


async def test_a_member_of_the_receiving_unit_reads_no_incoming_proposal(client, tokens, tree):
    pid = await _sent(client, tokens, tree)
    member = await gql(client, tokens, tree.upper1, ["member"], INBOX)
    assert pid not in [e["node"]["id"] for e in member["data"]["proposalInbox"]["edges"]]
    officer_ = await gql(client, tokens, tree.upper1, ["officer"], INBOX)
    assert pid in [e["node"]["id"] for e in officer_["data"]["proposalInbox"]["edges"]]


async def test_an_import_with_a_nul_or_a_bad_year_is_a_coded_refusal(client, tokens, tree):
    from tests.awards.test_proposal_import import post

    lines = [["Số hiệu", "Đơn vị", "Hình thức khen thưởng"], ["A\x00B", tree.cs1, "bang_khen_tld"]]
    response = await post(client, tokens, tree.upper1, csv_file(lines), "x.csv")
    assert response.status_code == 200, response.text
    assert [(e["row"], e["code"]) for e in response.json()["errors"]] == [(2, "PROPOSAL_INVALID")]
    bad_year = await post(client, tokens, tree.upper1, csv_file(lines), "x.csv", year="abc")
    assert (bad_year.status_code, bad_year.json()["code"]) == (422, "PROPOSAL_INVALID")


async def test_far_dates_are_refused_where_a_person_or_a_salary_cannot_have_them(
    client, tokens, tree, owner
):
    setting = """mutation { setBaseSalary(amountVnd: 3000000, effectiveFrom: "9999-07-01",
      source: "x") { amountVnd } }"""
    assert code_of(await gql(client, tokens, tree.tld, ["admin"], setting)) == "BASE_SALARY_INVALID"
    assert (
        await owner.fetchval(
            "SELECT count(*) FROM base_salaries WHERE effective_from > '3000-01-01'"
        )
        == 0
    )
    person = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    leaving = """mutation($id: ID!) { recordLeaving(id: $id, on: "9999-12-31", reason: "x") { status } }"""
    refused = await gql(client, tokens, tree.cs1, ["officer"], leaving, id=person["id"])
    assert code_of(refused) == "PERSON_INVALID"


async def test_a_recipient_named_twice_in_a_list_of_before_is_registered_and_counted_once(
    client, tokens, tree, runtime, owner
):
    """Given lists of a decision naming a recipient twice, stored before that was refused (here
    appended straight to the log): one names again the item the decision already lists, and
    twice; the next names a new item twice. When the runner projects them, then the register
    holds each item once, the decision counts each once with its cash once, and the unit's
    projection goes on past them."""
    from tests.awards.test_revocation import decided

    an = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    nominee = {"subject": "PERSON", "personId": an["id"], "award": "lao_dong_tien_tien"}
    decision = uuid.UUID((await decided(client, tokens, tree, nominee))["id"])
    stored = await owner.fetch(
        "SELECT stream_version, data->'recipients' AS recipients FROM events "
        "WHERE tenant_id = $1 AND stream_id = $2 ORDER BY stream_version",
        tree.upper1,
        decision,
    )
    listed = orjson.loads(next(r["recipients"] for r in stored if r["recipients"]))
    assert len(listed) == 1
    cash = listed[0]["cash_vnd"]
    assert cash > 0
    fresh = listed[0] | {"item_id": f"{listed[0]['item_id']}-b"}
    version = stored[-1]["stream_version"]
    appended = await runtime.store.append(
        tree.upper1,
        [
            NewEvent(decision, version + 1, "DecisionRecipientsListed", {"recipients": listed * 2}),
            NewEvent(
                decision, version + 2, "DecisionRecipientsListed", {"recipients": [fresh] * 2}
            ),
        ],
    )
    assert await runtime.projections.wait_for(tree.upper1, appended.last_seq, 10)
    items = await owner.fetch(
        "SELECT item_id FROM decision_recipients WHERE decision_id = $1 ORDER BY item_id", decision
    )
    assert [r["item_id"] for r in items] == sorted([listed[0]["item_id"], fresh["item_id"]])
    counted = await owner.fetchrow(
        "SELECT recipient_count, cash_total_vnd FROM decisions WHERE decision_id = $1", decision
    )
    assert (counted["recipient_count"], counted["cash_total_vnd"]) == (2, 2 * cash)
