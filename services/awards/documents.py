"""Documents of an award (issue 14, point 15): a recipient's certificate (Giấy khen, Bằng khen, a
title's certificate) as PDF, and the decision with its list of recipients as PDF and XLSX, in
Vietnamese. Pure: given what to print, bytes.

The font is DejaVu Serif, shipped in ``shared/fonts`` (its licence beside it): it covers
every Vietnamese letter with its diacritics, and ``pip install`` alone brings it. PDFs are made
with fpdf2, the workbook with xlsxwriter; the caller runs these in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import xlsxwriter
from fpdf import FPDF

from shared.documents import CONFEDERATION, MOTTO, NATION, day_words, money, new_pdf
from shared.spreadsheet import write_row


@dataclass(frozen=True, slots=True)
class Line:
    """A recipient as the documents print them."""

    name: str  # the person's full name (or "(đã xóa)"), or the collective's name
    award_name: str
    kind: str
    cash_vnd: int
    summary: str = ""


@dataclass(frozen=True, slots=True)
class DecisionDocument:
    unit_name: str  # the deciding unit
    code: str
    title: str
    decided_on: date
    signer: str
    lines: tuple[Line, ...]


def _pdf(orientation: str) -> FPDF:
    return new_pdf(orientation)


def _header(pdf: FPDF, unit_name: str, width: float) -> None:
    half = width / 2
    pdf.set_font("DejaVuSerif", "", 10)
    y = pdf.get_y()
    pdf.multi_cell(half, 5, f"{CONFEDERATION}\n{unit_name.upper()}", align="C")
    pdf.set_xy(pdf.l_margin + half, y)
    pdf.set_font("DejaVuSerif", "B", 10)
    pdf.multi_cell(half, 5, f"{NATION}\n{MOTTO}", align="C")
    pdf.ln(6)


def certificate_pdf(decision: DecisionDocument, line: Line) -> bytes:
    """One recipient's certificate, landscape, framed."""
    pdf = _pdf("L")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, pdf.w - 16, pdf.h - 16)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, pdf.w - 22, pdf.h - 22)
    pdf.set_y(18)
    _header(pdf, decision.unit_name, width)
    pdf.ln(16)  # the award's name in the page's middle third
    pdf.set_font("DejaVuSerif", "B", 30)
    pdf.cell(width, 16, line.award_name.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("DejaVuSerif", "", 14)
    pdf.cell(width, 8, "Tặng", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVuSerif", "B", 22)
    pdf.cell(width, 14, line.name, align="C", new_x="LMARGIN", new_y="NEXT")
    if line.summary:
        pdf.set_font("DejaVuSerif", "", 12)
        pdf.multi_cell(width, 7, f"Đã có thành tích: {line.summary}", align="C")
    pdf.ln(6)
    pdf.set_font("DejaVuSerif", "", 11)
    pdf.cell(
        width,
        6,
        f"Quyết định số {decision.code}, {day_words(decision.decided_on)}",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(12)
    pdf.set_x(pdf.l_margin + width / 2)
    pdf.set_font("DejaVuSerif", "B", 12)
    pdf.multi_cell(
        width / 2, 7, f"TM. {decision.unit_name.upper()}\n\n\n{decision.signer}", align="C"
    )
    return bytes(pdf.output())


def decision_pdf(decision: DecisionDocument) -> bytes:
    """The decision with its list of recipients, portrait."""
    pdf = _pdf("P")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    _header(pdf, decision.unit_name, width)
    pdf.set_font("DejaVuSerif", "", 11)
    pdf.cell(width / 2, 6, f"Số: {decision.code}", align="C")
    pdf.cell(width / 2, 6, f"Hà Nội, {day_words(decision.decided_on)}", align="C")
    pdf.ln(12)
    pdf.set_font("DejaVuSerif", "B", 14)
    pdf.cell(width, 8, "QUYẾT ĐỊNH", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVuSerif", "B", 12)
    pdf.multi_cell(width, 7, decision.title, align="C")
    pdf.ln(4)
    pdf.set_font("DejaVuSerif", "", 11)
    pdf.multi_cell(
        width, 6, f"Điều 1. Khen thưởng {len(decision.lines)} cá nhân, tập thể có tên sau:"
    )
    pdf.ln(2)
    columns = (12.0, 62.0, 62.0, width - 136.0)
    pdf.set_font("DejaVuSerif", "B", 10)
    for text, w in zip(
        ("STT", "Họ tên, tập thể", "Danh hiệu, hình thức", "Tiền thưởng"), columns, strict=True
    ):
        pdf.cell(w, 7, text, border=1, align="C")
    pdf.ln()
    pdf.set_font("DejaVuSerif", "", 10)
    for n, line in enumerate(decision.lines, start=1):
        cells = (str(n), line.name, line.award_name, money(line.cash_vnd))
        for text, w in zip(cells, columns, strict=True):
            pdf.cell(w, 7, _fit(pdf, text, w), border=1)
        pdf.ln()
    total = sum(line.cash_vnd for line in decision.lines)
    pdf.ln(2)
    pdf.multi_cell(width, 6, f"Điều 2. Tổng tiền thưởng: {money(total)}.")
    pdf.ln(8)
    pdf.set_x(pdf.l_margin + width / 2)
    pdf.set_font("DejaVuSerif", "B", 11)
    pdf.multi_cell(
        width / 2, 6, f"TM. {decision.unit_name.upper()}\n\n\n{decision.signer}", align="C"
    )
    return bytes(pdf.output())


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """The text cut to its cell (an ellipsis says so)."""
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "…") > width - 2:
        text = text[:-1]
    return text + "…"


def decision_xlsx(decision: DecisionDocument) -> bytes:
    """The decision's recipients as a workbook, one row each."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Danh sách khen thưởng")
    bold = book.add_format({"bold": True})
    money_format = book.add_format({"num_format": "#,##0"})
    # Every cell through shared/spreadsheet.py: a name or a title typed as "=HYPERLINK(…)" is
    # written as the text it is, never a formula.
    write_row(sheet, 0, [f"Quyết định số {decision.code}, {day_words(decision.decided_on)}"])
    sheet.set_row(0, None, bold)
    write_row(sheet, 1, [decision.title])
    headers = ["STT", "Họ tên, tập thể", "Danh hiệu, hình thức", "Loại khen", "Tiền thưởng (đồng)"]
    write_row(sheet, 3, headers)
    sheet.set_row(3, None, bold)
    for n, line in enumerate(decision.lines, start=1):
        write_row(sheet, 3 + n, [n, line.name, line.award_name, line.kind])
        sheet.write_number(3 + n, 4, line.cash_vnd, money_format)
    sheet.set_column(1, 2, 40)
    sheet.set_column(4, 4, 18)
    book.close()
    return out.getvalue()
