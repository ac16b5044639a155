"""`.xlsx` uploads, streamed sheet by sheet through openpyxl's own sheet parser.

openpyxl's read-only worksheets stream rows but drop merged ranges and cannot tell a formula
without a saved value from an empty cell; its full mode keeps every cell object in memory. So each
sheet goes through `WorkSheetParser` (openpyxl's streaming XML parser) directly, with one hook that
flags formulas lacking a cached value, and merged ranges (listed after the rows in the XML) are
filled in once the sheet is read.

Nothing is read before every part is measured (`xlsx_parts`), and each row, skipped row and merged
range is counted (`CellBudget`) before it is held; rows are stored sparsely (`SparseRows`).
"""

import zipfile
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.limits import CellBudget, IntakeLimits, check_dimensions, check_xlsx_archive
from elevra_pipeline.intake.sheets import RawSheet, SparseRows, clean_value
from elevra_pipeline.intake.xlsx_parts import check_parts

_NO_VALUE = "formula-without-value"


class _FlaggingParser(WorkSheetParser):
    def parse_cell(self, element):
        cell = super().parse_cell(element)
        if cell["value"] is None and element.find(FORMULA_TAG) is not None:
            cell["data_type"] = _NO_VALUE
        return cell


def _open(path: Path, limits: IntakeLimits):
    try:
        with zipfile.ZipFile(path) as archive:
            check_xlsx_archive(path, archive, limits)
            check_parts(path, archive, limits)
        return load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except UnusableUploadError:
        raise
    except Exception as e:  # openpyxl raises many kinds (BadZipFile, KeyError, ValueError, TypeError...)
        raise UnusableUploadError(
            f"'{path.name}' is not a valid Excel workbook (the file looks corrupt or is not .xlsx); "
            "re-save it from Excel or export it as CSV and upload it again."
        ) from e


def _read_sheet(path: Path, book, sheet, limits: IntakeLimits, budget: CellBudget) -> RawSheet:
    if sheet.max_row and sheet.max_column:
        check_dimensions(path, sheet.title, sheet.max_row, sheet.max_column, limits)
    rows = SparseRows()
    raw = RawSheet(name=sheet.title, rows=rows, state=sheet.sheet_state)
    with sheet._get_source() as source:
        parser = _FlaggingParser(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=book.epoch,
            date_formats=book._date_formats,
            timedelta_formats=book._timedelta_formats,
        )
        for number, cells in parser.parse():
            index = max(number - 1, len(rows))  # a row number going back is read as the next row
            if index >= limits.max_rows:
                check_dimensions(path, sheet.title, index + 1, 0, limits)
            values, chars, room = {}, 0, limits.max_text_chars - budget.chars
            for cell in cells:
                text = clean_value(cell["value"])
                if cell["data_type"] == _NO_VALUE:
                    raw.unvalued_formulas.add((index, cell["column"] - 1))
                if text:
                    if cell["column"] > limits.max_columns:
                        check_dimensions(path, sheet.title, index + 1, cell["column"], limits)
                    budget.check_cell(text, index + 1, cell["column"], sheet.title)
                    values[cell["column"] - 1] = text
                    chars += len(text)
                    if chars > room:
                        budget.spend(0, chars, sheet.title, index + 1)
            width = max(values) + 1 if values else 0
            # the row as wide as its last value, and one cell for each row skipped before it
            budget.spend(max(len(cells), width, 1) + index - len(rows), chars, sheet.title, index + 1, width)
            row = [""] * width
            for column, text in values.items():
                row[column] = text
            rows.put(index, row)
        merged = parser.merged_cells.mergeCell if parser.merged_cells else []
    _fill_merged(rows, [m.ref for m in merged], budget, sheet.title)
    rows.trim()
    return raw


def _fill_merged(rows: SparseRows, refs: list[str], budget: CellBudget, sheet: str) -> None:
    """A merged cell's value belongs to every cell it covers (e.g. one Office cell over three candidates)."""
    for ref in refs:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        if min_row is None or max_row is None or min_row > len(rows):
            continue
        top = rows[min_row - 1]
        value = top[min_col - 1] if min_col - 1 < len(top) else ""
        if not value:
            continue
        last = min(max_row, len(rows))
        # each row it covers becomes as wide as the range
        budget.spend((last - min_row + 1) * max_col, 0, sheet, min_row, max_col, f"the merged range {ref}")
        for r in range(min_row - 1, last):
            row = list(rows[r])
            row.extend([""] * (max_col - len(row)))
            for c in range(min_col - 1, max_col):
                row[c] = row[c] or value
            rows.put(r, row)


def read_xlsx(path: Path, limits: IntakeLimits) -> list[RawSheet]:
    book = _open(path, limits)
    budget = CellBudget(path, limits)
    try:
        return [_read_sheet(path, book, sheet, limits, budget) for sheet in book.worksheets]
    except UnusableUploadError:
        raise
    except Exception as e:
        raise UnusableUploadError(
            f"'{path.name}' could not be read: {type(e).__name__}: {e}. Re-save it from "
            "Excel or export it as CSV and upload it again."
        ) from e
    finally:
        book.close()
