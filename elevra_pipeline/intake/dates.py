"""Numeric dates whose day and month can be swapped (03/11/2026): one order per column, never per cell.

A column that holds 13/03/2026 is day-first, one that holds 03/13/2026 month-first; read cell by cell
(as `pandas.to_datetime(format="mixed")` does) a day-first column would put 03/11 in March and 13/11
in November. A column where every such date could be either is read month-first (the lists are
American) and the sheet says so, with the admin's way out: the `date_order` option (`--date-order
dmy`). No library decides a column's order from its values (dateutil and pandas decide per value),
hence this module.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

NUMERIC_DATE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})")
MAX_EXAMPLES = 3


class DateOrder(StrEnum):
    MDY = "mdy"  # 03/11/2026 is March 11
    DMY = "dmy"  # 03/11/2026 is 3 November


@dataclass
class ColumnDates:
    """What a column's numeric dates say about their order."""

    order: DateOrder | None = None  # evident from a day above 12, else None
    conflicting: bool = False  # days above 12 on both sides: the column mixes orders
    ambiguous: list[str] = field(default_factory=list)  # values that read differently in each order

    def note(self, column: str, chosen: DateOrder) -> str | None:
        if self.conflicting:
            return (
                f"column {column} mixes day-first and month-first dates; read as {chosen.value} — "
                "dates that do not fit need re-upload: write them as YYYY-MM-DD"
            )
        if self.order is None and self.ambiguous:
            shown = ", ".join(self.ambiguous[:MAX_EXAMPLES])
            return (
                f"column {column}: dates like {shown} could be day-first or month-first; read month-first "
                "(03/11/2026 = March 11); if they are day-first, send the file again with --date-order dmy "
                '(sidecar: "date_order": "dmy")'
            )
        return None


def _two_digit_year(year: str) -> int:
    """As `%y` reads it: 00-68 are 2000-2068, 69-99 are 1969-1999."""
    value = int(year)
    return value if len(year) == 4 else value + (2000 if value < 69 else 1900)


def survey(values: list[str]) -> ColumnDates:
    first_big = second_big = False
    ambiguous: dict[str, None] = {}
    for value in values:
        match = NUMERIC_DATE.fullmatch(value.strip())
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        first_big |= 12 < first <= 31
        second_big |= 12 < second <= 31
        if first <= 12 and second <= 12 and first != second:
            ambiguous[value.strip()] = None
    order = DateOrder.DMY if first_big and not second_big else DateOrder.MDY if second_big and not first_big else None
    return ColumnDates(order, first_big and second_big, list(ambiguous))


def read_numeric_date(text: str, order: DateOrder) -> str | None:
    """ISO text for a numeric date in `order`; None when the text is not one (or is no real date,
    which the batch rule then reports)."""
    match = NUMERIC_DATE.fullmatch(text.strip())
    if not match:
        return None
    first, second, year = int(match.group(1)), int(match.group(2)), _two_digit_year(match.group(3))
    month, day = (first, second) if order == DateOrder.MDY else (second, first)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None
