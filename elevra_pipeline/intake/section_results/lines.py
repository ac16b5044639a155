"""A results report's rows read as lines: a label with vote counts beside it, a line of text alone
(a contest heading, a title, a note), a line of counts alone, a blank.

Evidence comes from the values, not from where a report puts them: a count is a number, a percent
or a ratio (`1,326 / 0`); a label is the first cell holding letters. A printed report saved as
text keeps a choice on one line with dot leaders (`BOB CASEY JR . . . . 1 50.00`): the label is cut
from its counts. A heading repeated across merged cells is one text.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum

_NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?"
_COUNT = re.compile(rf"^(?:{_NUMBER}%?|{_NUMBER} ?/ ?{_NUMBER}|n/?a)$", re.I)
_LEADERS = re.compile(r"^(?P<label>.*?[^\s.])\s*\.?(?:\s*\.){2,}\s*(?P<counts>(?:[\d,.%]+\s*)+)$")
_VOTE_FOR = re.compile(
    r"\(?\bvote\s+for\s+(?:not\s+more\s+than\s+|up\s+to\s+|no\s+more\s+than\s+)?"
    r"(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten)\b\)?",
    re.I,
)
_WORD_NUMBERS = dict(zip("one two three four five six seven eight nine ten".split(), range(1, 11)))


class Kind(StrEnum):
    BLANK = "blank"
    CHOICE = "choice"  # a label, then counts
    TEXT = "text"  # text alone: a heading, a title, a note, column headings
    COUNTS = "counts"  # counts alone (the counts of the label on the line above, in some tallies)
    OTHER = "other"  # counts first, then text: a line of column headings (`1, 2, … Prov, Total`)


def is_count(cell: str) -> bool:
    return (
        bool(cell)
        and any(c.isdigit() for c in cell)
        and _COUNT.match(cell.strip()) is not None
        or (cell.strip().casefold() in ("n/a", "na"))
    )


def has_letters(cell: str) -> bool:
    return any(c.isalpha() for c in cell)


def vote_for(text: str) -> int | None:
    """The seats a heading or a line says ('Vote for 2', 'VOTE FOR NOT MORE THAN  1', 'Vote for FOUR')."""
    match = _VOTE_FOR.search(text)
    if not match:
        return None
    n = match.group("n").casefold()
    return int(n) if n.isdigit() else _WORD_NUMBERS[n]


def without_vote_for(text: str) -> str:
    return " ".join(_VOTE_FOR.sub(" ", text).split()).strip(" -,")


@dataclass
class Line:
    index: int  # the row's index in the sheet (row number - 1)
    cells: list[str]
    texts: list[tuple[int, str]] = field(default_factory=list)  # (column, text), each text once
    counts: list[tuple[int, str]] = field(default_factory=list)
    kind: Kind = Kind.BLANK

    @property
    def label(self) -> str:
        return self.texts[0][1] if self.texts else ""

    @property
    def column(self) -> int:
        """The column of the line's first text."""
        return self.texts[0][0] if self.texts else -1

    @property
    def text(self) -> str:
        return " ".join(t for _, t in self.texts)


def _cells(row) -> list[str]:
    cells = [c.strip() for c in row]
    filled = [c for c in cells if c]
    if len(filled) == 1 and (match := _LEADERS.match(filled[0])):
        return [match.group("label").strip(), *match.group("counts").split()]
    return cells


def read_line(index: int, row) -> Line:
    line = Line(index, _cells(row))
    seen = set()
    for column, cell in enumerate(line.cells):
        if not cell:
            continue
        if is_count(cell):
            line.counts.append((column, cell))
        elif has_letters(cell) and cell.casefold() not in seen:
            seen.add(cell.casefold())
            line.texts.append((column, cell))
    first = next((c for c, cell in enumerate(line.cells) if cell and (is_count(cell) or has_letters(cell))), None)
    if first is None:
        line.kind = Kind.BLANK if not any(line.cells) else Kind.OTHER
    elif not line.texts:
        line.kind = Kind.COUNTS
    elif not line.counts:
        line.kind = Kind.TEXT
    else:
        line.kind = Kind.CHOICE if line.texts[0][0] <= line.counts[0][0] else Kind.OTHER
    return line
