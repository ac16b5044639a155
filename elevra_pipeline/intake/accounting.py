"""Every row read ends in exactly one outcome; these are the intake's outcomes and its report.

Intake decides `header` and every `dropped` reason; the rows it keeps go into election batches,
where they end as candidate records or as rows needing re-upload (see `row_outcomes`).
"""

from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class DropReason(StrEnum):
    BLANK = "blank row"
    ABOVE_HEADER = "above the header row (title or note)"
    REPEATED_HEADER = "repeated header row"
    NO_CANDIDATE = "no candidate name"
    DUPLICATE = "exact duplicate of an earlier row"
    HIDDEN_SHEET = "ignored sheet: hidden in the workbook"
    NO_TABLE = "ignored sheet: no header row found"
    UNMAPPED_SHEET = "ignored sheet: no candidate name or office column"
    NOT_IN_MODEL_OUTPUT = "no candidate record was made from this row"
    MARKED_UNUSED = "marked 'do not use' in the list"
    NOT_ON_BALLOT = "not on the ballot (its status says so; include_not_on_ballot keeps it)"
    RESULT_SHEET = "a result workbook sent back: only its Needs Re-upload sheet is read"
    NOT_A_CANDIDATE = "not a candidate (a write-in line, no preference, a total or over/under votes)"
    REPEATED_LINE = "another line of a candidate already read in the same contest (e.g. the next precinct's)"
    MEASURE_CHOICE = "a ballot measure's choice (Yes/No…): the contest is a measure, not an election with candidates"
    RESULTS_UNREAD = "ignored sheet: a results layout whose races could not be told apart (the sheet's reason says why)"
    VOTE_COUNTS = "vote counts of a results layout (its candidates are read from its headings)"
    LAYOUT_HEADING = "a heading of a results layout (a contest title, a party line, the column headings)"
    STATISTIC = "a statistic of a results layout (registered voters, ballots cast, turnout), not a choice"
    LAYOUT_NOTE = "a note of a results layout (a line with no choice and no counts)"


@dataclass
class DroppedRow:
    sheet: str
    row: int
    reason: str
    detail: str = ""
    last_row: int | None = None  # a run of rows with the same reason, e.g. 40 blank rows

    @property
    def count(self) -> int:
        return (self.last_row or self.row) - self.row + 1

    @property
    def rows_label(self) -> str:
        return f"{self.row}" if not self.last_row or self.last_row == self.row else f"{self.row}-{self.last_row}"


@dataclass
class SheetReport:
    name: str
    rows_read: int
    status: str = "imported"  # imported | ignored
    reason: str = ""
    header_row: int | None = None
    mapping: list[dict] = field(default_factory=list)
    mapping_note: str = ""
    defaults_used: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    candidate_rows: int = 0


@dataclass
class IntakeReport:
    source: dict = field(default_factory=dict)  # encoding and delimiter of a CSV
    sheets: list[SheetReport] = field(default_factory=list)
    dropped: list[DroppedRow] = field(default_factory=list)
    # a result workbook sent back: the upload it claims to come from (checked before it is believed)
    returned_from: dict | None = None
    # people the list marks not on the ballot: {name, status, office, election_date}, to update a stored candidate
    not_on_ballot: list[dict] = field(default_factory=list)
    # ballot measures the list holds (Yes/No choices): {sheet, contest, choices}; reported, never stored as elections
    measures: list[dict] = field(default_factory=list)

    def drop(self, sheet: str, row: int, reason: str, detail: str = "") -> None:
        """Record a dropped row; consecutive rows with one reason and no detail become one range."""
        last = self.dropped[-1] if self.dropped else None
        if (
            last
            and not detail
            and not last.detail
            and last.sheet == sheet
            and last.reason == reason
            and (last.last_row or last.row) == row - 1
        ):
            last.last_row = row
        else:
            self.dropped.append(DroppedRow(sheet, row, reason, detail))

    @property
    def rows_read(self) -> int:
        return sum(s.rows_read for s in self.sheets)

    @property
    def header_rows(self) -> int:
        return sum(s.header_row is not None and s.status == "imported" for s in self.sheets)

    def dropped_by_reason(self) -> dict[str, int]:
        counts: Counter = Counter()
        for d in self.dropped:
            counts[d.reason] += d.count
        return dict(counts)

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "sheets": [asdict(s) for s in self.sheets],
            "dropped": [asdict(d) for d in self.dropped],
            "rows_read": self.rows_read,
            "header_rows": self.header_rows,
            "dropped_by_reason": self.dropped_by_reason(),
            "returned_from": self.returned_from,
            "not_on_ballot": self.not_on_ballot,
            "measures": self.measures,
        }
