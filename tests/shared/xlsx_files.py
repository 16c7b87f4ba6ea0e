"""Workbooks written by hand, part by part, as an attacker (or an odd exporter) would: the
smallest valid XLSX around a sheet's XML, a sparse sheet, a zip bomb. Used by the reader's tests
and tests/perf/bench_uploads.py."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/></Types>'
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
    '<sheets><sheet name="Giao ước" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">'
    f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="/xl/sharedStrings.xml"/>'
    "</Relationships>"
)


def sheet_xml(rows: str, dimension: str = "A1") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    )


def strings_xml(items: list[str]) -> str:
    body = "".join(f"<si><t>{escape(s)}</t></si>" for s in items)
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">{body}</sst>'


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def workbook(sheet: str, strings: str | None = None) -> bytes:
    """A workbook of one sheet (its XML given whole) and its shared strings, if any."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/worksheets/sheet1.xml", sheet)
        book.writestr("xl/sharedStrings.xml", strings or strings_xml([]))
    return out.getvalue()


def sparse(corner: str = "XFD1048576") -> bytes:
    """Cells at A1 and ``corner`` and a dimension to match: about 1 KB, a grid of 17 billion
    cells (by default) to a reader that allocates the used range."""
    row = corner.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    rows = f'<row r="1">{inline("A1", "Họ tên")}</row><row r="{row}">{inline(corner, "x")}</row>'
    return workbook(sheet_xml(rows, f"A1:{corner}"))


def zip_bomb(unzipped: int) -> bytes:
    """A valid workbook whose sheet unzips to ``unzipped`` bytes (empty elements between two
    rows: comments, once used here, are refused on sight), written as a stream: about a
    thousandth of that zipped."""
    out = io.BytesIO()
    head, tail = sheet_xml("\0").split("\0")
    pad = b"<x/>" * (128 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/sharedStrings.xml", strings_xml([]))
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            header = inline("A1", "Họ tên") + inline("B1", "Danh hiệu")
            sheet.write(f'{head}<row r="1">{header}</row>'.encode())
            for _ in range(unzipped // len(pad)):
                sheet.write(pad)
            sheet.write(f'<row r="2">{inline("A2", "x")}</row>'.encode() + tail.encode())
    return out.getvalue()


def formatted_blanks(rows: int, cells: int) -> bytes:
    """A workbook of ``rows`` rows of ``cells`` formatted, empty cells each (a border drawn over
    a range, as Excel writes it): nothing to read, everything to stream through."""
    out = io.BytesIO()
    head, tail = sheet_xml("\0").split("\0")
    letters = [_column(n) for n in range(cells)]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/sharedStrings.xml", strings_xml([]))
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            for r in range(1, rows + 1):
                row = "".join(f'<c r="{c}{r}" s="1"/>' for c in letters)
                sheet.write(f'<row r="{r}">{row}</row>'.encode())
            sheet.write(tail.encode())
    return out.getvalue()


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name
