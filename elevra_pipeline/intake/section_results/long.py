"""A long results export: one line per choice (and per precinct), the contest in one column, the
choice in another, vote counts in the rest, under any header or none at all.

Which column is which is read from the values when the headers do not say: counts are numbers; the
contest column holds offices, each repeated on several lines; the choice column holds names, each
under one contest (a precinct column holds the same values under every contest); a party column holds
party codes. The choice labels are read as `choices` reads a report's (`DEM - HILLARY CLINTON`,
`(R) Trump \\ Pence`); a line of counts with no choice is a statistic.
"""

import re
from collections import defaultdict

from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.ballot_lines import measure_choice, not_a_candidate
from elevra_pipeline.intake.offices import Level, missing_place, office_level
from elevra_pipeline.intake.roles import Role, map_by_alias
from elevra_pipeline.intake.section_results.choices import (
    PARTY_CODES,
    named_write_in,
    party_name,
    split_choice,
    ticket,
)
from elevra_pipeline.intake.section_results.lines import has_letters, is_count, vote_for, without_vote_for
from elevra_pipeline.intake.section_results.places import report_place
from elevra_pipeline.intake.section_results.table import ResultsTable

MAX_TITLES = 20
LAYOUT = "a results export: one line per choice (and precinct) with its contest and vote counts"
HEADERLESS = "a results export without a header row: each column's meaning read from its values"
_MEASURE = re.compile(r"\b(?:measure|proposition|prop|amendment|question|referendum|initiative|bond|levy)\b", re.I)
_PERSON = re.compile(r"^[^\W\d_][\w.'’\"()\\/&, -]*$")


def _values(data, column: int) -> list[str]:
    return [row[column] for row in data if column < len(row) and row[column]]


def _numeric(values: list[str]) -> bool:
    return bool(values) and sum(map(is_count, values)) >= 0.9 * len(values)


def _officelike(values: list[str]) -> float:
    distinct = set(values)
    contests = [v for v in distinct if office_level(v) != Level.UNKNOWN or vote_for(v) or _MEASURE.search(v)]
    return len(contests) / max(len(distinct), 1)


def _nested(data, contest: int, column: int) -> float:
    """The share of the column's (person) values that stand under one contest only."""
    under = defaultdict(set)
    for row in data:
        if max(contest, column) < len(row) and row[column] and not not_a_candidate(row[column]):
            if not measure_choice(row[column]):
                under[row[column]].add(row[contest])
    return sum(len(c) == 1 for c in under.values()) / len(under) if under else 0.0


def _personlike(values: list[str]) -> float:
    """The share of a column's choice values (its write-in, total and Yes/No lines aside) that read as names."""
    people = [v for v in values if not not_a_candidate(v) and not measure_choice(v)]
    return sum(bool(_PERSON.match(v)) and len(v.split()) >= 2 for v in people) / max(len(people), 1)


def _coded(values: list[str]) -> float:
    """The share of a column's values that are party codes (none when it has too few to tell)."""
    return sum(v.upper() in PARTY_CODES for v in values) / len(values) if len(values) >= 3 else 0.0


def find_columns(header: list[str], data) -> dict[Role, int]:
    """Office, candidate and party columns: the headers' word where they give one, else the values'."""
    mapping = map_by_alias(header)
    found = {r: mapping.column_of(r) for r in (Role.OFFICE, Role.CANDIDATE_NAME, Role.PARTY)}
    width = max((len(r) for r in data[:200]), default=0)
    texts = [c for c in range(width) if (v := _values(data[:2000], c)) and not _numeric(v) and any(map(has_letters, v))]
    texts = [c for c in texts if c not in mapping.roles or mapping.roles[c] in found]
    if found[Role.OFFICE] is None:
        ranked = sorted(texts, key=lambda c: -_officelike(_values(data[:2000], c)))
        found[Role.OFFICE] = next((c for c in ranked if _officelike(_values(data[:2000], c)) >= 0.5), None)
    if found[Role.CANDIDATE_NAME] is None and found[Role.OFFICE] is not None:
        options = [c for c in texts if c != found[Role.OFFICE]]
        score = {c: _nested(data[:2000], found[Role.OFFICE], c) * _personlike(_values(data[:2000], c)) for c in options}
        found[Role.CANDIDATE_NAME] = max(score, key=score.get) if score and max(score.values()) >= 0.3 else None
    if found[Role.PARTY] is None:
        codes = [c for c in texts if c not in found.values()]
        coded = {c: _coded(_values(data[:2000], c)) for c in codes}
        found[Role.PARTY] = max(coded, key=coded.get) if coded and max(coded.values()) >= 0.8 else None
    return {role: c for role, c in found.items() if c is not None}


def _headerless(header: list[str], data) -> bool:
    """The first row is a line like the others: counts where the lines have counts."""
    numeric = [c for c in range(len(header)) if _numeric(_values(data[:200], c))]
    return bool(numeric) and sum(is_count(header[c]) for c in numeric if c < len(header)) >= 0.5 * len(numeric)


def _results(data, office: int, name: int) -> bool:
    """Lines of a results export, not a list: lines that name no person, or a choice on several lines."""
    pairs = [(row[office], row[name]) for row in data[:5000] if max(office, name) < len(row) and row[name]]
    repeated = len(pairs) - len(set(pairs))
    return any(not_a_candidate(n) or measure_choice(n) for _, n in pairs) or repeated >= 0.1 * max(len(pairs), 1)


def long_table(rows, header_index: int | None) -> ResultsTable | None:
    """The export as a table with its office, candidate and party columns named and its choice labels
    read, or None when the sheet is no such export or the reader needs no help with it."""
    if header_index is None:
        return None
    header, width = list(rows[header_index]), max((len(r) for r in rows[header_index : header_index + 200]), default=0)
    headerless = _headerless(header, rows[header_index + 1 : header_index + 201])
    start = header_index if headerless else header_index + 1
    data = [list(r) + [""] * (width - len(r)) for r in rows[start:]]
    named = [""] * width if headerless else header + [""] * (width - len(header))
    found = find_columns(named, data)
    office, name, party = found.get(Role.OFFICE), found.get(Role.CANDIDATE_NAME), found.get(Role.PARTY)
    aliases = map_by_alias(named).roles
    counts = [
        c for c in range(width) if c not in aliases and _numeric(v := _values(data[:2000], c)) and len(set(v)) > 2
    ]
    if office is None or name is None or not counts:  # vote counts: numbers no header names, varying
        return None
    if not _results(data, office, name):
        return None
    for column, label in ((office, "Office"), (name, "Candidate"), (party, "Party")):
        if column is not None and column not in aliases:
            named[column] = f"{label} ({named[column]})" if named[column] else label
    named = [h or (f"column {c + 1}" if headerless else "") for c, h in enumerate(named)]
    added = [h for h, role in (("Party", party), ("Vote For", Role.VOTE_FOR), ("Jurisdiction", Role.JURISDICTION))
             if role is None or (isinstance(role, Role) and role not in aliases.values())]  # fmt: skip
    table = ResultsTable(HEADERLESS if headerless else LAYOUT, named + added)
    table.header_index = None if headerless else header_index
    changed = headerless or any(column not in aliases for column in found.values())
    for index, row in enumerate(rows[:header_index]):
        if any(row) and len(table.titles) < MAX_TITLES:
            table.titles.append((index, " ".join(c for c in row if c)))
        else:
            table.drop(
                index, DropReason.ABOVE_HEADER if any(row) else DropReason.BLANK, " | ".join(c for c in row if c)
            )
    place = report_place([t for _, t in table.titles], [])
    for index, cells in enumerate(data, start=start):
        label, cell = cells[name], cells[party] if party is not None else ""
        if not label and any(map(is_count, cells)) and any(cells):
            table.drop(
                index, DropReason.NOT_A_CANDIDATE, f"a count line with no choice: {' | '.join(c for c in cells if c)}"
            )
            changed = True
            continue
        if person := named_write_in(label):
            table.drop(index, DropReason.NOT_ON_BALLOT, f"a declared write-in, not printed on the ballot: {person}")
            changed = True
            continue
        person, said = split_choice(label, cell)
        seats = vote_for(cells[office])
        if party is not None:
            cells[party] = party_name(cell) if cell else (said or "")
        changed |= person != label or (party is not None and cells[party] != cell) or bool(said) or bool(seats)
        cells[office] = without_vote_for(cells[office]) if seats else cells[office]
        cells[name] = ticket(person, cells[office])
        changed |= cells[name] != person
        local = place if missing_place(cells[office], "", "") else ""
        values = {"Party": said or "", "Vote For": str(seats or ""), "Jurisdiction": local}
        table.rows.append((index, cells + [values[h] for h in added]))
    return table if changed else None
