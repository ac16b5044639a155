"""A sheet as read from a file: every row in order, cells as clean text, and what the reader noticed."""

import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from elevra_pipeline.intake.roles import alias_hits

# a web export's escaped characters ('People&#39;s Party', 'Smith &amp; Sons'): what the page showed is the value
_HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|amp|quot|apos|lt|gt|nbsp);", re.I)
HEADER_SCAN_ROWS = 30  # title lines, notes and logos above a header never run longer than this


class SparseRows(Sequence):
    """A sheet's rows where only rows holding a value are stored: a row the file skips, or holds empty,
    reads as one shared empty row, so a value at row 249,999 costs one row, not 249,999 lists."""

    def __init__(self) -> None:
        self._rows: dict[int, list[str]] = {}
        self._length = 0

    def put(self, index: int, row: list[str]) -> None:
        if any(row):
            self._rows[index] = row
        self._length = max(self._length, index + 1)

    def trim(self) -> None:
        """Drop the blank rows at the end (a sheet's last rows are often formatted but empty)."""
        self._length = max(self._rows, default=-1) + 1

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._rows.get(i, ()) for i in range(*index.indices(self._length))]
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(index)
        return self._rows.get(index, ())

    def __iter__(self) -> Iterator[Sequence[str]]:
        return (self._rows.get(i, ()) for i in range(self._length))


@dataclass
class RawSheet:
    name: str
    rows: Sequence[Sequence[str]]  # rows[i] is the sheet's row i + 1 (a list, or SparseRows)
    state: str = "visible"  # or "hidden" / "veryHidden" (xlsx)
    unvalued_formulas: set[tuple[int, int]] = field(default_factory=set)  # (row index, column index)

    @property
    def hidden(self) -> bool:
        return self.state != "visible"


def clean_value(value: object) -> str:
    """Cell text as a person reads it: Excel dates as ISO, whole numbers without `.0`, whitespace squeezed,
    HTML character references written out."""
    if type(value) is str:  # the common case, kept fast: str.split() also splits on no-break spaces
        if "&" in value and _HTML_ENTITY.search(value):
            value = html.unescape(value)  # markup it may spell out is neutralised with every value (records)
        return " ".join(value.split())
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date() if value.time() == time(0) else value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer():
            return str(int(value))
    return " ".join(str(value).split())


def find_header_row(rows: list[list[str]]) -> int | None:
    """Index of the header row among the first rows: the row with most known header names, else the
    first row as wide as the table (title lines above a header hold one value, or one merged value)."""
    scanned = rows[:HEADER_SCAN_ROWS]
    hits = [alias_hits(row) for row in scanned]
    if hits and max(hits) >= 2:
        return hits.index(max(hits))
    widths = [len({c for c in row if c}) for row in scanned]
    widest = max(widths, default=0)
    if widest < 2:
        return None
    return next(i for i, width in enumerate(widths) if width >= max(2, round(widest * 0.6)))
