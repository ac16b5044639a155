"""A results layout as an ordinary table, read by the intake, and its rows put back where they were.

The table has one row per choice line (office, candidate, party, contest party, place, vote for)
under the sheet's own title lines, so the intake's rules apply unchanged: not-candidates, ballot
measures, the admin's settings, title dates and places, one candidacy per person and contest.
What the intake decides for a table row is then recorded against the sheet row (and, for a wide
layout, the column) it came from. A choice repeated on another sheet of a wide workbook (the same
contest by vote type or by precinct) is read once.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from openpyxl.utils import get_column_letter

from elevra_pipeline.intake.accounting import DropReason, IntakeReport, SheetReport
from elevra_pipeline.intake.contests import one_letter_apart
from elevra_pipeline.intake.options import UploadOptions
from elevra_pipeline.intake.roles import map_by_alias
from elevra_pipeline.intake.sheets import RawSheet, find_header_row
from elevra_pipeline.intake.wide_results.cells import choice_like, is_count
from elevra_pipeline.intake.wide_results.contests import prepare
from elevra_pipeline.intake.wide_results.layout import find_layout
from elevra_pipeline.intake.wide_results.lines import TABLE_HEADER, WIDE, Layout, Line
from elevra_pipeline.intake.wide_results.wide import note

_DROPS = {
    "not-a-person": DropReason.NOT_A_CANDIDATE,
    "statistic": DropReason.STATISTIC,
    "write-in": DropReason.NOT_ON_BALLOT,
    "repeated": DropReason.REPEATED_LINE,
    "untitled": DropReason.LAYOUT_NOTE,
}
_ROLES = {"names": DropReason.LAYOUT_HEADING, "party": DropReason.LAYOUT_HEADING, "titles": DropReason.LAYOUT_HEADING}
_ROLES |= {"title": DropReason.LAYOUT_HEADING, "header": DropReason.LAYOUT_HEADING}
_ROLES |= {"heading": DropReason.LAYOUT_HEADING, "counts": DropReason.VOTE_COUNTS, "footer": DropReason.NOT_A_CANDIDATE}
WORKBOOK_TITLES = ("results titles",)  # the title lines of the upload's first results sheet
TITLE_PLACES = ("results title places",)  # the places the title lines of the upload's sheets name
WORKBOOK_UNITS = ("results units",)  # the row labels of the upload's wide sheets (its precincts, counties)
ReadTable = Callable[[RawSheet, UploadOptions, object, IntakeReport, dict], list[dict]]


def ordinary_list(rows) -> bool:
    """A list the columns already describe (a candidate and an office column): not a layout to read."""
    index = find_header_row(rows)
    return index is not None and not map_by_alias(list(rows[index])).missing_required()


def read_results_layout(
    sheet: RawSheet, options: UploadOptions, ask_model, report: IntakeReport, seen: dict, read_table: ReadTable
) -> list[dict] | None:
    """The candidate rows of a results layout, every sheet row accounted for; None when the sheet is no
    results layout (it is read as a list)."""
    if (sheet.hidden and not options.include_hidden_sheets) or ordinary_list(sheet.rows):
        return None
    units = seen.setdefault(WORKBOOK_UNITS, set())
    layout = find_layout(sheet.rows, sheet.name, units)
    if layout is None:
        return None
    units |= layout.units
    titles = _title_rows(sheet, layout)
    texts = [_text(sheet.rows[t]) for t in titles]
    heads = [_text(sheet.rows[t]) for t in _title_rows(sheet, layout, ("title", "titles"))]
    if any(not note(t) for t in heads):
        seen.setdefault(WORKBOOK_TITLES, heads)
    if not any(choice_like(line.name) for line in layout.lines):
        return None  # counts under column names ('Mail Votes', 'Registered Voters'): a list or a statistics sheet
    from elevra_pipeline.intake.reader import title_place  # the reader imports this package

    prepare(layout, sheet.name, options.state or "", seen, title_place([[t] for t in texts]) is not None)
    untitled = [line for line in layout.lines if not line.drop and not line.office.strip()]
    for line in untitled:
        line.drop, line.detail = "untitled", line.name
    passed = [line for line in layout.lines if not line.drop]
    if untitled and not passed:
        return _refuse(report, sheet, layout)
    if not passed:  # only write-in lines, statistics: read, and nothing to store
        report.sheets.append(SheetReport(sheet.name, rows_read=len(sheet.rows)))
        for t, text in zip(titles, texts):
            report.drop(sheet.name, t + 1, DropReason.ABOVE_HEADER, text[:200])
        _account(report, sheet, layout, titles)
        return []
    carried = seen.get(WORKBOOK_TITLES, []) if all(map(note, texts)) else []
    table = [[t] for t in carried] + [[t] for t in texts] + [TABLE_HEADER]
    table += [line.table_row() for line in passed]
    sources: list[tuple[int, Line | None]] = [(-1, None)] * len(carried) + [(t, None) for t in titles] + [(-1, None)]
    sources += [(line.row, line) for line in passed]
    start, measures = len(report.dropped), len(report.measures)
    rows = read_table(replace(sheet, rows=table, unvalued_formulas=set()), options, ask_model, report, seen)
    moved = report.dropped[start:]
    del report.dropped[start:]
    for dropped in moved:
        for k in range(dropped.row, (dropped.last_row or dropped.row) + 1):
            row, line = sources[k - 1]
            _drop(report, sheet.name, row, line, layout, dropped.reason, dropped.detail)
    for record in rows:
        row, line = sources[record["source"]["row"] - 1]
        record["source"] = {"sheet": sheet.name, "row": row + 1, **_column(line, layout)}
    _account(report, sheet, layout, titles)
    _one_measure_each(report, measures, seen)
    if place := title_place([[t] for t in texts]):
        one_spelling(place, rows, seen)
    return rows


def _refuse(report: IntakeReport, sheet: RawSheet, layout: Layout) -> list[dict]:
    """Choices with counts and no contest anywhere (no title over them, no heading, no title line): the
    sheet is refused with what to send instead."""
    where = "across the columns" if layout.kind == WIDE else "down the rows"
    names = ", ".join(dict.fromkeys(line.name for line in layout.lines if line.drop == "untitled"))
    sheet_report = SheetReport(sheet.name, rows_read=len(sheet.rows), status="ignored")
    sheet_report.reason = (
        f"election results with the choices {where} ({names[:120]}) but no contest named for them: write the "
        "contest's title above its candidates (a title row over their columns, or a heading line), or upload "
        "the list of candidates (one row per candidate, with its office)"
    )
    report.sheets.append(sheet_report)
    for number, row in enumerate(sheet.rows, start=1):
        report.drop(sheet.name, number, DropReason.UNMAPPED_SHEET if any(row) else DropReason.BLANK)
    return []


def _title_rows(sheet: RawSheet, layout: Layout, besides: tuple[str, ...] = ()) -> list[int]:
    """Rows with text above the layout's first heading or line that no role claims: title lines (and,
    for the workbook's titles, the contest titles above its first names too: `besides`)."""
    claimed = {r for r, (role, _) in layout.fates.items() if role not in besides} | {ln.row for ln in layout.lines}
    first = min(claimed, default=0)
    return [r for r in range(first) if any(sheet.rows[r])]


def _text(row) -> str:
    return " ".join(dict.fromkeys(v for v in row if v))


def _column(line: Line | None, layout: Layout) -> dict:
    return {"column": get_column_letter(line.column + 1)} if line is not None and layout.kind == WIDE else {}


def _drop(report: IntakeReport, sheet: str, row: int, line: Line | None, layout: Layout, reason: str, detail: str):
    if row < 0:  # the table's own header row, or a title line carried from another sheet
        return
    where = _column(line, layout)
    prefix = f"column {where['column']}: " if where else ""
    report.drop(sheet, row + 1, reason, (prefix + detail)[:200] if prefix or detail else "")


def _account(report: IntakeReport, sheet: RawSheet, layout: Layout, titles: list[int]) -> None:
    """Every sheet row once: a title line (already), a row expanded into its choice lines, or a fate."""
    sheet_report = report.sheets[-1]
    expanded = {line.row for line in layout.lines}
    for line in layout.lines:
        if line.drop:
            _drop(report, sheet.name, line.row, line, layout, _DROPS[line.drop], line.detail or line.name)
    header = next((r for r, (role, _) in sorted(layout.fates.items()) if role == "header"), None)
    header = header if layout.kind != WIDE and header not in expanded else None
    for r, row in enumerate(sheet.rows):
        if r in expanded or r in titles or r == header:
            continue
        role, detail = layout.fates.get(r, ("", ""))
        if role in _ROLES:
            report.drop(sheet.name, r + 1, _ROLES[role], detail)
        elif not any(row):
            report.drop(sheet.name, r + 1, DropReason.BLANK)
        elif any(is_count(v) for v in row):
            report.drop(sheet.name, r + 1, DropReason.VOTE_COUNTS)
        else:
            report.drop(sheet.name, r + 1, DropReason.LAYOUT_NOTE, " | ".join(v for v in row if v)[:200])
    sheet_report.header_row = header + 1 if header is not None else None
    sheet_report.rows_read = len(sheet.rows) - len(expanded) + len(layout.lines)
    kind = "choices across the columns" if layout.kind == WIDE else "choices down the rows under contest headings"
    note = f"read as election results ({kind}): {len(layout.lines)} choice line(s)"
    sheet_report.mapping_note = "; ".join(filter(None, [note, sheet_report.mapping_note]))


def one_spelling(place: str, rows: list[dict], seen: dict) -> None:
    """A place the title lines of one sheet write one letter off the place other sheets write (a copied
    template's 'ALOOMFIELD' beside three 'BLOOMFIELD's) is that place: the spelling most sheets use wins,
    for the rows of every sheet read so far."""
    places: dict[str, dict] = seen.setdefault(TITLE_PLACES, {})
    spelling = next((p for p in places if p == place.casefold() or one_letter_apart(p, place.casefold())), None)
    entry = places.setdefault(spelling or place.casefold(), {"sheets": Counter(), "rows": []})
    entry["sheets"][place] += 1
    entry["rows"] += [r for r in rows if r["jurisdiction"] == place]
    best = max(entry["sheets"], key=lambda p: (entry["sheets"][p], -list(entry["sheets"]).index(p)))
    for record in entry["rows"]:
        record["jurisdiction"] = best


def _one_measure_each(report: IntakeReport, start: int, seen: dict) -> None:
    """A measure shown on several sheets (by vote type, by precinct, a totals sheet) is one measure."""
    kept = report.measures[:start]
    for measure in report.measures[start:]:
        key = ("results measure", measure["contest"].casefold())
        if key not in seen:
            seen[key] = measure["sheet"]
            kept.append(measure)
    report.measures[:] = kept
