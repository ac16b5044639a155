"""Size limits checked before and while a file is parsed, so a hostile file is refused, not chewed on.

The defaults are far above any real candidate list (a state's whole filing list is ~4 MB, ~25k rows
and ~300k cells); `ELEVRA_INTAKE_*` settings change them at wiring. A limit counts what reading the
file would hold, not what the file claims: a row is as wide as its last value and a skipped row is
a row, so a tiny file cannot make the reader hold millions of blanks.
"""

import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from elevra_pipeline.exceptions import UnusableUploadError


@dataclass(frozen=True)
class IntakeLimits:
    max_file_bytes: int = 100 * 1024 * 1024
    max_uncompressed_bytes: int = 400 * 1024 * 1024
    max_rows: int = 250_000  # per sheet
    max_columns: int = 1_000
    max_cells: int = 5_000_000  # per file, counted while streaming (CellBudget)
    max_text_chars: int = 100_000_000  # per file: the cells' text, and the shared-string table's
    max_sheets: int = 1_000  # a results workbook has a sheet per contest (a state primary: ~400)
    max_shared_strings: int = 1_000_000  # distinct texts of a workbook (a 25k-row list has < 300k)
    max_cell_chars: int = 2_000  # one cell: a name, an office, a URL… (the real lists' longest: 80)


def intake_limits(
    max_file_mb: float | None = None,
    max_rows: int | None = None,
    max_cells: int | None = None,
    max_sheets: int | None = None,
    max_shared_strings: int | None = None,
    max_text_chars: int | None = None,
    max_cell_chars: int | None = None,
) -> IntakeLimits:
    """The limits the `ELEVRA_INTAKE_*` settings give (megabytes for the file); unset values keep the defaults."""
    given = {
        "max_file_bytes": int(max_file_mb * 1024 * 1024) if max_file_mb else None,
        "max_rows": max_rows,
        "max_cells": max_cells,
        "max_sheets": max_sheets,
        "max_shared_strings": max_shared_strings,
        "max_text_chars": max_text_chars,
        "max_cell_chars": max_cell_chars,
    }
    return replace(IntakeLimits(), **{name: value for name, value in given.items() if value})


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


def check_file_size(path: Path, limits: IntakeLimits) -> None:
    size = path.stat().st_size
    if size == 0:
        raise UnusableUploadError(f"'{path.name}' is empty (0 bytes).")
    if size > limits.max_file_bytes:
        raise UnusableUploadError(
            f"'{path.name}' is {_megabytes(size)}, above the {_megabytes(limits.max_file_bytes)} "
            "limit for one upload: split it into several files."
        )


def check_xlsx_archive(path: Path, archive: zipfile.ZipFile, limits: IntakeLimits) -> None:
    """The zip directory states each part's uncompressed size: refuse a bomb before inflating it."""
    total = sum(info.file_size for info in archive.infolist())
    if total > limits.max_uncompressed_bytes:
        raise UnusableUploadError(
            f"'{path.name}' expands to {_megabytes(total)} when opened (limit "
            f"{_megabytes(limits.max_uncompressed_bytes)}); "
            "a candidate list is far smaller: re-save only the candidate sheets, or export them as CSV."
        )


def check_dimensions(path: Path, sheet: str, rows: int, columns: int, limits: IntakeLimits) -> None:
    """`columns` 0: not known yet (the rows are counted before the cells are read)."""
    if rows > limits.max_rows or columns > limits.max_columns:
        spans = f"{rows:,} rows x {columns:,} columns" if columns else f"at least {rows:,} rows"
        raise UnusableUploadError(
            f"'{path.name}': sheet '{sheet}' spans {spans}, above the limit of "
            f"{limits.max_rows:,} rows and {limits.max_columns:,} columns per sheet; delete the unused rows and "
            "columns (or split the file) and upload it again."
        )


def column_name(column: int) -> str:
    name = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        name = chr(65 + rest) + name
    return name


class CellBudget:
    """Counts, as the file streams in, the cells reading it holds: each row as wide as its last value
    (or as the cells it lists), one cell per row skipped, every cell a merged range covers, and the
    characters of their text; refuses the file the moment one passes its limit."""

    def __init__(self, path: Path, limits: IntakeLimits):
        self.path, self.limits, self.used, self.chars = path, limits, 0, 0

    def spend(self, cells: int, chars: int = 0, sheet: str = "", row: int = 0, width: int = 0, what: str = "") -> None:
        """`width`: the row's last column (named when far right); `what` names a merged range."""
        self.used += cells
        self.chars += chars
        if self.used > self.limits.max_cells:
            far = f", {what or 'a row'} reaching column {column_name(width)}" if width > 50 or what else ""
            counted, advice = (
                (
                    "the empty cells up to each row's last value and the empty rows between values",
                    "remove the sheets that are not candidate lists (or split the file)",
                )
                if sheet
                else ("every field of every line", "or split the file")
            )
            raise UnusableUploadError(
                f"'{self.path.name}' spans more than {self.limits.max_cells:,} cells, far more than a candidate "
                f"list (counting {counted}; the count passed the limit at row {row:,}{self._on(sheet)}{far}). "
                f"Delete the unused rows and columns and any stray values far below or right of the list, {advice}, "
                "and upload it again."
            )
        if self.chars > self.limits.max_text_chars:
            raise UnusableUploadError(
                f"'{self.path.name}' holds more than {self.limits.max_text_chars:,} characters of cell text, far "
                f"more than a candidate list (passed at row {row:,}{self._on(sheet)}): remove the long texts and "
                "the sheets that are not candidate lists (or split the file), and upload it again."
            )

    def check_cell(self, text: str, row: int, column: int, sheet: str = "") -> None:
        """One cell longer than any value of a candidate list (a pasted document, a 120,000-character
        name) is refused with where it is, before anything reaches a model. `column` counts from 1."""
        if len(text) > self.limits.max_cell_chars:
            raise UnusableUploadError(
                f"'{self.path.name}': the cell at row {row:,}, column {column_name(column)}{self._on(sheet)} holds "
                f"{len(text):,} characters, more than the {self.limits.max_cell_chars:,} a cell of a candidate list "
                f"may hold (it starts '{text[:40]}…'): shorten it or delete that column, and upload the file again."
            )

    @staticmethod
    def _on(sheet: str) -> str:
        return f" of sheet '{sheet}'" if sheet else ""
