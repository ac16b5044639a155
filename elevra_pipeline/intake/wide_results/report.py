"""A results layout's rows put back into the intake report, each under its own sheet row (and, for
a wide layout, the column of its choice): a choice line's outcome, a heading, vote counts, a note.

A wide sheet's names row is read as one line per choice, so its rows read are its rows, less its
names rows, plus its choice lines: each ends as a candidate or as a dropped line with its reason.
A measure or a place shown on several sheets of the upload is one: the first sheet's measure; the
place most sheets' title lines spell.
"""

from collections import Counter

from openpyxl.utils import get_column_letter

from elevra_pipeline.intake.accounting import DropReason, IntakeReport, SheetReport
from elevra_pipeline.intake.contests import one_letter_apart
from elevra_pipeline.intake.sheets import RawSheet
from elevra_pipeline.intake.wide_results.cells import is_count
from elevra_pipeline.intake.wide_results.lines import WIDE, Layout, Line

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
TITLE_PLACES = ("results title places",)  # the places the title lines of the upload's sheets name


def column_of(line: Line | None, layout: Layout) -> dict:
    return {"column": get_column_letter(line.column + 1)} if line is not None and layout.kind == WIDE else {}


def drop_line(report: IntakeReport, sheet: str, row: int, line: Line | None, layout: Layout, reason: str, detail: str):
    if row < 0:  # the table's own header row, or a title line carried from another sheet
        return
    where = column_of(line, layout)
    prefix = f"column {where['column']}: " if where else ""
    report.drop(sheet, row + 1, reason, (prefix + detail)[:200] if prefix or detail else "")


def account(report: IntakeReport, sheet: RawSheet, layout: Layout, titles: list[int]) -> None:
    """Every sheet row once: a title line (already), a row expanded into its choice lines, or a fate."""
    sheet_report = report.sheets[-1]
    expanded = {line.row for line in layout.lines}
    for line in layout.lines:
        if line.drop:
            drop_line(report, sheet.name, line.row, line, layout, _DROPS[line.drop], line.detail or line.name)
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


def refuse(report: IntakeReport, sheet: RawSheet, layout: Layout) -> list[dict]:
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


def one_measure_each(report: IntakeReport, start: int, seen: dict) -> None:
    """A measure shown on several sheets (by vote type, by precinct, a totals sheet) is one measure."""
    kept = report.measures[:start]
    for measure in report.measures[start:]:
        key = ("results measure", measure["contest"].casefold())
        if key not in seen:
            seen[key] = measure["sheet"]
            kept.append(measure)
    report.measures[:] = kept
