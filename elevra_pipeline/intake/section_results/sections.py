"""A results report in sections: a contest heading (a line whose only text is the contest, maybe with
'Vote for N'), then its choice lines (a label and vote counts), then the next heading.

Read from the values: a choice line has a label and counts in the columns where the report's choice
lines put theirs; the heading of a run of choice lines is the nearest line of text alone above it (above
its 'Vote for N' line when it has one). Lines of text between two contests that are not the heading
are its context: a party's section (`(DEMOCRATIC)`) makes the contests below that party's primary, a
place (`VILLAGE OF EMERSON`) is the place of the contests below it. Page headers repeat the report's
title lines; column headings hold several texts or only words like Total and Votes.
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
)
from elevra_pipeline.intake.section_results.lines import Kind, Line, read_line, vote_for, without_vote_for
from elevra_pipeline.intake.section_results.places import report_place
from elevra_pipeline.intake.section_results.table import HEADER, ResultsTable

MIN_CHOICES = 3
MAX_CHOICES = 40  # names under one contest heading: more are places, not choices
MAX_TITLES = 20  # the reader looks for a header among the first 30 rows
HEADING = "a contest heading of a results report (its text is the office of the lines beneath)"
CONTEXT = "a line of a results report above a contest heading (a section, a place, a page header or a note)"
COLUMNS = "column headings of a results report"
COUNTS_ONLY = "vote counts of the line above (a tally writes a choice's counts on the next line)"
NUMBERS = "a line of numbers without a label"
OUTSIDE = "a count line outside any contest (a statistic of the report)"
_COLUMN_WORDS = set("total totals votes vote percent pct % candidate candidates party choice choices name".split())
_COLUMN_WORDS |= set("number of precincts reporting counted cast election day absentee provisional mail".split())
_PLACE = re.compile(
    r"^(?:(?:city|village|town|township|borough|county|parish) of \w.*|"
    r".*\w.*\b(?:county|parish|borough|township|school district|public schools|community schools)"
    r"(?:\s+(?:no\.?\s*)?[\w-]+)?)$",
    re.I,
)


def _signature(line: Line) -> str:
    return re.sub(r"\d+", "#", line.text.casefold())


def _party_heading(text: str) -> str | None:
    bare = re.sub(r"[*()\[\]=_~#]+", " ", text).strip()
    return party_name(bare) if bare and known_party(bare) and len(bare.split()) <= 3 else None


def _column_words(text: str) -> bool:
    return set(re.findall(r"[a-z%]+", text.casefold())) <= _COLUMN_WORDS


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


def _labelled_heading(line: Line, count_columns: set[int]) -> bool:
    """A contest named in the first cell of a row of column labels ('Presidential | TOTAL | Nemaha I …'):
    its other texts stand over the columns of counts."""
    return (
        len(line.texts) > 1
        and line.column not in count_columns
        and all(c in count_columns for c, _ in line.texts[1:])
        and not _column_words(line.label)
    )


class _Walk:
    """The contest each choice line is under, walking down the report."""

    def __init__(self, lines: list[Line], table: ResultsTable, count_columns: set[int], party: str) -> None:
        self.lines, self.table, self.contests, self.count_columns = lines, table, 0, count_columns
        first = next((i for i, line in enumerate(lines) if line.kind == Kind.CHOICE), len(lines))
        later = Counter(_signature(line) for line in lines[first:] if line.kind == Kind.TEXT)
        self.furniture = {_signature(line) for line in lines[:first] if line.kind == Kind.TEXT} & set(later)
        self.heading: Line | None = None
        self.seats: int | None = None
        self.party, self.place = party, ""

    def _settle(self, pending: list[Line]) -> None:
        """The text lines between two runs of choices: the next heading, its seats, its context."""
        eligible, seat_lines, dropped = [], [], []
        for line in pending:
            text = line.text
            if len(line.texts) == 1 and (party := _party_heading(text)) is not None:
                self.party = party
                dropped.append((line, CONTEXT))
            elif vote_for(text) is not None and not without_vote_for(text):
                seat_lines.append(line)
            elif _labelled_heading(line, self.count_columns) and _signature(line) not in self.furniture:
                eligible.append(line)
            elif len(line.texts) > 1 or _column_words(text):
                dropped.append((line, COLUMNS))
            elif _signature(line) in self.furniture:
                dropped.append((line, CONTEXT))
            elif not_a_candidate(text) and len(text.split()) <= 8:  # a line's label, not a note's sentence
                dropped.append((line, DropReason.NOT_A_CANDIDATE))
            else:
                eligible.append(line)
        above = [line for line in eligible if not seat_lines or line.index < seat_lines[0].index]
        heading = (above or eligible or [None])[-1]
        first = self.heading is None
        if heading is not None:
            context = [line for line in eligible if line.index < heading.index]
            if context and not first:
                self.place = next((line.text for line in reversed(context) if _PLACE.match(line.text)), "")
            self.heading, self.contests = heading, self.contests + 1
            self.seats = next((vote_for(line.text) for line in seat_lines), None) or vote_for(heading.text)
        for line, reason in dropped + [(line, CONTEXT) for line in eligible] + [(line, HEADING) for line in seat_lines]:
            if line is heading:
                self.table.drop(line.index, HEADING, line.text)
            elif first and (heading is None or line.index < heading.index) and len(self.table.titles) < MAX_TITLES:
                self.table.titles.append((line.index, line.text))  # above the first contest: the report's title
            else:
                self.table.drop(line.index, reason, line.text)

    def walk(self, choice) -> None:
        """`choice(line, heading, seats, party, place)` for every choice line, in order."""
        pending: list[Line] = []
        for line in self.lines:
            if line.kind == Kind.CHOICE:
                if pending:
                    self._settle(pending)
                    pending = []
                if self.heading is None:
                    self.table.drop(line.index, DropReason.NOT_A_CANDIDATE, f"{OUTSIDE}: {line.label}")
                else:
                    choice(line, self.heading.label, self.seats, self.party, self.place)
            elif line.kind == Kind.TEXT:
                pending.append(line)
            elif line.kind == Kind.BLANK:
                self.table.drop(line.index, DropReason.BLANK)
            elif line.kind in (Kind.COUNTS, Kind.OTHER):
                self.table.drop(line.index, NUMBERS if line.kind == Kind.COUNTS else COLUMNS, line.text)
        for line in pending:
            self.table.drop(line.index, CONTEXT, line.text)


LAYOUT = "a results report: contest headings with their choice lines and vote counts beneath"


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
        primary = primary or party
        table.rows.append((line.index, [office, name, primary if own is None else own, primary, place,
                                        str(seats or ""), votes]))  # fmt: skip

    sheet_party = party_name(sheet_name) if known_party(sheet_name) else ""
    walk = _Walk([line for line in lines if line.index not in set(merged.values())], table, count_columns, sheet_party)
    walk.walk(choice)
    if walk.contests < 2 or not table.rows or _reporting_units(table):
        return None
    table.titles.sort()
    place = report_place([t for _, t in table.titles], list(dict.fromkeys(row[0] for _, row in table.rows)))
    for _, row in table.rows:  # a local contest naming no place of its own is the report's place's
        if place and not row[4] and missing_place(row[0], "", ""):
            row[4] = place
    return table
