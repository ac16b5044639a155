"""Walking down a results report: which line of text is the heading of the choice lines beneath it.

The heading of a run of choice lines is the nearest line of text alone above it (above its 'Vote for N'
line when it has one). The other lines of text between two contests are context: a party's section
(`(DEMOCRATIC)`) makes the contests below that party's primary, a place (`VILLAGE OF EMERSON`) is the
place of the contests below it, a page header repeats the title lines above the first contest, column
headings hold several texts or only words like Total and Votes. Above the first contest: the title.
"""

import re
from collections import Counter

from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.intake.ballot_lines import not_a_candidate
from elevra_pipeline.intake.section_results.choices import known_party, party_name
from elevra_pipeline.intake.section_results.lines import Kind, Line, vote_for, without_vote_for
from elevra_pipeline.intake.section_results.table import ResultsTable

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


def _labelled_heading(line: Line, count_columns: set[int]) -> bool:
    """A contest named in the first cell of a row of column labels ('Presidential | TOTAL | Nemaha I …'):
    its other texts stand over the columns of counts."""
    return (
        len(line.texts) > 1
        and line.column not in count_columns
        and all(c in count_columns for c, _ in line.texts[1:])
        and not _column_words(line.label)
    )


class Walk:
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
