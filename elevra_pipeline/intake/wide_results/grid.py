"""A results grid cut into what its values show: label columns, bands, runs of count rows.

A label column holds text on the rows that carry counts (precinct names, or choice names);
a band is a label column with the count columns to its right up to the next label column
(side-by-side blocks: a Totals sheet with three lists, a percentages block repeating the votes).
Within a band, a run is a stretch of count rows, with the blank and label-only rows between them
(a contest heading, 'Countywide'); the rows above a run, back to the run before, are its header.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

from elevra_pipeline.intake.wide_results.cells import is_count, is_text

MAX_HEADER_ROWS = 12  # a header zone longer than this is title lines and notes, not column headers


def cells(row: Sequence[str], columns: range) -> list[tuple[int, str]]:
    return [(c, row[c]) for c in columns if c < len(row) and row[c]]


def label_columns(rows: Sequence[Sequence[str]]) -> list[int]:
    """Columns that hold text (not counts) on most rows that carry counts."""
    text: dict[int, int] = {}
    number: dict[int, int] = {}
    for row in rows:
        if not any(is_count(v) for v in row):
            continue
        for c, value in enumerate(row):
            if is_count(value):
                number[c] = number.get(c, 0) + 1
            elif value:
                text[c] = text.get(c, 0) + 1
    return sorted(c for c, n in text.items() if n >= 2 and n > number.get(c, 0))


def bands(rows: Sequence[Sequence[str]], width: int) -> list[tuple[range, list[int]]]:
    """(columns, label columns) of each band; adjacent label columns (party letter, name) are one."""
    labels = label_columns(rows)
    starts = [c for i, c in enumerate(labels) if i == 0 or labels[i - 1] != c - 1]
    if not starts:
        return []
    edges = [0, *starts[1:], width]
    return [
        (range(edges[i], edges[i + 1]), [c for c in labels if edges[i] <= c < edges[i + 1]]) for i in range(len(starts))
    ]


@dataclass
class Run:
    first: int  # row index of the first count row
    last: int  # row index of the last count row
    header: range  # the rows above it, back to the previous run
    labels: list[int] = field(default_factory=list)  # label columns of the band


@dataclass
class BandView:
    """One band of a sheet: its columns, label columns and runs."""

    columns: range
    labels: list[int]
    runs: list[Run] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # row_kind of each row of the sheet, in this band

    def count_columns(self, rows, run: Run) -> list[int]:
        """Columns right of the labels with counts in the run (numbers left of the labels are codes)."""
        found = set()
        for r in range(run.first, run.last + 1):
            found |= {c for c, v in cells(rows[r], self.columns) if c > self.labels[0] and is_count(v)}
        return sorted(found - set(self.labels))


def row_kind(row: Sequence[str], columns: range, labels: list[int]) -> str:
    """'count' (counts beyond the labels), 'label' (text in label columns only), 'header' (text over the
    count columns), or 'blank'."""
    values = cells(row, columns)
    if not values:
        return "blank"
    counts = sum(1 for c, v in values if c not in labels and is_count(v))
    texts = sum(1 for c, v in values if c not in labels and is_text(v))
    if counts and counts > texts:
        unlabelled = not any(is_text(v) for c, v in values if c in labels)
        return "header" if unlabelled and numbering([v for c, v in values if c not in labels]) else "count"
    if texts:
        return "header"
    return "label" if any(is_text(v) for _, v in values) else "count"


def band_runs(rows: Sequence[Sequence[str]], columns: range, labels: list[int]) -> BandView:
    kinds = [row_kind(row, columns, labels) for row in rows]
    view = BandView(columns, labels, kinds=kinds)
    start = 0  # first row of the current header zone
    r = 0
    while r < len(rows):
        if kinds[r] != "count":
            r += 1
            continue
        first = last = r
        k = r + 1
        while k < len(rows) and kinds[k] != "header":
            if kinds[k] == "count":
                last = k
            k += 1
        view.runs.append(Run(first, last, range(max(start, first - MAX_HEADER_ROWS), first), labels))
        start = last + 1
        r = last + 1
    return view


def numbering(values: list[str]) -> bool:
    """Column numbers (1, 2, 3 ... over the columns, on a row with no label), not votes."""
    numbers = [int(v) for v in values if v.isdigit()]
    if len(numbers) < 5 or len(numbers) < 0.8 * len(values) or numbers[0] > 1:
        return False
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    return all(s >= 0 for s in steps) and sum(s == 1 for s in steps) >= 0.8 * len(steps)
