"""Excel (.xlsx) adapter: the only module that imports openpyxl.

Reading yields raw cell values row by row with their Excel row numbers; writing builds a workbook in
memory with every text cell guarded against formula injection (string cells, quotePrefix). Nothing
here knows about rosters, and nothing here logs or puts cell values into exceptions (cells may hold ID-card numbers).
"""

import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

# A 5 MB upload can inflate to gigabytes of XML; refuse archives that would (zip-bomb guard).
MAX_UNCOMPRESSED = 200 * 1024 * 1024
# Text starting with one of these is a formula to Excel, WPS and LibreOffice (CSV/DDE injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TEXT_FORMAT = "@"


class ExcelError(ValueError):
    """Raised with a reason code only: unreadable, too_large."""


def column_letter(index: int) -> str:
    """0-based column index to Excel letters (0 → A)."""
    return get_column_letter(index + 1)


def _check_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ExcelError("unreadable") from None
    if total > MAX_UNCOMPRESSED:
        raise ExcelError("too_large")


def iter_rows(data: bytes) -> Iterator[tuple[int, tuple]]:
    """Yield (Excel row number, cell values) for the first worksheet; blank rows included.

    Formula cells give their cached value (what the user saw). Rows may differ in length.
    """
    _check_archive(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on malformed files; none may carry cell text out
        raise ExcelError("unreadable") from None
    try:
        if not wb.worksheets:
            raise ExcelError("unreadable")
        ws = wb.worksheets[0]
        # Some writers store a wrong <dimension>; without this, rows past it would be dropped silently.
        ws.reset_dimensions()
        rows = ws.iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception:
                raise ExcelError("unreadable") from None
            number += 1
            yield number, tuple(values)
    finally:
        wb.close()


def _guard_text(text: str) -> tuple[str, bool]:
    """The text XML can hold, and whether a spreadsheet would read it as a formula if typed in.

    Such text is not changed (a leading apostrophe would be shown, and kept by a re-import): the cell
    is written as a string, which Excel, WPS and LibreOffice never evaluate, with quotePrefix set."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)  # control characters XML cannot hold
    return text, text.startswith(FORMULA_TRIGGERS)


@dataclass
class Sheet:
    title: str
    header: Sequence[str]
    rows: Iterable[Sequence] = ()
    widths: Sequence[int] = ()
    #: 0-based columns stored as text (ID numbers, phones), so Excel never turns them into numbers.
    text_columns: set[int] = field(default_factory=set)


def write_workbook(*sheets: Sheet) -> bytes:
    """Build an .xlsx in memory (write-only mode: fast and small for tens of thousands of rows)."""
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title[:31])
        for i, width in enumerate(sheet.widths):
            ws.column_dimensions[column_letter(i)].width = width
        for i in sheet.text_columns:
            ws.column_dimensions[column_letter(i)].number_format = TEXT_FORMAT
        ws.freeze_panes = "A2"
        header = []
        for text in sheet.header:
            cell = _cell(ws, text, as_text=True)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            ws.append([_cell(ws, v, as_text=i in sheet.text_columns) for i, v in enumerate(row)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(ws, value, as_text: bool):
    if value is None:
        return None
    if as_text and not isinstance(value, str):
        value = str(value)
    if not isinstance(value, str):
        return value
    text, quoted = _guard_text(value)
    cell = WriteOnlyCell(ws, text)
    # Always a string cell: openpyxl would otherwise store text starting with "=" as a formula.
    cell.data_type = "s"
    # What Excel itself sets when someone types '=…: shown without the apostrophe, and the cell stays
    # text when edited (without it, editing and confirming the cell would turn it into a formula).
    cell.quotePrefix = quoted
    if as_text:
        cell.number_format = TEXT_FORMAT
    return cell
