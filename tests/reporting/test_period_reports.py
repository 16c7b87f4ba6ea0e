"""The period report (seed 002's 5-year report) as its users meet it: the province asks the units
below for theirs by 15/4; a unit drafts its report, writes its sections (every version kept),
reads its figures, and sends it; the province sees who sent on time, late or not yet, reads what
was sent with the figures as the log held them then; documents as DOCX, PDF and XLSX."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import date, timedelta
from urllib.parse import unquote

import pypdfium2
from python_calamine import CalamineWorkbook

from shared.text import ascii_folded
from tests.reporting.conftest import gql, pledge

PERIOD = {"first": 2020, "last": 2025}
REQUEST = """mutation ($first: Int!, $last: Int!, $due: Date!) {
  requestPeriodReports(firstYear: $first, lastYear: $last, dueOn: $due, note: "Gửi trước hạn") {
    dueOn } }"""
DRAFT = """mutation ($first: Int!, $last: Int!) {
  draftPeriodReport(firstYear: $first, lastYear: $last, number: "15/BC-CĐĐL", place: "Ninh Bình") {
    id version submittedVersion } }"""
WRITE = """mutation ($id: ID!, $s: String!, $t: String!) {
  writeReportSection(reportId: $id, section: $s, text: $t) { version } }"""
SUBMIT = """mutation ($id: ID!) { submitPeriodReport(reportId: $id) {
  submittedVersion submittedOn dueOn late toUnit } }"""
BELOW = """query ($first: Int!, $last: Int!) { reportsBelow(firstYear: $first, lastYear: $last) {
  unitId status report { id submittedVersion } } }"""
READ = """query ($id: ID!) { periodReport(id: $id) {
  unitId version submittedVersion number place
  sections { code heading text version }
  history(section: "I.1") { version text }
  figures { total { pledges } }
  now: figures(asSent: false) { total { pledges } } } }"""


async def run(client, tokens, unit, query, roles=("officer",), **variables):
    body = await gql(client, tokens, unit, list(roles), query, **variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def code_of(body) -> str:
    return body["errors"][0]["extensions"]["code"]


async def test_a_unit_writes_and_sends_its_report_and_the_province_reads_what_was_sent(
    runtime, tree, client, tokens
):
    due = date.today() + timedelta(days=30)
    await run(client, tokens, tree.prov1, REQUEST, due=due.isoformat(), **PERIOD)
    await pledge(runtime, tree.upper1, date(2021, 3, 1))
    report = await run(client, tokens, tree.upper1, DRAFT, **PERIOD)
    rid = report["id"]
    assert (report["version"], report["submittedVersion"]) == (0, None)
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="I.1", t="Được sự quan tâm")
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="I.1", t="Được sự quan tâm của Tỉnh")
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="III", t="Tiếp tục đổi mới")

    below = await run(client, tokens, tree.prov1, BELOW, **PERIOD)
    assert {b["unitId"]: b["status"] for b in below} == {
        tree.upper1: "NOT_YET",  # a draft is the unit's own
        tree.upper2: "NOT_YET",
    }
    assert await run(client, tokens, tree.prov1, READ, id=rid) is None

    sent = await run(client, tokens, tree.upper1, SUBMIT, id=rid)
    assert sent["submittedVersion"] == 3 and sent["toUnit"] == tree.prov1
    assert (sent["dueOn"], sent["late"]) == (due.isoformat(), False)
    # written after it was sent: the province still reads what was sent
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="I.1", t="Bản sửa chưa gửi")
    heading = """mutation ($id: ID!) { setReportHeading(reportId: $id, number: "99/BC", place: "X") {
      number } }"""
    await run(client, tokens, tree.upper1, heading, id=rid)
    await pledge(runtime, tree.upper1, date(2022, 3, 1))

    below = {b["unitId"]: b for b in await run(client, tokens, tree.prov1, BELOW, **PERIOD)}
    assert below[tree.upper1]["status"] == "SENT_ON_TIME"
    assert below[tree.upper2]["status"] == "NOT_YET"
    seen = await run(client, tokens, tree.prov1, READ, id=rid)
    assert (seen["number"], seen["place"], seen["version"]) == ("15/BC-CĐĐL", "Ninh Bình", 3)
    first = next(s for s in seen["sections"] if s["code"] == "I.1")
    assert (first["text"], first["version"]) == ("Được sự quan tâm của Tỉnh", 2)
    # only what was sent: not the first draft overwritten before, nor the 4th written after
    assert [h["version"] for h in seen["history"]] == [2]
    assert seen["figures"]["total"]["pledges"] == 1  # as the log held it when sent
    assert seen["now"]["total"]["pledges"] == 2
    mine = await run(client, tokens, tree.upper1, READ, id=rid)
    assert next(s for s in mine["sections"] if s["code"] == "I.1")["text"] == "Bản sửa chưa gửi"
    assert [h["version"] for h in mine["history"]] == [1, 2, 4]
    # a sibling does not see it
    assert await run(client, tokens, tree.upper2, READ, id=rid) is None
    # the province's deadlines: upper1 sent on time, upper2's is not yet due
    kinds = await run(
        client,
        tokens,
        tree.prov1,
        "query ($y: Int!) { compliance(year: $y) { kind onTime late missing pending } }",
        y=due.year,
    )
    assert next(k for k in kinds if k["kind"] == "period_reports") == {
        "kind": "period_reports",
        "onTime": 1,
        "late": 0,
        "missing": 0,
        "pending": 1,
    }


async def test_a_report_sent_after_the_day_asked_is_late_and_bad_input_changes_nothing(
    runtime, tree, client, tokens, owner
):
    await run(client, tokens, tree.prov1, REQUEST, due="2021-04-15", **PERIOD)
    rid = (await run(client, tokens, tree.upper2, DRAFT, **PERIOD))["id"]
    empty = await gql(client, tokens, tree.upper2, ["officer"], SUBMIT, id=rid)
    assert code_of(empty) == "REPORT_INVALID"  # nothing written yet
    before = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.upper2)
    for variables, code in (
        (dict(id=rid, s="V.9", t="x"), "REPORT_INVALID"),
        (dict(id=str(uuid.uuid4()), s="I.1", t="x"), "NOT_FOUND"),
        (dict(id=rid, s="I.1", t="x" * 20_001), "TEXT_TOO_LONG"),
    ):
        body = await gql(client, tokens, tree.upper2, ["officer"], WRITE, **variables)
        assert code_of(body) == code, body
    other = await gql(client, tokens, tree.upper1, ["officer"], WRITE, id=rid, s="I.1", t="x")
    assert code_of(other) == "NOT_FOUND"  # another unit's report
    after = await owner.fetchval("SELECT count(*) FROM events WHERE tenant_id = $1", tree.upper2)
    assert after == before
    await run(client, tokens, tree.upper2, WRITE, id=rid, s="II.5", t="Còn hạn chế")
    sent = await run(client, tokens, tree.upper2, SUBMIT, id=rid)
    assert sent["late"] is True
    again = await gql(client, tokens, tree.upper2, ["officer"], SUBMIT, id=rid)
    assert code_of(again) == "REPORT_UNCHANGED"
    below = {b["unitId"]: b for b in await run(client, tokens, tree.prov1, BELOW, **PERIOD)}
    assert below[tree.upper2]["status"] == "SENT_LATE"


async def test_the_report_as_docx_pdf_and_the_summary_as_xlsx(runtime, tree, client, tokens):
    from services.campaign.commands import commands_of as campaign_commands_of
    from tests.campaign.conftest import Clock
    from tests.registry.conftest import principal

    await pledge(runtime, tree.upper1, date(2021, 3, 1))
    campaigns = campaign_commands_of(runtime, Clock(date(2024, 5, 2)))
    officer = principal(tree.cs1, "officer")
    made = await campaigns.register_initiative(officer, title="Máy cắt", authors=["Trần Văn Minh"])
    await campaigns.recognise_initiative(
        officer, made, benefit_vnd=90_000_000, applied_at=["Phân xưởng 1"]
    )
    rid = (await run(client, tokens, tree.upper1, DRAFT, **PERIOD))["id"]
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="I.1", t="Thuận lợi:\nđoàn kết")
    await run(
        client, tokens, tree.upper1, WRITE, id=rid, s="II.1", t="=SUM(A1:A9) không là công thức"
    )
    headers = {"Authorization": f"Bearer {token(tokens, tree.upper1)}"}

    docx = await client.get(f"/reports/{rid}/docx", headers=headers)
    assert docx.status_code == 200, docx.text
    xml = zipfile.ZipFile(io.BytesIO(docx.content)).read("word/document.xml").decode()
    for text in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Số: 15/BC-CĐĐL",
        "TM. BAN THƯỜNG VỤ",
        "CHỦ TỊCH",
        "Thuận lợi:",
        "GIAI ĐOẠN 2020 - 2025",
        "Ninh Bình, ngày",
        "LIÊN ĐOÀN LAO ĐỘNG TỈNH NINH BÌNH",  # the level above, out of the unit's reach
        "Liên đoàn Lao động tỉnh Ninh Bình;",  # where it is sent
        "Cá nhân tiêu biểu",  # II.1's typical individuals and collectives, as GraphQL's
        "Trần Văn Minh",
        "Máy cắt",
        "90.000.000",
        "Tập thể tiêu biểu",
        "Công đoàn cơ sở Điện lực Hoa Lư",
    ):
        assert text in xml, text
    assert tree.prov1 not in xml
    assert "{{" not in xml and "{%" not in xml

    pdf = await client.get(f"/reports/{rid}/pdf", headers=headers)
    assert pdf.status_code == 200
    page = pypdfium2.PdfDocument(pdf.content)[0]
    text = page.get_textpage().get_text_range()
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "BÁO CÁO" in text
    image = page.render(scale=1).to_pil().convert("L")
    top = image.crop((0, 0, image.width, image.height // 5))
    assert sum(1 for p in top.getdata() if p < 128) > 500  # the heading is drawn
    # every character inside the page, the written sections too
    document = pypdfium2.PdfDocument(pdf.content)
    for page in document:
        chars = page.get_textpage()
        for i in range(chars.count_chars()):
            left, _, right, _ = chars.get_charbox(i)
            assert 0 <= left and right <= page.get_width(), (i, left, right)
    body = "".join(p.get_textpage().get_text_range() for p in document)
    assert "đoàn kết" in body and "không là công thức" in body
    assert "LIÊN ĐOÀN LAO ĐỘNG TỈNH NINH BÌNH" in body and tree.prov1 not in body
    words = " ".join(body.split())  # a table's cell breaks its text into lines
    assert "Trần Văn Minh" in words and "Công đoàn cơ sở Điện lực Hoa Lư" in words

    xlsx = await client.get(
        f"/summaries/{tree.upper1}/2020/2025/xlsx",  # its own pledge of 2021, read from above
        headers={"Authorization": f"Bearer {token(tokens, tree.prov1)}"},
    )
    assert xlsx.status_code == 200
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content)).get_sheet_by_index(0).to_python()
    )
    pledges = next(r for r in rows if r and r[0] == "Đăng ký, giao ước thi đua")
    assert pledges[1:] == [0, 1, 0, 0, 0, 0, 1]  # 2020–2025, then the period
    # each saved (the PDF shown) under a name of its own, in Vietnamese
    for response, shown, name in (
        (docx, "attachment", "Báo cáo 2020-2025 Công đoàn Điện lực Ninh Bình.docx"),
        (pdf, "inline", "Báo cáo 2020-2025 Công đoàn Điện lực Ninh Bình.pdf"),
        (xlsx, "attachment", "Tổng hợp 2020-2025 Công đoàn Điện lực Ninh Bình.xlsx"),
    ):
        disposition = response.headers["content-disposition"]
        assert disposition.startswith(f'{shown}; filename="{ascii_folded(name)}"; ')
        assert unquote(disposition.split("filename*=UTF-8''")[1]) == name

    for path, reader in (
        (f"/reports/{rid}/pdf", tree.upper2),
        (f"/summaries/{tree.prov1}/2020/2025/xlsx", tree.upper1),
        (f"/reports/{uuid.uuid4()}/docx", tree.upper1),
    ):
        refused = await client.get(
            path, headers={"Authorization": f"Bearer {token(tokens, reader)}"}
        )
        assert refused.status_code == 404, path


async def test_a_unit_reads_the_names_of_the_units_above_it_and_no_others(runtime, tree):
    from shared import access
    from tests.registry.conftest import principal

    asked = [tree.tld, tree.prov1, tree.prov2, tree.upper2, tree.cs1]
    async with access.scope(runtime.pool, principal(tree.upper1, "member")) as conn:
        names = dict(await conn.fetch("SELECT * FROM thidua_names_above($1::text[])", asked))
        assert (
            await conn.fetchval("SELECT count(*) FROM units WHERE tenant_id = $1", tree.prov1) == 0
        )
    assert names == {
        tree.tld: "Tổng Liên đoàn Lao động Việt Nam",
        tree.prov1: "Liên đoàn Lao động tỉnh Ninh Bình",
    }  # not another province, a sibling, or a unit below (read by its own reach, if at all)


async def test_a_download_without_a_good_token_is_refused_in_the_rest_shape(client, tree):
    path = f"/summaries/{tree.prov1}/2020/2025/xlsx"
    for headers, code in (
        ({}, "UNAUTHENTICATED"),
        ({"Authorization": "Bearer garbage"}, "TOKEN_MALFORMED"),
    ):
        refused = await client.get(path, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.headers["www-authenticate"] == "Bearer"
        body = refused.json()
        assert body["code"] == code and body["message"] and "errors" not in body, body


def token(tokens, unit: str) -> str:
    return tokens.issue(tenant=unit, roles=["officer"], subject="s", ttl=timedelta(minutes=5))


async def test_after_the_sender_moves_its_report_still_reads_as_sent_where_it_was_sent(
    runtime, registry, tree, client, tokens
):
    await run(
        client,
        tokens,
        tree.prov1,
        REQUEST,
        due=(date.today() + timedelta(days=9)).isoformat(),
        **PERIOD,
    )
    await pledge(runtime, tree.upper1, date(2021, 3, 1))
    rid = (await run(client, tokens, tree.upper1, DRAFT, **PERIOD))["id"]
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="I.1", t="Thuận lợi")
    await run(client, tokens, tree.upper1, SUBMIT, id=rid)
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="I.1", t="Đính chính")
    corrected = await run(client, tokens, tree.upper1, SUBMIT, id=rid)
    assert corrected["submittedVersion"] == 2
    below = {b["unitId"]: b for b in await run(client, tokens, tree.prov1, BELOW, **PERIOD)}
    assert below[tree.upper1]["status"] == "SENT_ON_TIME"

    await registry.move(None, tree.upper1, tree.prov2, date(2024, 6, 1))
    seen = await run(client, tokens, tree.prov1, READ, id=rid)  # sent to prov1: still read there
    assert seen["figures"]["total"]["pledges"] == 1
    headers = {"Authorization": f"Bearer {token(tokens, tree.prov1)}"}
    docx = await client.get(f"/reports/{rid}/docx", headers=headers)
    assert docx.status_code == 200
    # headed by the level it was sent to, not by upper1's parent now
    xml = zipfile.ZipFile(io.BytesIO(docx.content)).read("word/document.xml").decode()
    assert "LIÊN ĐOÀN LAO ĐỘNG TỈNH NINH BÌNH" in xml and "NAM ĐỊNH" not in xml
    # prov2 is above upper1 now, but nothing was sent to it
    assert tree.upper1 not in {
        b["unitId"] for b in await run(client, tokens, tree.prov2, BELOW, **PERIOD) if b["report"]
    }


async def test_a_report_as_sent_says_what_it_said_whatever_the_tree_becomes(
    runtime, registry, tree, client, tokens
):
    # Given upper3 (prov2's, never below prov1) with a pledge of 2024, and upper1 with one, and
    # upper1's report sent to prov1
    await pledge(runtime, tree.upper3, date(2024, 3, 1))
    await pledge(runtime, tree.upper1, date(2024, 5, 1))
    rid = (await run(client, tokens, tree.upper1, DRAFT, **PERIOD))["id"]
    await run(client, tokens, tree.upper1, WRITE, id=rid, s="I.1", t="Thuận lợi")
    await run(client, tokens, tree.upper1, SUBMIT, id=rid)
    assert (await run(client, tokens, tree.prov1, READ, id=rid))["figures"]["total"] == {
        "pledges": 1
    }
    # When upper1 moves to prov2 and upper3 is merged into it, both dated back into the period
    await registry.move(None, tree.upper1, tree.prov2, date(2024, 6, 1))
    await registry.merge(None, [tree.upper3], tree.upper1, date(2024, 7, 1))
    # Then prov1 reads the report as it was sent: upper3's pledge, never below prov1, not in it
    seen = await run(client, tokens, tree.prov1, READ, id=rid)
    assert seen["figures"]["total"]["pledges"] == 1
    # while upper1 itself now counts what it absorbed
    assert (await run(client, tokens, tree.upper1, READ, id=rid))["now"]["total"]["pledges"] == 2


async def test_a_summary_past_two_billion_and_a_nul_in_a_download_path(
    runtime, tree, client, tokens
):
    from tests.reporting.conftest import given

    for _ in range(2):
        await given(
            runtime,
            tree.cs1,
            "SeminarHeld",
            unit_id=tree.cs1,
            topic="Tọa đàm",
            held_on=date(2024, 5, 1),
            participants=2_000_000_000,
        )
    body = await gql(
        client,
        tokens,
        tree.prov1,
        ["officer"],
        "{ summary(firstYear: 2024) { total { seminars seminarParticipants } } }",
    )
    assert body["data"]["summary"]["total"] == {"seminars": 2, "seminarParticipants": 4_000_000_000}
    headers = {"Authorization": f"Bearer {token(tokens, tree.prov1)}"}
    nul = await client.get(f"/summaries/{tree.upper1}%00/2020/2021/xlsx", headers=headers)
    assert nul.status_code == 404


async def test_a_request_is_read_by_the_units_below_the_requester_only(tree, client, tokens):
    await run(client, tokens, tree.upper1, REQUEST, due="2025-04-15", **PERIOD)
    asked = "query { reportRequest(firstYear: 2020, lastYear: 2025) { unitId dueOn } }"
    assert (await run(client, tokens, tree.cs1, asked)) == {
        "unitId": tree.upper1,
        "dueOn": "2025-04-15",
    }
    # a unit under another parent reads its own parent's request, not this one
    assert await run(client, tokens, tree.upper3, asked) is None
    own = "query { reportRequest(firstYear: 2020, lastYear: 2025, own: true) { unitId } }"
    assert await run(client, tokens, tree.upper2, own) is None


async def test_the_reports_below_count_at_their_most_before_they_run(tree, client, tokens):
    # Each of a province's up to 2,000 reports below may read its sections, their history and
    # its figures as sent and as of today: at its most, refused before anything is read
    heavy = """query ($first: Int!, $last: Int!) { reportsBelow(firstYear: $first, lastYear: $last) {
      unitId status report { id number place version submittedVersion
        sections { code heading text version } history(section: "I.1") { version text }
        figures { total { pledges initiatives cashVnd } years { year pledges } }
        now: figures(asSent: false) { total { pledges initiatives cashVnd } } } } }"""
    body = await gql(client, tokens, tree.prov1, ["officer"], heavy, **PERIOD)
    assert code_of(body) == "QUERY_TOO_COSTLY", body
    assert body.get("data") is None
    # and a year's registrations not yet made, each a read of its deadlines over a subtree
    not_yet = """{ summary(firstYear: 2016, lastYear: 2025) { below { years {
      registrationsNotYet } } } }"""
    body = await gql(client, tokens, tree.prov1, ["officer"], not_yet)
    assert code_of(body) == "QUERY_TOO_COSTLY", body
    # so are the figures alone: each a roll-up of a subtree, as a summary is
    figures = """query ($first: Int!, $last: Int!) { reportsBelow(firstYear: $first,
      lastYear: $last) { unitId report { figures { total { pledges cashVnd } } } } }"""
    body = await gql(client, tokens, tree.prov1, ["officer"], figures, **PERIOD)
    assert code_of(body) == "QUERY_TOO_COSTLY", body
    # and who sent theirs is answered
    below = await run(client, tokens, tree.prov1, BELOW, **PERIOD)
    assert {b["unitId"] for b in below} == {tree.upper1, tree.upper2}


async def test_the_cli_prints_a_units_summary_under_its_name_with_every_digit(
    runtime, tree, settings
):
    import asyncio

    from tests.gateway.test_projections_cli import invoke
    from tests.reporting.conftest import recognised

    await recognised(runtime, tree.upper1, 6_055_000_000, date(2024, 6, 1))
    result = await asyncio.to_thread(
        invoke, settings, "reports", "summary", tree.upper1, "2020", "2025"
    )
    assert result.exit_code == 0, result.output
    assert "Tổng hợp 2020-2025: Công đoàn Điện lực Ninh Bình" in result.output
    assert "6,055,000,000" in result.output  # a file is as wide as the table: not cut short
    unknown = await asyncio.to_thread(invoke, settings, "reports", "summary", "nowhere", "2024")
    assert unknown.exit_code == 2 and "NOT_FOUND" in unknown.output
