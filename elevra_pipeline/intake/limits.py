"""Size limits checked before and while a file is parsed, so a hostile file is refused, not chewed on.

The defaults are far above any real candidate list (a state's whole filing list is ~4 MB and ~25k
rows); `ELEVRA_INTAKE_*` settings change them at wiring.
"""

import zipfile
from dataclasses import dataclass
from pathlib import Path

from elevra_pipeline.exceptions import UnusableUploadError


@dataclass(frozen=True)
class IntakeLimits:
    max_file_bytes: int = 100 * 1024 * 1024
    max_uncompressed_bytes: int = 400 * 1024 * 1024
    max_rows: int = 250_000  # per sheet
    max_columns: int = 1_000
    max_cells: int = 5_000_000  # per file, counted while streaming


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
    if rows > limits.max_rows or columns > limits.max_columns:
        raise UnusableUploadError(
            f"'{path.name}': sheet '{sheet}' spans {rows:,} rows x {columns:,} columns, above the limit of "
            f"{limits.max_rows:,} rows and {limits.max_columns:,} columns per sheet; delete the unused rows and "
            "columns (or split the file) and upload it again."
        )


class CellBudget:
    """Counts cells as they stream in; refuses the file the moment it passes the limit."""

    def __init__(self, path: Path, limits: IntakeLimits):
        self.path, self.limits, self.used = path, limits, 0

    def spend(self, cells: int) -> None:
        self.used += cells
        if self.used > self.limits.max_cells:
            raise UnusableUploadError(
                f"'{self.path.name}' holds more than {self.limits.max_cells:,} cells, "
                "far more than a candidate list: split it or remove unused sheets."
            )
