"""A results report in sections: a contest heading (a line whose only text is the contest, maybe with
'Vote for N'), then its choice lines (a label and vote counts), then the next heading.

Read from the values: a choice line has a label and counts in the columns where the report's choice
lines put theirs (`walk` finds the heading above each run of them); a tally may write a choice's counts
on the next line. A sheet whose 'choices' stand under several contests, or carry numbers, lists places
(precincts, counties) by candidate: a wide layout, not this one.
"""

import re
from collections import Counter, defaultdict

from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.ballot_lines import measure_choice, not_a_candidate
from elevra_pipeline.intake.offices import missing_place
from elevra_pipeline.intake.section_results.choices import (
    PARTY_CODES,
    known_party,
    named_write_in,
    party_name,
    party_suffixes,
    split_choice,
    ticket,
)
from elevra_pipeline.intake.section_results.lines import Kind, Line, read_line, without_vote_for
from elevra_pipeline.intake.section_results.places import report_place
from elevra_pipeline.intake.section_results.table import HEADER, ResultsTable
from elevra_pipeline.intake.section_results.walk import COUNTS_ONLY, Walk

MIN_CHOICES = 3
RESULT_LINE = re.compile(r"\bwrite[- ]?ins?\b|\b(?:over|under) ?votes?\b", re.I)  # lines only results have
MAX_CHOICES = 40  # names under one contest heading: more are places, not choices
LAYOUT = "a results report: contest headings with their choice lines and vote counts beneath"


def _merge_tally_lines(lines: list[Line]) -> dict[int, int]:
    """A tally that writes each choice on one line and its counts on a later one (past a line of column
    headings): label line -> counts line, when the sheet has more of these than choice lines."""
    pairs = {}
    for i, line in enumerate(lines):
        if line.kind != Kind.TEXT:
            continue
        for nxt in lines[i + 1 : i + 4]:
            if nxt.kind == Kind.COUNTS:
                pairs[line.index] = nxt.index
            if nxt.kind != Kind.OTHER:
                break
    if len(pairs) <= sum(1 for line in lines if line.kind == Kind.CHOICE):
        return {}
    for line in lines:
        if line.index in pairs:  # its label only: a title repeated at the right is no party
            line.kind, line.texts, line.counts = Kind.CHOICE, line.texts[:1], lines[pairs[line.index]].counts
    return pairs


def _stray_choices(lines: list[Line]) -> set[int]:
    """A line with a label and counts elsewhere than where choice lines put theirs (a page footer
    'Page 1 of 20') is no choice; neither is a label without a word. The columns of counts."""
    choices = [line for line in lines if line.kind == Kind.CHOICE]
    used = Counter(c for line in choices for c in {c for c, _ in line.counts})
    common = {c for c, n in used.items() if n >= 0.3 * len(choices)}
    for line in choices:
        if not common & {c for c, _ in line.counts} or not re.search(r"[^\W\d_]{2}", line.label):
            line.kind = Kind.TEXT
    return common


def _reporting_units(table: ResultsTable) -> bool:
    """The lines under the headings are places, not choices (a sheet of precincts or counties whose
    candidates run across the columns): most labels stand under several contests, or carry a number
    ('RENO-VERDI 1000'), or one contest has more lines than any ballot has names."""
    contests, lines = defaultdict(set), defaultdict(set)
    for _, row in table.rows:
        if not not_a_candidate(row[1]) and not measure_choice(row[1]):
            contests[row[1].casefold()].add(row[0].casefold())
            lines[row[0].casefold()].add(row[1].casefold())
    labels = max(len(contests), 1)
    numbered = sum(1 for label in contests if re.search(r"\d", label))
    return (
        sum(len(c) >= 2 for c in contests.values()) >= 0.5 * labels
        or numbered >= 0.5 * labels
        or max(map(len, lines.values()), default=0) > MAX_CHOICES
    )


def _office(heading: str) -> tuple[str, str]:
    """(office, party) of a heading: without its 'Vote for N' and a repeated last word, and a party
    primary's code cut off the end ('United States Senator - DEM (Vote for 1) DEM')."""
    words = without_vote_for(heading).split()
    if len(words) > 2 and words[-1] == words[-2].strip("-–"):
        words.pop()
    office = " ".join(words).strip(" -–,")
    match = re.match(r"^(?P<office>.+?)\s*[-–]\s*(?P<code>[A-Z]{1,4})$", office)
    if match and match.group("code") in PARTY_CODES:
        return match.group("office"), party_name(match.group("code"))
    return office, ""


def section_table(rows, sheet_name: str = "") -> ResultsTable | None:
    """The report as a table of choice lines under their contests, or None when it is not one. A sheet
    named for a party (`Republican`) is that party's ballot."""
    lines = [read_line(i, row) for i, row in enumerate(rows)]
    merged = _merge_tally_lines(lines)
    count_columns = _stray_choices(lines)
    choices = [line for line in lines if line.kind == Kind.CHOICE]
    if len(choices) < MIN_CHOICES:
        return None
    table = ResultsTable(LAYOUT, list(HEADER))
    for counts in merged.values():
        table.drop(counts, COUNTS_ONLY)
    suffixes = party_suffixes([line.label for line in choices])

    def choice(line: Line, heading: str, seats, party: str, place: str) -> None:
        if person := named_write_in(line.label):
            table.drop(
                line.index, DropReason.NOT_ON_BALLOT, f"a declared write-in, not printed on the ballot: {person}"
            )
            return
        cell = next((t for c, t in line.texts[1:] if len(t) <= 30 and c > line.column), "")
        if cell and not_a_candidate(cell):  # 'Jerry Eller | WRITE-IN | 0': a write-in line
            table.drop(line.index, DropReason.NOT_A_CANDIDATE, f"{line.label} ({cell})")
            return
        name, own = split_choice(line.label, cell, suffixes)
        votes = line.counts[0][1] if line.counts else ""
        office, primary = _office(heading)
        name, primary = ticket(name, office), primary or party
        table.rows.append((line.index, [office, name, primary if own is None else own, primary, place,
                                        str(seats or ""), votes]))  # fmt: skip

    sheet_party = party_name(sheet_name) if known_party(sheet_name) else ""
    walk = Walk([line for line in lines if line.index not in set(merged.values())], table, count_columns, sheet_party)
    walk.walk(choice)
    results = any(
        RESULT_LINE.search(row[1]) for _, row in table.rows
    )  # write-in, over/under lines: one contest will do
    if walk.contests < (1 if results else 2) or not table.rows or _reporting_units(table):
        return None
    table.titles.sort()
    place = report_place([t for _, t in table.titles], list(dict.fromkeys(row[0] for _, row in table.rows)))
    for _, row in table.rows:  # a local contest naming no place of its own is the report's place's
        if place and not row[4] and missing_place(row[0], "", ""):
            row[4] = place
    return table
