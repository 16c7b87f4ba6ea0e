"""The guarded reader of uploaded tables: what it gives back, and that a file over a limit is
refused with a code at the first thing past it, after reading a small part of it."""

from __future__ import annotations

import io
import secrets
import zipfile

import pytest
import xlsxwriter

from shared.uploads import FileInvalid, FileTooLarge, TableLimits, read_table
from tests.shared import xlsx_files
from tests.shared.xlsx_files import inline, sheet_xml, strings_xml, workbook

LIMITS = TableLimits(max_rows=1_000)


class Counted(io.BytesIO):
    """A file that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def read1(self, size: int = -1) -> bytes:
        chunk = super().read1(size)
        self.bytes_read += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        self.bytes_read += n
        return n


def rows(data: bytes, limits: TableLimits = LIMITS) -> list[tuple[int, list[str]]]:
    return list(read_table(io.BytesIO(data), limits))


def refusal(data: bytes, limits: TableLimits = LIMITS) -> tuple[FileInvalid | FileTooLarge, int]:
    """The error reading ``data`` raises, and how many bytes of it were read by then."""
    file = Counted(data)
    with pytest.raises((FileInvalid, FileTooLarge)) as caught:
        for _ in read_table(file, limits):
            pass
    return caught.value, file.bytes_read


# --- CSV ----------------------------------------------------------------------------------------


def test_a_csv_gives_its_rows_with_values_numbered_as_its_lines_either_delimiter():
    given = '\ufeffHọ tên;Mã\n\nNguyễn Văn An;NV001\r\n;\n"Trần; Thị\nBình";2\n'.encode()
    assert rows(given) == [
        (1, ["Họ tên", "Mã"]),
        (3, ["Nguyễn Văn An", "NV001"]),
        (5, ["Trần; Thị\nBình", "2"]),
    ]


def test_twenty_mebibytes_of_newlines_are_refused_at_the_first_row_over_the_limit():
    error, read = refusal(b"\n" * (20 * 1024 * 1024))
    assert error.code == "FILE_TOO_LARGE"
    assert read < 64 * 1024  # about 1,001 lines, not the 20 MiB


def test_a_csv_line_without_end_is_refused_at_its_length_limit():
    error, read = refusal(b"a," * (10 * 1024 * 1024), TableLimits(max_rows=10, max_line_chars=1000))
    assert error.code == "FILE_INVALID"
    assert read < 64 * 1024


def test_a_value_beyond_the_column_limit_is_refused_and_empty_trailing_fields_are_not():
    assert rows(b"a,b,,,,,,\n1,2,,,,,\n", TableLimits(max_rows=10, max_columns=3)) == [
        (1, ["a", "b", ""]),
        (2, ["1", "2", ""]),
    ]
    error, _ = refusal(b"a,b,,,x\n", TableLimits(max_rows=10, max_columns=3))
    assert error.code == "FILE_TOO_LARGE"


def test_a_csv_that_is_not_utf8_is_invalid():
    error, _ = refusal("Họ tên,Mã\n".encode("utf-16"))
    assert error.code == "FILE_INVALID"


# --- XLSX ---------------------------------------------------------------------------------------


def test_an_xlsx_gives_text_numbers_as_typed_booleans_inline_and_rich_strings():
    strings = (
        f'<sst xmlns="{xlsx_files.MAIN}"><si><t>Họ tên</t></si>'
        "<si><r><t>Nguyễn </t></r><r><t>Văn An</t></r><rPh><t>ignored</t></rPh></si></sst>"
    )
    sheet = sheet_xml(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2"><v>1024.0</v></c><c r="B2"><v>1.5</v></c>'
        '<c r="C2" t="b"><v>1</v></c><c r="D2" t="str"><f>A1</f><v>Họ tên</v></c></row>'
        '<row r="3"><c r="B3" s="1"/></row>'  # formatted, empty: not a row with values
        f"<row>{inline('A4', 'Tập thể')}<c><v>7</v></c></row>"  # numbers left out: as Excel
    )
    assert rows(workbook(sheet, strings)) == [
        (1, ["Họ tên", "", "Nguyễn Văn An"]),
        (2, ["1024", "1.5", "TRUE", "Họ tên"]),
        (4, ["Tập thể", "7"]),
    ]


def test_a_workbook_written_by_xlsxwriter_reads_as_it_was_written():
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["Họ tên", "Mã"])
    sheet.write_row(2, 0, ["Lê Văn Cường", 1024])
    book.close()
    assert rows(out.getvalue()) == [(1, ["Họ tên", "Mã"]), (3, ["Lê Văn Cường", "1024"])]


def test_the_sparse_sheet_a1_and_xfd1048576_is_refused_without_a_grid():
    data = xlsx_files.sparse()
    assert len(data) < 2_000
    # Refused at its row past the limit
    error, _ = refusal(data)
    assert (error.code, error.context) == ("FILE_TOO_LARGE", {"limit": 1_000})
    # and, were rows unlimited, at its cell past the column limit
    error, _ = refusal(data, TableLimits(max_rows=2_000_000))
    assert (error.code, error.context) == ("FILE_TOO_LARGE", {"row": 1_048_576, "limit": 64})


def test_a_sheet_past_the_row_limit_is_refused_at_its_first_row_past_it():
    body = "".join(f"<row r='{n}'>{inline(f'A{n}', 'x')}</row>" for n in range(1, 1_003))
    error, _ = refusal(workbook(sheet_xml(body)))
    assert error.code == "FILE_TOO_LARGE"
    assert rows(workbook(sheet_xml(body)), TableLimits(max_rows=1_001))[-1][0] == 1_002


@pytest.mark.parametrize(
    "body",
    [
        f"<row r='5'>{inline('A5', 'x')}</row><row r='3'>{inline('A3', 'y')}</row>",
        "<row r='2'/>" * 10,  # empty rows too
    ],
)
def test_rows_out_of_order_are_invalid_so_a_few_bytes_cannot_repeat_rows_without_end(body):
    error, _ = refusal(workbook(sheet_xml(body)))
    assert error.code == "FILE_INVALID"


def test_an_empty_formatted_row_past_the_limit_counts_in_the_used_range():
    error, _ = refusal(workbook(sheet_xml(f"<row r='1'>{inline('A1', 'x')}</row><row r='1002'/>")))
    assert error.code == "FILE_TOO_LARGE"


def test_a_zip_bomb_is_refused_by_its_ratio_or_by_the_unzipped_total():
    # Given a sheet of 64 MiB zipped into a few dozen KB
    data = xlsx_files.zip_bomb(64 * 1024 * 1024)
    assert len(data) < 1024 * 1024
    # Then it is refused at 50 times its zipped size, naming the part (other limits set aside)
    error, _ = refusal(data, TableLimits(max_rows=10, elements_per_row=10**9))
    assert (error.code, error.context) == ("FILE_TOO_LARGE", {"part": "xl/worksheets/sheet1.xml"})
    # And where the ratio would allow it, the total unzipped is capped
    small = TableLimits(
        max_rows=10, max_unzipped_bytes=4 * 1024 * 1024, max_ratio=10_000, elements_per_row=10**9
    )
    error, _ = refusal(xlsx_files.zip_bomb(12 * 1024 * 1024), small)
    assert (error.code, error.context) == ("FILE_TOO_LARGE", {"limit": 4 * 1024 * 1024})


NOISE = secrets.token_hex(1024 * 1024)  # 2 MiB that do not zip well: no ratio to trip on


@pytest.mark.parametrize(
    "stretch", [NOISE, f'<row r="2" x="{NOISE}"/>', f"<!-- {NOISE} -->", f"<{NOISE}/>"]
)
def test_two_mebibytes_of_xml_without_a_tag_end_are_invalid_before_they_are_parsed(stretch):
    error, _ = refusal(workbook(sheet_xml(f"<row r='1'>{inline('A1', 'x')}</row>{stretch}")))
    assert error.code == "FILE_INVALID"


def test_a_sheet_of_formatted_empty_cells_past_the_element_limit_is_refused():
    # Given 1,000 rows of 40 formatted, empty cells: nothing to read, 41,000 elements to parse
    blanks = xlsx_files.formatted_blanks(1_000, 40)
    # Then within 24 elements a row it is refused; with room for them, it reads as empty
    error, _ = refusal(blanks, TableLimits(max_rows=1_000))
    assert error.code == "FILE_TOO_LARGE"
    assert rows(blanks, TableLimits(max_rows=1_000, elements_per_row=50)) == []


def test_shared_strings_past_their_limit_are_refused():
    error, _ = refusal(workbook(sheet_xml(""), strings_xml([""] * 200)), TableLimits(max_rows=9))
    assert error.code == "FILE_TOO_LARGE"


def test_a_zip_listing_too_many_parts_is_refused_before_they_are_listed():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        for n in range(1_001):
            book.writestr(f"p{n}", b"")
    error, _ = refusal(out.getvalue())
    assert error.code == "FILE_TOO_LARGE"


def test_an_xml_entity_bomb_is_invalid():
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        f'<worksheet xmlns="{xlsx_files.MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
        "<is><t>&b;</t></is></c></row></sheetData></worksheet>"
    )
    error, _ = refusal(workbook(laughs))
    assert error.code == "FILE_INVALID"


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04 not really a workbook",
        workbook("<worksheet><sheetData><row>"),  # cut short
        workbook(sheet_xml('<row r="1"><c r="A1" t="s"><v>9</v></c></row>')),  # no string 9
        workbook(sheet_xml('<row r="1"><c r="A0"><v>1</v></c></row>')),  # no such cell
    ],
)
def test_anything_else_that_is_not_a_readable_workbook_is_invalid(data):
    error, _ = refusal(data)
    assert error.code == "FILE_INVALID"


# --- found by an attacker's review: what a small file could still make the reader hold -------


def test_one_long_shared_string_referenced_from_every_cell_is_refused_by_the_total():
    # Given one shared string of 32,767 characters, referenced by three cells of 1,000 rows
    # (about 100 MB of text handed out from a file of a few hundred KB),
    cells = "".join(f'<c r="{c}{{r}}" t="s"><v>0</v></c>' for c in "ABC")
    rows = "".join(f'<row r="{r}">{cells.format(r=r)}</row>' for r in range(1, 1001))
    data = workbook(sheet_xml(rows), strings_xml(["😀" * 32_767]))
    # then reading stops once the cells have handed out the total's worth of text.
    error, _ = refusal(data, TableLimits(max_rows=1_000, max_total_chars=1_000_000))
    assert error.code == "FILE_TOO_LARGE"


def test_a_tag_that_never_ends_is_refused_though_its_attribute_holds_greater_than_signs():
    # An attribute's value may hold '>', which kept resetting the old guard: 60 MiB in one tag.
    # 2 MiB that does not compress (so no ratio refuses it first), a '>' every thousand bytes.
    value = ">".join(secrets.token_hex(500) for _ in range(2_048))
    error, _ = refusal(workbook(sheet_xml(f'<row r="1" a="{value}"/>')))
    assert error.code == "FILE_INVALID" and "thẻ" in error.message


def test_deep_nesting_is_refused_at_its_depth_not_at_the_element_limit():
    nested = "<a>" * 100 + "</a>" * 100
    error, _ = refusal(workbook(sheet_xml(f'<row r="1">{nested}</row>')))
    assert error.code == "FILE_INVALID" and "64" in error.message


@pytest.mark.parametrize("markup", ["<!-- x -->", "<![CDATA[x]]>", "<?pi x?>"])
def test_comments_cdata_and_processing_instructions_have_no_place_in_a_sheet(markup):
    error, _ = refusal(workbook(sheet_xml(f'<row r="1">{inline("A1", "x")}</row>{markup}')))
    assert error.code == "FILE_INVALID"


def test_a_negative_shared_string_index_is_refused_not_read_from_the_end():
    sheet = sheet_xml('<row r="1"><c r="A1" t="s"><v>-1</v></c></row>')
    error, _ = refusal(workbook(sheet, strings_xml(["đầu", "cuối"])))
    assert error.code == "FILE_INVALID"
