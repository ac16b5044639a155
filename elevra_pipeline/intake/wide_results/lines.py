"""What a results layout holds: its choice lines, and what every other row of the sheet is.

A choice line is one choice of one contest as the layout shows it (a column of a wide block, a row
of a sideways one), with the contest's title, the party and the place the layout gives it. Every
row of the sheet that is no choice line gets a fate (a title line, a heading, vote counts), so
the intake report still accounts for each.
"""

import re
from dataclasses import dataclass, field

from elevra_pipeline.intake.wide_results.cells import PARTY_CODES

WIDE, SIDEWAYS = "wide", "sideways"
TABLE_HEADER = ["Office", "Candidate", "Party", "Primary Party", "Jurisdiction", "Vote For", "Election Type"]
_VOTE_FOR = re.compile(
    r"\s*\(\s*(?:vote\s+for\s+(?:not\s+more\s+than\s+)?(?P<n>\w+)|(?P<m>\d+))\s*\)(?P<rest>.*)$", re.I
)
_CODES = "|".join(sorted((c for c in PARTY_CODES if len(c) > 1), key=len, reverse=True))
_TITLE_PARTY = re.compile(rf"\s*\((?P<a>{_CODES})\)|\s+-\s+(?P<b>{_CODES})(?=\s*(?:\(|$))")
_LEADING_CODE = re.compile(rf"^(?P<code>{_CODES})\s+(?P<rest>\S.*)$")


@dataclass
class Line:
    row: int  # index of the sheet row that holds the choice's name
    column: int  # column of the name
    name: str
    office: str = ""
    party: str = ""
    primary_party: str = ""  # the contest's party, when its title says (`Governor (REP)`)
    place: str = ""
    vote_for: str = ""
    election_type: str = ""
    header: str = ""  # all the header words over the choice (a statistic may say so only there)
    party_from: str = ""  # where the layout put the party when not in the name: 'row', 'heading', 'sheet'
    drop: str = ""  # why the line is not passed on as a candidate row (table._DROPS)
    detail: str = ""

    def table_row(self) -> list[str]:
        return [self.office, self.name, self.party, self.primary_party, self.place, self.vote_for, self.election_type]


@dataclass
class Layout:
    kind: str  # WIDE or SIDEWAYS
    lines: list[Line] = field(default_factory=list)
    header_row: int | None = None  # the row read as the layout's header (its first names, or its units)
    titles: list[int] = field(default_factory=list)  # title lines above the first header (dates, places)
    fates: dict[int, tuple[str, str]] = field(default_factory=dict)  # other rows: (reason, detail)
    units: set[str] = field(default_factory=set)  # the row labels of its wide bands (precincts, counties)

    def fate(self, row: int, reason: str, detail: str = "") -> None:
        self.fates.setdefault(row, (reason, detail))


def contest_title(text: str) -> tuple[str, str, str]:
    """(office, contest party, vote for) from a contest title: 'GOVERNOR for MISSOURI (REP) (Vote for 1)',
    'Governor - DEM ( 1)', 'STATE SENATE, DISTRICT 15 (Vote for 1) **** - note'.
    What follows '(Vote for n)' is a note; the party tag is a known party code."""
    title = " ".join(text.split())
    vote_for = ""
    match = _VOTE_FOR.search(title)
    if match and (match["n"] or match["m"]):
        vote_for = match["n"] or match["m"]
        title = title[: match.start()].strip()
    party = ""
    match = _TITLE_PARTY.search(title)
    if match:
        code = (match["a"] or match["b"]).upper()
        party = PARTY_CODES[code] if code in PARTY_CODES else code
        title = (title[: match.start()] + " " + title[match.end() :]).strip(" ,")
    return " ".join(title.split()), party, vote_for


def leading_codes(titles: list[str], parties: dict[str, set[str]]) -> dict[str, tuple[str, str]]:
    """{title: (office, party)} for titles that start with a party code ('REP For U.S. Senator'): the
    code is the contest's party when the file puts other codes before the same office, or when it is
    the party of every choice under it ('REP IN CONGRESS' over D and R candidates is an office)."""
    split = {t: m for t in set(titles) if (m := _LEADING_CODE.match(t))}
    codes: dict[str, set[str]] = {}
    for match in split.values():
        codes.setdefault(match["rest"].casefold(), set()).add(match["code"])
    found = {}
    for title, match in split.items():
        party = PARTY_CODES[match["code"]]
        if len(codes[match["rest"].casefold()]) > 1 or parties.get(title, set()) == {party}:
            found[title] = (match["rest"], party)
    return found
