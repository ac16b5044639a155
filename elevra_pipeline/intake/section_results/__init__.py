"""Results layouts read as lists: a report of contest headings with choice lines beneath (`sections`),
or a long export with one line per choice (and precinct) whose columns say so only by their values
(`long`), becomes an ordinary table the list reader reads like any other (`table`).

The layout is recognised from the values, never from a header's spelling: a sheet whose headers give
a candidate and an office is read as it is. Every row of the sheet stays accounted for: a row of the
table is the reader's to keep or drop; the rows that make no table row are dropped here, with why.
"""

from elevra_pipeline.intake.accounting import DropReason, IntakeReport, SheetReport
from elevra_pipeline.intake.roles import map_by_alias
from elevra_pipeline.intake.section_results.lines import Kind, read_line
from elevra_pipeline.intake.section_results.long import long_table
from elevra_pipeline.intake.section_results.sections import MIN_CHOICES, RESULT_LINE, section_table
from elevra_pipeline.intake.section_results.table import ResultsTable
from elevra_pipeline.intake.sheets import RawSheet, find_header_row

__all__ = ["read_results_layout", "results_table"]


UNREAD = (
    "this sheet looks like a results report (lines of choices with vote counts: {examples}) but no line naming "
    "a contest stands above them, so which race each choice is in cannot be told: upload the list of candidates "
    "(one row per candidate with its office), or the results export with one line per candidate and its contest"
)


def unread_results(sheet: RawSheet) -> str | None:
    """Why a sheet of choice lines with counts (write-in and over/under lines among them) that no results
    layout reads is refused, in words the admin can act on; None for any other sheet."""
    lines = [line for i, row in enumerate(sheet.rows[:2000]) if (line := read_line(i, row)).kind == Kind.CHOICE]
    if len(lines) < MIN_CHOICES or not any(RESULT_LINE.search(line.label) for line in lines):
        return None
    return UNREAD.format(examples=", ".join(f"'{line.label}'" for line in lines[:3]))


def results_table(sheet: RawSheet) -> ResultsTable | str | None:
    """The sheet as an ordinary table when it is a results layout the list reader cannot read as it is
    (or reads with choice labels it cannot read: party codes before names, declared write-ins); why it
    is refused when it is a results layout none of these reads; None otherwise."""
    index = find_header_row(sheet.rows)
    if index is not None and not map_by_alias(list(sheet.rows[index])).missing_required():
        return long_table(sheet.rows, index)
    return section_table(sheet.rows, sheet.name) or long_table(sheet.rows, index) or unread_results(sheet)


def _refuse(sheet: RawSheet, reason: str, report: IntakeReport) -> list:
    sheet_report = SheetReport(sheet.name, rows_read=len(sheet.rows), status="ignored", reason=reason)
    report.sheets.append(sheet_report)
    for number, row in enumerate(sheet.rows, start=1):
        report.drop(sheet.name, number, DropReason.RESULTS_UNREAD if any(row) else DropReason.BLANK)
    return []


def read_results_layout(sheet: RawSheet, options, ask_model, report: IntakeReport, seen: dict, read_table) -> list:
    """`read_table` on the sheet, or on the table its results layout makes, told in the sheet's rows."""
    table = None if options.columns or sheet.hidden else results_table(sheet)
    if table is None:
        return read_table(sheet, options, ask_model, report, seen)
    if isinstance(table, str):
        return _refuse(sheet, table, report)
    start, first_sheet = len(report.dropped), len(report.sheets)
    as_sheet, sources = table.sheet(sheet.name)
    rows = read_table(as_sheet, options, ask_model, report, seen)
    table.restore(sheet.name, report, start, sources, rows)
    sheet_report: SheetReport = report.sheets[first_sheet]
    sheet_report.rows_read = len(sheet.rows)
    sheet_report.header_row = table.header_index + 1 if table.header_index is not None else None
    note = f"read as {table.layout}"
    sheet_report.mapping_note = "; ".join(filter(None, [note, sheet_report.mapping_note]))
    return rows
