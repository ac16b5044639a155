"""The contest of each choice line, from the layout's titles and name cells.

A title gives the office, how many to vote for and, when it says, the contest's party
(`Governor (REP)`, `Governor - DEM`, `REP For U.S. Senator` when the file puts other parties'
codes before the same office). A name cell may carry the candidate's party (`Hunter Greene (REP)`,
`DEM - Cara Parmigiani`). A sheet named for a place (`Caddo`) is the place of its local contests
that name none. A block listing several parties' candidates, each party written only inside the
name, is one contest on one ballot: no party's primary (there, each party's candidates are a ballot
line of their own: a party row, a party column, a party in the title or the sheet).
"""

from openpyxl.utils import get_column_letter

from elevra_pipeline.intake.offices import missing_place
from elevra_pipeline.intake.wide_results.cells import prefix_codes, split_party
from elevra_pipeline.intake.wide_results.layout import is_place_name
from elevra_pipeline.intake.wide_results.lines import WIDE, Layout, contest_title, leading_codes


def prepare(layout: Layout, sheet_name: str, state: str, seen: dict, titled: bool = False) -> None:
    """Office, party, contest party, place and election type of each line; a choice of a wide workbook
    read already (the same contest on another sheet: by vote type, by precinct) is not read again.
    `titled`: the sheet's title lines name a place (it wins over the sheet's name)."""
    codes = prefix_codes([line.name for line in layout.lines])
    in_names: dict[str, set[str]] = {}
    for line in layout.lines:
        line.office, line.primary_party, line.vote_for = contest_title(line.office)
        name, party = split_party(line.name, codes)
        line.name = name.strip(" -")
        if party is not None and not line.drop:
            in_names.setdefault(line.office, set()).add(party)
        line.party = party if party is not None else line.party
    parties: dict[str, set[str]] = {}
    for line in layout.lines:
        if not line.drop:
            parties.setdefault(line.office, set()).add(line.party)
    leading = leading_codes([line.office for line in layout.lines], parties)
    one_ballot = _one_ballot(layout, in_names, parties)
    place = sheet_name if not titled and is_place_name(sheet_name, [line.office for line in layout.lines]) else ""
    for line in layout.lines:
        if line.office in leading:
            line.office, line.primary_party = leading[line.office]
        line.party = line.party or line.primary_party
        line.election_type = "general" if one_ballot else ""
        if place and missing_place(line.office, "", state):
            line.place = place
        if layout.kind == WIDE and line.drop in ("", "not-a-person"):
            _once(line, sheet_name, seen)


def _one_ballot(layout: Layout, in_names: dict[str, set[str]], parties: dict[str, set[str]]) -> bool:
    """Several parties' candidates in one block, each party only inside its name, and no ballot line of
    a party anywhere in the layout."""
    mixed = any(len(found) > 1 and parties[office] == found for office, found in in_names.items())
    return mixed and not any(line.primary_party or line.party_from for line in layout.lines)


def _once(line, sheet_name: str, seen: dict) -> None:
    key = (
        "results line",
        line.office.casefold(),
        line.primary_party,
        line.place.casefold(),
        " ".join(line.name.casefold().split()),
    )
    if key in seen:
        line.drop, line.detail = "repeated", f"the same choice as {seen[key]}"
    else:
        seen[key] = f"{sheet_name}!{get_column_letter(line.column + 1)}{line.row + 1}"
