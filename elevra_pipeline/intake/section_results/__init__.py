"""Results layouts read as lists: a report of contest headings with choice lines beneath (`sections`),
or a long export with one line per choice (and precinct) whose columns say so only by their values
(`long`), becomes an ordinary table the list reader reads like any other (`table`).

The layout is recognised from the values, never from a header's spelling: a sheet whose headers give
a candidate and an office is read as it is. Every row of the sheet stays accounted for: a row of the
table is the reader's to keep or drop; the rows that make no table row are dropped here, with why.
"""

from elevra_pipeline.intake.accounting import IntakeReport, SheetReport
from elevra_pipeline.intake.roles import map_by_alias
from elevra_pipeline.intake.section_results.long import long_table
from elevra_pipeline.intake.section_results.sections import section_table
from elevra_pipeline.intake.section_results.table import ResultsTable
from elevra_pipeline.intake.sheets import RawSheet, find_header_row

__all__ = ["read_results_layout", "results_table"]


def results_table(sheet: RawSheet) -> ResultsTable | None:
    """The sheet as an ordinary table when it is a results layout the list reader cannot read as it is
    (or reads with choice labels it cannot read: party codes before names, declared write-ins)."""
    index = find_header_row(sheet.rows)
    if index is not None and not map_by_alias(list(sheet.rows[index])).missing_required():
        return long_table(sheet.rows, index)
    return section_table(sheet.rows, sheet.name) or long_table(sheet.rows, index)


def read_results_layout(sheet: RawSheet, options, ask_model, report: IntakeReport, seen: dict, read_table) -> list:
    """`read_table` on the sheet, or on the table its results layout makes, told in the sheet's rows."""
    table = None if options.columns or sheet.hidden else results_table(sheet)
    if table is None:
        return read_table(sheet, options, ask_model, report, seen)
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
