"""Writes ``bao_cao_tong_ket.docx``, the Word template of the period report (seed 002's layout:
the two-column heading with the national motto and the number line, the title, sections I–IV,
the figures' tables and the signature block), with the docxtpl tags the report fills in.

The template is shipped as the .docx this writes; a union that wants its own layout edits the
.docx in Word, keeping the tags. Run again after changing this script:
``python -m services.reporting.templates.build_template``.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

HERE = Path(__file__).parent
TEMPLATE = HERE / "bao_cao_tong_ket.docx"

YEAR_COLUMNS = (
    ("Phong trào", "campaigns_launched"),
    ("Giao ước", "pledges"),
    ("Sáng kiến", "initiatives"),
    ("Làm lợi (đồng)", "initiative_benefit_vnd"),
    ("Quyết định", "decisions"),
    ("Cá nhân", "awarded_persons"),
    ("Tập thể", "awarded_collectives"),
    ("Tiền thưởng (đồng)", "cash_vnd"),
)
FIGURE_ROWS = (
    ("Phong trào thi đua đã phát động", "campaigns_launched"),
    ("Trong đó: cụ thể hóa phong trào cấp trên", "campaigns_carried_out"),
    ("Phong trào được sơ kết, tổng kết", "campaigns_reviewed"),
    ("Đăng ký, giao ước thi đua", "pledges"),
    ("Công trình, sản phẩm đăng ký gắn biển", "works"),
    ("Sáng kiến được công nhận", "initiatives"),
    ("Giá trị làm lợi (đồng)", "initiative_benefit_vnd"),
    ("Quyết định khen thưởng", "decisions"),
    ("Cá nhân được khen thưởng", "awarded_persons"),
    ("Trong đó: lao động trực tiếp", "awarded_direct_workers"),
    ("Trong đó: nữ", "awarded_women"),
    ("Tập thể được khen thưởng", "awarded_collectives"),
    ("Tiền thưởng (đồng)", "cash_vnd"),
)

# The template's typical individuals and collectives (II.1: "nêu một số cá nhân, tập thể tiêu
# biểu nhất"), as their tables have them (services/reporting/tables.py).
INDIVIDUAL_COLUMNS = (
    "TT",
    "Họ tên",
    "Chức vụ",
    "Đơn vị",
    "Số sáng kiến",
    "Nội dung sáng kiến",
    "Giá trị làm lợi (đồng)",
    "Nơi áp dụng",
    "Bằng Lao động sáng tạo",
)
COLLECTIVE_COLUMNS = (
    "TT",
    "Đơn vị",
    "Phong trào phát động",
    "Lượt đăng ký, giao ước",
    "Số sáng kiến",
    "Giá trị làm lợi (đồng)",
    "Khen thưởng",
    "Chỉ tiêu",
    "Chỉ tiêu đã đạt",
)
INDIVIDUALS_SAID = "Cá nhân tiêu biểu (tác giả sáng kiến, giá trị làm lợi lớn trước):"
COLLECTIVES_SAID = "Tập thể tiêu biểu (đơn vị trực thuộc, giá trị làm lợi lớn trước):"


def _paragraph(doc, text: str, *, bold=False, italic=False, center=False, size=13):
    p = doc.add_paragraph()
    run = p.add_run(text)
    run.bold, run.italic = bold, italic
    run.font.size = Pt(size)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return p


def _heading_block(doc) -> None:
    table = doc.add_table(rows=1, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.rows[0].cells
    left.text = ""
    for text, bold in (
        ("{{ upper_name }}", False),
        ("{{ unit_name }}", True),
        ("Số: {{ number }}", False),
    ):
        p = left.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold = bold
        run.font.size = Pt(12)
    for text, bold, italic in (
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", True, False),
        ("Độc lập - Tự do - Hạnh phúc", True, False),
        ("{{ place }}, ngày {{ day }} tháng {{ month }} năm {{ year }}", False, True),
    ):
        p = right.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
        run.font.size = Pt(12)


def _figures_table(doc) -> None:
    """The period's figures: a row each, the whole period's value."""
    table = doc.add_table(rows=1 + len(FIGURE_ROWS) + 1, cols=2)
    table.style = "Table Grid"
    table.rows[0].cells[0].text = "Chỉ tiêu"
    table.rows[0].cells[1].text = "{{ first_year }} - {{ last_year }}"
    for i, (label, key) in enumerate(FIGURE_ROWS, start=1):
        table.rows[i].cells[0].text = label
        table.rows[i].cells[1].text = f"{{{{ total.{key} }}}}"
    last = table.rows[len(FIGURE_ROWS) + 1].cells
    last[0].text = "Tỷ lệ lao động trực tiếp / nữ trong cá nhân được khen (%)"
    last[1].text = "{{ total.direct_worker_share }} / {{ total.women_share }}"


def _looped(doc, labels: tuple[str, ...], loop: str, cells: tuple[str, ...]) -> None:
    """A table whose row repeats over ``loop``: docxtpl replaces a row holding a {%tr %} tag by
    the tag, so the loop's own rows enclose the repeated one."""
    table = doc.add_table(rows=4, cols=len(labels))
    table.style = "Table Grid"
    for cell, label in zip(table.rows[0].cells, labels, strict=True):
        cell.text = label
    table.rows[1].cells[0].text = f"{{%tr for {loop} %}}"
    for cell, text in zip(table.rows[2].cells, cells, strict=True):
        cell.text = text
    table.rows[3].cells[0].text = "{%tr endfor %}"


def _years_table(doc) -> None:
    """The same, year by year: a row a year."""
    labels = ("Năm", *(label for label, _ in YEAR_COLUMNS))
    cells = ("{{ y.year }}", *(f"{{{{ y.{key} }}}}" for _, key in YEAR_COLUMNS))
    _looped(doc, labels, "y in years", cells)


def _awards_table(doc) -> None:
    labels = ("Danh hiệu, hình thức", "Cá nhân", "Tập thể", "Tiền thưởng (đồng)")
    cells = ("{{ a.award_name }}", "{{ a.persons }}", "{{ a.collectives }}", "{{ a.cash_vnd }}")
    _looped(doc, labels, "a in total.by_award", cells)


def _section(doc, heading: str, code: str) -> None:
    _paragraph(doc, heading, bold=True)
    _paragraph(doc, f"{{{{ sections['{code}'] }}}}")


def build() -> Path:
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(13)
    _heading_block(doc)
    _paragraph(doc, "BÁO CÁO", bold=True, center=True, size=14)
    _paragraph(doc, "{{ title }}", bold=True, center=True)
    _paragraph(doc, "{{ opening }}")
    _paragraph(doc, "I. CÔNG TÁC TỔ CHỨC VÀ CHỈ ĐẠO TRIỂN KHAI CÁC PHONG TRÀO THI ĐUA", bold=True)
    _section(doc, "1. Thuận lợi", "I.1")
    _section(doc, "2. Khó khăn", "I.2")
    _paragraph(doc, "II. KẾT QUẢ PHONG TRÀO THI ĐUA YÊU NƯỚC VÀ CÔNG TÁC KHEN THƯỞNG", bold=True)
    _paragraph(doc, "Số liệu tổng hợp (theo dữ liệu của hệ thống {{ as_of }}):", italic=True)
    _figures_table(doc)
    _paragraph(doc, "Theo từng năm:", italic=True)
    _years_table(doc)
    _section(doc, "1. {{ headings['II.1'] }}", "II.1")
    for said, columns, rows in (
        (INDIVIDUALS_SAID, INDIVIDUAL_COLUMNS, "individuals"),
        (COLLECTIVES_SAID, COLLECTIVE_COLUMNS, "collectives"),
    ):
        _paragraph(doc, f"{{%p if {rows} %}}")
        _paragraph(doc, said, italic=True)
        cells = tuple(f"{{{{ r[{i}] }}}}" for i in range(len(columns)))
        _looped(doc, columns, f"r in {rows}", cells)
        _paragraph(doc, "{%p endif %}")
    _section(doc, "2. {{ headings['II.2'] }}", "II.2")
    _section(doc, "3. {{ headings['II.3'] }}", "II.3")
    _paragraph(doc, "Kết quả khen thưởng theo danh hiệu, hình thức:", italic=True)
    _awards_table(doc)
    _section(doc, "4. {{ headings['II.4'] }}", "II.4")
    _section(doc, "5. {{ headings['II.5'] }}", "II.5")
    _section(doc, "III. PHƯƠNG HƯỚNG NHIỆM VỤ {{ next_period }}", "III")
    _paragraph(doc, "IV. ĐỀ XUẤT, KIẾN NGHỊ", bold=True)
    _section(doc, "1. Đối với Tổng Liên đoàn", "IV.1")
    _section(doc, "2. {{ headings['IV.2'] }}", "IV.2")
    signature = doc.add_table(rows=1, cols=2)
    left, right = signature.rows[0].cells
    left.text = "Nơi nhận:\n- {{ to_name }};\n- Lưu."
    right.text = ""
    for text, bold, italic in (
        ("TM. BAN THƯỜNG VỤ", True, False),
        ("CHỦ TỊCH", True, False),
        ("(Ký, ghi rõ họ tên và đóng dấu)", False, True),
    ):
        p = right.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(text)
        run.bold, run.italic = bold, italic
    doc.save(TEMPLATE)
    return TEMPLATE


if __name__ == "__main__":
    print(build())
