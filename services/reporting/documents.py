"""The period report (seed 002's template) as DOCX (from the Word template in ``templates/``) and
PDF, and a summary's figures as XLSX. Pure: given what to print, bytes; the caller runs these in
a worker thread. Spreadsheet cells go through shared/spreadsheet.py, so no text a user wrote
(a unit's name, a section) ever starts a formula.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib.resources import as_file, files
from typing import Any

import xlsxwriter
from docxtpl import DocxTemplate

from services.reporting.domain import SECTIONS
from services.reporting.schema import SummaryFigures, UnitSummary
from services.reporting.templates.build_template import (
    COLLECTIVE_COLUMNS,
    COLLECTIVES_SAID,
    FIGURE_ROWS,
    INDIVIDUAL_COLUMNS,
    INDIVIDUALS_SAID,
)
from shared.documents import FONT, MOTTO, NATION, day_words, new_pdf
from shared.spreadsheet import write_row
from shared.text import grouped

TEMPLATE = "bao_cao_tong_ket.docx"
SHARES = (
    ("Tỷ lệ lao động trực tiếp trong cá nhân được khen (%)", "direct_worker_share"),
    ("Tỷ lệ nữ trong cá nhân được khen (%)", "women_share"),
)


@dataclass(frozen=True, slots=True)
class ReportDocument:
    unit_name: str
    upper_name: str  # the level above, printed over the unit's name
    to_name: str  # where it is sent
    number: str  # the number line's text after "Số: " (e.g. 15/BC-LĐLĐ)
    place: str
    on: date
    summary: UnitSummary
    sections: Mapping[str, str]
    as_of: str  # when its figures were read, in words
    # rows of INDIVIDUAL_COLUMNS and COLLECTIVE_COLUMNS, as the reader reads them at the same
    # moment as the figures (none: not readable)
    individuals: Sequence[Sequence[Any]] = ()
    collectives: Sequence[Sequence[Any]] = ()

    @property
    def first_year(self) -> int:
        return self.summary.first_year

    @property
    def last_year(self) -> int:
        return self.summary.last_year

    @property
    def next_period(self) -> str:
        span = self.last_year - self.first_year
        return f"{self.last_year} - {self.last_year + span}"

    @property
    def title(self) -> str:
        return (
            "TỔNG KẾT PHONG TRÀO THI ĐUA YÊU NƯỚC VÀ CÔNG TÁC THI ĐUA, KHEN THƯỞNG GIAI ĐOẠN "
            f"{self.first_year} - {self.last_year} VÀ PHƯƠNG HƯỚNG NHIỆM VỤ CÔNG TÁC THI ĐUA, "
            f"KHEN THƯỞNG GIAI ĐOẠN {self.next_period}"
        )

    @property
    def opening(self) -> str:
        return (
            f"{self.unit_name} báo cáo tổng kết phong trào thi đua yêu nước, công tác thi đua, "
            f"khen thưởng giai đoạn {self.first_year} - {self.last_year} và phương hướng nhiệm "
            f"vụ công tác thi đua, khen thưởng giai đoạn {self.next_period} như sau:"
        )

    @property
    def number_line(self) -> str:
        return self.number or "…/BC-CĐ"


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    if isinstance(value, int):
        return grouped(value)
    return str(value)


def _figures(f: SummaryFigures) -> dict[str, Any]:
    shown = {key: _shown(getattr(f, key)) for _, key in FIGURE_ROWS}
    shown |= {key: _shown(getattr(f, key)) for _, key in SHARES}
    shown["year"] = "" if f.year is None else str(f.year)
    shown["by_award"] = [
        {
            "award_name": a.award_name,
            "persons": _shown(a.persons),
            "collectives": _shown(a.collectives),
            "cash_vnd": _shown(int(a.cash_vnd)),
        }
        for a in f.by_award
    ]
    return shown


def _context(doc: ReportDocument) -> dict[str, Any]:
    return {
        "upper_name": doc.upper_name.upper(),
        "unit_name": doc.unit_name.upper(),
        "number": doc.number_line,
        "place": doc.place or "…",
        "day": f"{doc.on.day:02d}",
        "month": f"{doc.on.month:02d}",
        "year": str(doc.on.year),
        "title": doc.title,
        "first_year": doc.first_year,
        "last_year": doc.last_year,
        "opening": doc.opening,
        "as_of": doc.as_of,
        "years": [_figures(y) for y in doc.summary.years],
        "individuals": [[_shown(v) for v in row] for row in doc.individuals],
        "collectives": [[_shown(v) for v in row] for row in doc.collectives],
        "total": _figures(doc.summary.total),
        "sections": {code: doc.sections.get(code, "") for code in SECTIONS},
        "headings": dict(SECTIONS),
        "next_period": doc.next_period,
        "to_name": doc.to_name,
    }


def report_docx(doc: ReportDocument) -> bytes:
    """The report from the Word template: its layout, its tags filled."""
    with as_file(files("services.reporting").joinpath("templates", TEMPLATE)) as path:
        template = DocxTemplate(str(path))
        template.render(_context(doc), autoescape=True)
        out = io.BytesIO()
        template.save(out)
    return out.getvalue()


def report_pdf(doc: ReportDocument) -> bytes:
    """The same report as PDF, portrait A4."""
    pdf = new_pdf("P")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    half = width / 2
    y = pdf.get_y()
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(
        half * 0.9,
        5,
        f"{doc.upper_name.upper()}\n{doc.unit_name.upper()}\nSố: {doc.number_line}",
        align="C",
    )
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + half * 0.9, y)
    pdf.set_font(FONT, "B", 10)
    pdf.multi_cell(half * 1.1, 5, f"{NATION}\n{MOTTO}", align="C")
    pdf.set_x(pdf.l_margin + half * 0.9)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(half * 1.1, 5, f"{doc.place or '…'}, {day_words(doc.on)}", align="C")
    pdf.set_y(max(bottom, pdf.get_y()) + 6)
    pdf.set_font(FONT, "B", 14)
    pdf.cell(width, 8, "BÁO CÁO", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(width, 6, doc.title, align="C", new_x="LMARGIN")
    pdf.ln(4)
    _text(pdf, width, doc.opening)
    _heading(pdf, width, "I. CÔNG TÁC TỔ CHỨC VÀ CHỈ ĐẠO TRIỂN KHAI CÁC PHONG TRÀO THI ĐUA")
    _section(pdf, width, f"1. {SECTIONS['I.1']}", doc.sections.get("I.1", ""))
    _section(pdf, width, f"2. {SECTIONS['I.2']}", doc.sections.get("I.2", ""))
    _heading(pdf, width, "II. KẾT QUẢ PHONG TRÀO THI ĐUA YÊU NƯỚC VÀ CÔNG TÁC KHEN THƯỞNG")
    _text(pdf, width, f"Số liệu tổng hợp (theo dữ liệu của hệ thống {doc.as_of}):")
    _figures_table(pdf, doc.summary)
    for n, code in enumerate(("II.1", "II.2", "II.3", "II.4", "II.5"), start=1):
        _section(pdf, width, f"{n}. {SECTIONS[code]}", doc.sections.get(code, ""))
        if code == "II.1":
            _typical(pdf, width, doc)
        if code == "II.3":
            _awards_table(pdf, doc.summary.total)
    _section(
        pdf, width, f"III. PHƯƠNG HƯỚNG NHIỆM VỤ {doc.next_period}", doc.sections.get("III", "")
    )
    _heading(pdf, width, "IV. ĐỀ XUẤT, KIẾN NGHỊ")
    _section(pdf, width, f"1. {SECTIONS['IV.1']}", doc.sections.get("IV.1", ""))
    _section(pdf, width, f"2. {SECTIONS['IV.2']}", doc.sections.get("IV.2", ""))
    pdf.ln(6)
    y = pdf.get_y()
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(half, 5, f"Nơi nhận:\n- {doc.to_name};\n- Lưu.")
    pdf.set_xy(pdf.l_margin + half, y)
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(half, 6, "TM. BAN THƯỜNG VỤ\nCHỦ TỊCH", align="C")
    pdf.set_x(pdf.l_margin + half)
    pdf.set_font(FONT, "", 10)
    pdf.multi_cell(half, 5, "(Ký, ghi rõ họ tên và đóng dấu)", align="C")
    return bytes(pdf.output())


def _heading(pdf: Any, width: float, text: str) -> None:
    pdf.ln(2)
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(width, 6, text, new_x="LMARGIN")


def _text(pdf: Any, width: float, text: str) -> None:
    pdf.set_font(FONT, "", 11)
    # fpdf2 leaves x at a multi_cell's right edge: the next paragraph began off the page
    pdf.multi_cell(width, 6, text or "…", new_x="LMARGIN")


def _section(pdf: Any, width: float, heading: str, text: str) -> None:
    _heading(pdf, width, heading)
    _text(pdf, width, text)


def _figures_table(pdf: Any, summary: UnitSummary) -> None:
    columns = [y for y in summary.years]
    total = len(columns) > 1
    header = ["Chỉ tiêu", *(str(y.year) for y in columns), *(["Cả giai đoạn"] if total else [])]
    rows = [
        [label, *(_shown(getattr(f, key)) for f in columns)]
        + ([_shown(getattr(summary.total, key))] if total else [])
        for label, key in (*FIGURE_ROWS, *SHARES)
    ]
    # a five-year table's columns hold a billion's digits unbroken (at 7 points, beside a label
    # twice as wide)
    _table(pdf, header, rows, first_width=2)


def _typical(pdf: Any, width: float, doc: ReportDocument) -> None:
    for said, header, rows in (
        (INDIVIDUALS_SAID, INDIVIDUAL_COLUMNS, doc.individuals),
        (COLLECTIVES_SAID, COLLECTIVE_COLUMNS, doc.collectives),
    ):
        if rows:
            _text(pdf, width, said)
            _table(pdf, header, [[_shown(v) for v in row] for row in rows], first_width=1)


def _awards_table(pdf: Any, figures: SummaryFigures) -> None:
    header = ["Danh hiệu, hình thức", "Cá nhân", "Tập thể", "Tiền thưởng (đồng)"]
    rows = [
        [a.award_name, _shown(a.persons), _shown(a.collectives), _shown(int(a.cash_vnd))]
        for a in figures.by_award
    ] or [["(chưa có)", "", "", ""]]
    _table(pdf, header, rows, first_width=3)


def _table(
    pdf: Any, header: Sequence[str], rows: Sequence[Sequence[str]], first_width: int
) -> None:
    pdf.set_font(FONT, "", 8 if len(header) <= 5 else 7)
    widths = (first_width, *([1] * (len(header) - 1)))
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=5) as table:
        for cells in (header, *rows):
            row = table.row()
            for cell in cells:
                row.cell(cell)
    pdf.ln(2)


def summary_xlsx(summary: UnitSummary, unit_name: str) -> bytes:
    """A summary's figures: a column a year (and the period's), and its awards by form."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Tổng hợp")
    total = len(summary.years) > 1
    write_row(sheet, 0, [f"Tổng hợp thi đua, khen thưởng: {unit_name}"])
    write_row(
        sheet,
        2,
        ["Chỉ tiêu", *(y.year for y in summary.years), *(["Cả giai đoạn"] if total else [])],
    )
    for i, (label, key) in enumerate((*FIGURE_ROWS, *SHARES), start=3):
        values = [getattr(y, key) for y in summary.years]
        write_row(sheet, i, [label, *values, *([getattr(summary.total, key)] if total else [])])
    sheet.set_column(0, 0, 48)
    awards = book.add_worksheet("Khen thưởng")
    write_row(awards, 0, ["Danh hiệu, hình thức", "Mã", "Cá nhân", "Tập thể", "Tiền thưởng (đồng)"])
    for i, a in enumerate(summary.total.by_award, start=1):
        write_row(awards, i, [a.award_name, a.award, a.persons, a.collectives, int(a.cash_vnd)])
    awards.set_column(0, 0, 40)
    book.close()
    return out.getvalue()


def tables_xlsx(
    title: str, header: Sequence[str], sheets: Sequence[tuple[str, Sequence[Sequence[Any]]]]
) -> bytes:
    """A reporting table (services/reporting/tables.py): a sheet for each year or period, its
    title, its header and its rows."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    for name, rows in sheets:
        sheet = book.add_worksheet(name)
        write_row(sheet, 0, [f"{title} ({name})"])
        write_row(sheet, 2, header)
        for i, row in enumerate(rows, start=3):
            write_row(sheet, i, row)
        sheet.set_column(0, len(header) - 1, 16)
        sheet.set_column(1, 1, 36)
    book.close()
    return out.getvalue()
