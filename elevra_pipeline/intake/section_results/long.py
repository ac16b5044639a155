"""A long results export: one line per choice (and per precinct), the contest in one column, the
choice in another, vote counts in the rest, under any header or none at all (`long_columns` tells
which column is which). The choice labels are read as a report's are (`DEM - HILLARY CLINTON`,
`(R) Trump \\ Pence`); a line of counts with no choice is a statistic; a local contest naming no place
is the place the title lines name.
"""

from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.offices import missing_place
from elevra_pipeline.intake.roles import Role, map_by_alias
from elevra_pipeline.intake.section_results.choices import named_write_in, party_name, split_choice, ticket
from elevra_pipeline.intake.section_results.lines import is_count, vote_for, without_vote_for
from elevra_pipeline.intake.section_results.long_columns import (
    find_columns,
    headerless_rows,
    numeric,
    results_lines,
    values,
)
from elevra_pipeline.intake.section_results.places import report_place
from elevra_pipeline.intake.section_results.table import ResultsTable

MAX_TITLES = 20
LAYOUT = "a results export: one line per choice (and precinct) with its contest and vote counts"
HEADERLESS = "a results export without a header row: each column's meaning read from its values"


def _columns_named(named: list[str], found: dict, aliases: dict, headerless: bool) -> tuple[list[str], list[str]]:
    """The table's header: the columns found by their values named for their role (the sheet's own
    header kept beside it), and the columns added for what the labels and the title say."""
    for role, label in ((Role.OFFICE, "Office"), (Role.CANDIDATE_NAME, "Candidate"), (Role.PARTY, "Party")):
        if (column := found.get(role)) is not None and column not in aliases:
            named[column] = f"{label} ({named[column]})" if named[column] else label
    named = [h or (f"column {c + 1}" if headerless else "") for c, h in enumerate(named)]
    added = ["Party"] if Role.PARTY not in found else []
    added += [
        h
        for h, role in (("Vote For", Role.VOTE_FOR), ("Jurisdiction", Role.JURISDICTION))
        if role not in aliases.values()
    ]
    return named, added


def _line(table: ResultsTable, index: int, cells: list[str], found: dict, added: list[str], place: str) -> bool:
    """One line of the export into the table (or dropped with its reason); whether reading it changed it."""
    office, name, party = found[Role.OFFICE], found[Role.CANDIDATE_NAME], found.get(Role.PARTY)
    label, cell = cells[name], cells[party] if party is not None else ""
    if not label and any(map(is_count, cells)):
        table.drop(
            index, DropReason.NOT_A_CANDIDATE, f"a count line with no choice: {' | '.join(c for c in cells if c)}"
        )
        return True
    if person := named_write_in(label):
        table.drop(index, DropReason.NOT_ON_BALLOT, f"a declared write-in, not printed on the ballot: {person}")
        return True
    person, said = split_choice(label, cell)
    seats = vote_for(cells[office])
    if party is not None:
        cells[party] = party_name(cell) if cell else (said or "")
    cells[office] = without_vote_for(cells[office]) if seats else cells[office]
    cells[name] = ticket(person, cells[office])
    local = place if missing_place(cells[office], "", "") else ""
    values = {"Party": said or "", "Vote For": str(seats or ""), "Jurisdiction": local}
    table.rows.append((index, cells + [values[h] for h in added]))
    return cells[name] != label or (party is not None and cells[party] != cell) or bool(said) or bool(seats)


def long_table(rows, header_index: int | None) -> ResultsTable | None:
    """The export as a table with its office, candidate and party columns named and its choice labels
    read, or None when the sheet is no such export or the reader needs no help with it."""
    if header_index is None:
        return None
    header, width = list(rows[header_index]), max((len(r) for r in rows[header_index : header_index + 200]), default=0)
    headerless = headerless_rows(header, rows[header_index + 1 : header_index + 201])
    start = header_index if headerless else header_index + 1
    data = [list(r) + [""] * (width - len(r)) for r in rows[start:]]
    named = [""] * width if headerless else header + [""] * (width - len(header))
    found, aliases = find_columns(named, data), map_by_alias(named).roles
    counts = [c for c in range(width) if c not in aliases and numeric(v := values(data[:2000], c)) and len(set(v)) > 2]
    if Role.OFFICE not in found or Role.CANDIDATE_NAME not in found or not counts:  # counts: numbers no header names
        return None
    if not results_lines(data, found[Role.OFFICE], found[Role.CANDIDATE_NAME]):
        return None
    named, added = _columns_named(named, found, aliases, headerless)
    table = ResultsTable(HEADERLESS if headerless else LAYOUT, named + added)
    table.header_index = None if headerless else header_index
    for index, row in enumerate(rows[:header_index]):
        if any(row) and len(table.titles) < MAX_TITLES:
            table.titles.append((index, " ".join(c for c in row if c)))
        else:
            reason = DropReason.ABOVE_HEADER if any(row) else DropReason.BLANK
            table.drop(index, reason, " | ".join(c for c in row if c))
    place = report_place([t for _, t in table.titles], [])
    changed = headerless or any(column not in aliases for column in found.values())
    for index, cells in enumerate(data, start=start):
        if any(cells):
            changed |= _line(table, index, cells, found, added, place)
        else:
            table.rows.append((index, cells + [""] * len(added)))  # the reader's blank row
    return table if changed else None
