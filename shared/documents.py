"""What every printed document shares: the national heading's words, a day and an amount in
words as official papers write them, and an A4 PDF with a font that covers every Vietnamese
letter (DejaVu Serif, shipped in ``shared/fonts`` with its licence: ``pip install`` alone
brings it; fpdf2 is pure Python)."""

from __future__ import annotations

import unicodedata
from datetime import date
from importlib.resources import as_file, files
from urllib.parse import quote

from fpdf import FPDF

from shared.text import ascii_folded, grouped

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


DOWNLOAD_NAME_CHARS = 120  # of a file name before its extension


def download_headers(filename: str) -> dict[str, str]:
    """A document's download headers: its name in UTF-8 (RFC 6266's ``filename*``: Vietnamese
    kept, NFC) and, for a client that reads only ``filename``, the same without diacritics; a
    slash (a number's, "1/QĐ-KT"), a quote or a control character made a dash. A PDF is shown
    in the browser, a DOCX or XLSX saved."""
    stem, dot, extension = filename.rpartition(".")
    stem = "".join("-" if c in '/\\"' or not c.isprintable() else c for c in stem)
    name = unicodedata.normalize("NFC", stem[:DOWNLOAD_NAME_CHARS].strip()) + dot + extension
    plain = "".join(
        c if c.isascii() and (c.isalnum() or c in " .-_") else "-" for c in ascii_folded(name)
    )
    shown = "inline" if extension == "pdf" else "attachment"
    return {
        "Content-Disposition": f'{shown}; filename="{plain}"; '
        f"filename*=UTF-8''{quote(name, safe='')}"
    }
