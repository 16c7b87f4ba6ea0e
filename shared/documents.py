"""What every printed document shares: the national heading's words, a day and an amount in
words as official papers write them, and an A4 PDF with a font that covers every Vietnamese
letter (DejaVu Serif, shipped in ``shared/fonts`` with its licence: ``pip install`` alone
brings it; fpdf2 is pure Python)."""

from __future__ import annotations

from datetime import date
from importlib.resources import as_file, files

from fpdf import FPDF

from shared.text import grouped

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
CONFEDERATION = "TỔNG LIÊN ĐOÀN LAO ĐỘNG VIỆT NAM"
FONT = "DejaVuSerif"


def day_words(on: date) -> str:
    return f"ngày {on.day:02d} tháng {on.month:02d} năm {on.year}"


def money(vnd: int) -> str:
    return f"{grouped(vnd)} đồng"


def new_pdf(orientation: str = "P") -> FPDF:
    """An A4 document with its first page, the font registered (regular and bold)."""
    pdf = FPDF(orientation=orientation, unit="mm", format="A4")
    folder = files("shared").joinpath("fonts")
    for style, name in (("", "DejaVuSerif.ttf"), ("B", "DejaVuSerif-Bold.ttf")):
        with as_file(folder.joinpath(name)) as path:
            pdf.add_font(FONT, style, str(path))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf


def download_headers(filename: str) -> dict[str, str]:
    """A document's download headers: an ASCII file name (a number's slash made a dash); the
    browser shows it or offers to save it."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in ".-") else "-" for c in filename)
    return {"Content-Disposition": f'inline; filename="{safe}"'}
