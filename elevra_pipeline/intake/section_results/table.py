"""What a results layout becomes: an ordinary table (title lines, a header row, one row per choice
line) that the list reader reads like any list, and where each of its rows came from.

Every row of the sheet ends in exactly one place: a table row (read, then kept or dropped by the
reader), or a row dropped here with its reason. After the reader has run, its drops and its rows are
told in the sheet's own row numbers (`restore`).
"""

from dataclasses import dataclass, field

from elevra_pipeline.intake.accounting import IntakeReport
from elevra_pipeline.intake.sheets import RawSheet

HEADER = ["Office", "Candidate", "Party", "Primary Party", "Jurisdiction", "Vote For", "Votes"]


@dataclass
class ResultsTable:
    layout: str  # what the sheet is, said to the admin ('a results report: contest headings …')
    header: list[str]
    header_index: int | None = None  # the sheet's own header row, when it has one
    titles: list[tuple[int, str]] = field(default_factory=list)  # (row index, text) above the table
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (row index, cells)
    drops: list[tuple[int, str, str]] = field(default_factory=list)  # (row index, reason, detail)

    def drop(self, index: int, reason: str, detail: str = "") -> None:
        self.drops.append((index, reason, detail[:200]))

    def sheet(self, name: str) -> tuple[RawSheet, list[int]]:
        """The table as a sheet, and the sheet row index of each of its rows."""
        rows = [[text] for _, text in self.titles] + [self.header] + [cells for _, cells in self.rows]
        header_source = self.header_index if self.header_index is not None else -1
        sources = [i for i, _ in self.titles] + [header_source] + [i for i, _ in self.rows]
        return RawSheet(name, rows), sources

    def restore(self, name: str, report: IntakeReport, start: int, sources: list[int], rows: list[dict]) -> None:
        """The reader's drops (from `report.dropped[start:]`) and rows in the sheet's row numbers, with
        this table's own drops, in row order."""
        drops = [(i, reason, detail) for i, reason, detail in self.drops]
        for dropped in report.dropped[start:]:
            for number in range(dropped.row, (dropped.last_row or dropped.row) + 1):
                if sources[number - 1] >= 0:  # a header made here is no row of the sheet
                    drops.append((sources[number - 1], dropped.reason, dropped.detail))
        del report.dropped[start:]
        for index, reason, detail in sorted(drops, key=lambda d: d[0]):
            report.drop(name, index + 1, reason, detail)
        for row in rows:
            row["source"]["row"] = sources[row["source"]["row"] - 1] + 1
