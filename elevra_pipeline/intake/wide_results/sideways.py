"""A sideways block: reporting units across the columns, one choice per row, contests as headings.

The header row names the units (precincts, tabulators, `TOTAL`); a heading is a row with text in
the label column and no counts (`U. S. Senator`), or the units header repeated with the contest in
its label cell. Headings in a row before the first choice are sections and a contest: the last is
the contest, a section that names a party (`REPUBLICAN`) is the party of the contests under it.
A choice row carries its name in the label column and, before it, a party code (`R`, `D`).
"""

from collections.abc import Sequence

from elevra_pipeline.intake.offices import Level, office_level
from elevra_pipeline.intake.wide_results.cells import (
    declared_write_in,
    is_count,
    is_text,
    names_party,
    not_a_person,
    party_code,
    party_name,
    statistic,
)
from elevra_pipeline.intake.wide_results.grid import BandView, cells
from elevra_pipeline.intake.wide_results.lines import Line


def units(rows: Sequence[Sequence[str]], view: BandView, row: int, count_columns: list[int]) -> dict[int, str]:
    return {c: v for c, v in cells(rows[row], count_columns) if is_text(v)}


def read_band(rows: Sequence[Sequence[str]], view: BandView, sheet_party: str) -> tuple[list[Line], dict]:
    """The choice lines of one sideways band and the roles of its other rows ({row: role})."""
    count_columns = sorted({c for run in view.runs for c in view.count_columns(rows, run)})
    first = view.runs[0]
    least = min(2, len(count_columns))  # a band with one count column has one unit over it
    header_rows = [h for h in first.header if len(set(units(rows, view, h, count_columns).values())) >= least]
    widest = max(header_rows, key=lambda h: len(units(rows, view, h, count_columns)), default=None)
    header_rows = [h for h in header_rows if h >= widest] if header_rows else []  # above it: title lines
    top = units(rows, view, widest, count_columns) if header_rows else {}
    roles: dict[int, str] = {h: "header" for h in header_rows}
    lines: list[Line] = []
    pending: list[str] = []
    contest, party = "", sheet_party
    start = header_rows[0] if header_rows else first.first
    usual = max(
        (_counted(rows[r], count_columns) for run in view.runs for r in range(run.first, run.last + 1)), default=0
    )
    end = view.runs[-1].last
    for r in range(start, end + 1):
        if r == widest:
            continue
        kind = view.kinds[r]
        label = [v for _, v in cells(rows[r], range(view.columns.start, _first_count(view, count_columns)))]
        if (
            kind == "count"
            and label
            and office_level(label[-1]) != Level.UNKNOWN
            and _stray(rows[r], count_columns, usual)
        ):
            kind = "label"  # a heading with a lone total beside it ('Judge of Probate' ... 0)
        if kind == "count" and label:
            if pending:
                contest, party = _take(pending, contest, party, sheet_party)
            lines.append(_line(r, rows[r], view, label, contest, party))
        elif kind in ("label", "header"):
            values = units(rows, view, r, count_columns)
            repeated = bool(top) and sum(values.get(c) == v for c, v in top.items()) >= 0.5 * len(top)
            if kind == "header" and not repeated and len(set(values.values())) > 1:
                roles[r] = "header"  # a units header line (names broken over lines)
                pending += [t for t in label if is_text(t)]
                continue
            text = label[-1] if label else next(iter(values.values()), "")
            roles[r] = "heading"
            if text:
                pending.append(text)
        elif kind == "count":
            roles[r] = "counts"
    return lines, {"roles": roles, "footer_from": end + 1}


def _counted(row: Sequence[str], count_columns: list[int]) -> int:
    return sum(1 for c in count_columns if c < len(row) and is_count(row[c]))


def _stray(row: Sequence[str], count_columns: list[int], usual: int) -> bool:
    """Zeros in a few columns only, where choice rows have counts in many (beside an office's name)."""
    values = [row[c] for c in count_columns if c < len(row) and is_count(row[c])]
    few = len(values) == 1 or len(values) < usual / 3
    return usual >= 2 and few and all(v.strip("0.,") == "" for v in values)


def _first_count(view: BandView, count_columns: list[int]) -> int:
    return min(count_columns, default=view.columns.stop)


def _take(pending: list[str], contest: str, party: str, sheet_party: str) -> tuple[str, str]:
    """The last heading is the contest; a section heading before it that names a party is its party."""
    sections = pending[:-1]
    contest = pending[-1]
    named = [party_name(s) for s in sections if names_party(s)]
    if named:
        party = named[-1]
    elif sections:
        party = sheet_party
    pending.clear()
    return contest, party


def _line(r: int, row: Sequence[str], view: BandView, label: list[str], contest: str, party: str) -> Line:
    texts = [t for t in label if is_text(t)]
    name = texts[-1] if texts else label[-1]
    column = max((c for c, v in cells(row, view.columns) if v == name and not is_count(v)), default=0)
    codes = [party_code(t) for t in texts[:-1] if party_code(t) is not None]
    line = Line(r, column, name, contest, codes[0] if codes else party)
    line.party_from = "column" if codes else "heading" if party else ""
    if declared_write_in(name):
        line.drop, line.detail = "write-in", name
    elif not contest or not_a_person(name) or statistic(name):
        line.drop, line.detail = "not-a-person", name
    return line
