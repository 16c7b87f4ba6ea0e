"""Text bound for a spreadsheet cell, made inert: every CSV or XLSX export writes its cells
through this module.

A spreadsheet program reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)``, ``=cmd|...``), and a leading tab or carriage return can hide such a start
(OWASP, "CSV injection"). Names, titles and descriptions are typed by users, so any of them may
start that way: such text gets a leading apostrophe, which shows it as the text it is. The
full-width forms of the four signs are treated the same, since some programs fold them.
Numbers, dates and booleans are written as themselves: only text is a risk.

For XLSX, :func:`write_row` also writes text as a string cell: xlsxwriter's plain ``write`` would
itself turn ``"=1+2"`` into a formula.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
QUOTE = "'"


def cell_text(text: str) -> str:
    """``text`` as it may stand in a cell: unchanged, or with an apostrophe in front."""
    return QUOTE + text if text.startswith(FORMULA_STARTS) else text


def cell_value(value: Any) -> Any:
    """A cell's value: text neutralised (:func:`cell_text`), other values as they are."""
    return cell_text(value) if isinstance(value, str) else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer``: every text cell neutralised."""
    return [cell_value(value) for value in values]


def write_row(worksheet: Any, row: int, values: Iterable[Any], first_col: int = 0) -> None:
    """Write ``values`` into an xlsxwriter worksheet: text as neutralised string cells, numbers
    as numbers, dates as dates (a format is the caller's), None as an empty cell."""
    for col, value in enumerate(values, first_col):
        if value is None:
            continue
        if isinstance(value, str):
            worksheet.write_string(row, col, cell_text(value))
        elif isinstance(value, bool):
            worksheet.write_boolean(row, col, value)
        elif isinstance(value, int | float):
            worksheet.write_number(row, col, value)
        elif isinstance(value, datetime | date):
            worksheet.write_datetime(row, col, value)
        else:
            worksheet.write_string(row, col, cell_text(str(value)))
