"""A results layout as an ordinary table, read by the intake, and its rows put back where they were.

The table has one row per choice line (office, candidate, party, contest party, place, vote for)
under the sheet's own title lines, so the intake's rules apply unchanged: not-candidates, ballot
measures, the admin's settings, title dates and places, one candidacy per person and contest.
What the intake decides for a table row is then recorded against the sheet row (and, for a wide
layout, the column) it came from. A choice repeated on another sheet of a wide workbook (the same
contest by vote type or by precinct) is read once.
"""

from collections.abc import Callable
from dataclasses import replace

from elevra_pipeline.intake.accounting import DropReason, IntakeReport, SheetReport
from elevra_pipeline.intake.options import UploadOptions
from elevra_pipeline.intake.roles import map_by_alias
from elevra_pipeline.intake.sheets import RawSheet, find_header_row
from elevra_pipeline.intake.wide_results.cells import choice_like, without_write_in_mark
from elevra_pipeline.intake.wide_results.contests import prepare
from elevra_pipeline.intake.wide_results.headers import note
from elevra_pipeline.intake.wide_results.layout import find_layout
from elevra_pipeline.intake.wide_results.lines import TABLE_HEADER, Layout, Line
from elevra_pipeline.intake.wide_results.report import (
    account,
    column_of,
    drop_line,
    one_measure_each,
    one_spelling,
    refuse,
)

WORKBOOK_TITLES = ("results titles",)  # the title lines of the upload's first results sheet
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
    for line in layout.lines if options.include_not_on_ballot else ():
        if line.drop == "write-in":  # the admin keeps people not printed on the ballot
            line.drop, line.name = "", without_write_in_mark(line.name)
    untitled = [line for line in layout.lines if not line.drop and not line.office.strip()]
    for line in untitled:
        line.drop, line.detail = "untitled", line.name
    passed = [line for line in layout.lines if not line.drop]
    if untitled and not passed:
        return refuse(report, sheet, layout)
    if not passed:  # only write-in lines, statistics: read, and nothing to store
        report.sheets.append(SheetReport(sheet.name, rows_read=len(sheet.rows)))
        for t, text in zip(titles, texts):
            report.drop(sheet.name, t + 1, DropReason.ABOVE_HEADER, text[:200])
        account(report, sheet, layout, titles)
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
            drop_line(report, sheet.name, row, line, layout, dropped.reason, dropped.detail)
    for record in rows:
        row, line = sources[record["source"]["row"] - 1]
        record["source"] = {"sheet": sheet.name, "row": row + 1, **column_of(line, layout)}
    account(report, sheet, layout, titles)
    one_measure_each(report, measures, seen)
    if place := title_place([[t] for t in texts]):
        one_spelling(place, rows, seen)
    return rows


def _title_rows(sheet: RawSheet, layout: Layout, besides: tuple[str, ...] = ()) -> list[int]:
    """Rows with text above the layout's first heading or line that no role claims: title lines (and,
    for the workbook's titles, the contest titles above its first names too: `besides`)."""
    claimed = {r for r, (role, _) in layout.fates.items() if role not in besides} | {ln.row for ln in layout.lines}
    first = min(claimed, default=0)
    return [r for r in range(first) if any(sheet.rows[r])]


def _text(row) -> str:
    return " ".join(dict.fromkeys(v for v in row if v))
