"""What each column of an upload means: the deterministic alias layer of the column mapping.

A header may fit several roles (`Seat` is the district next to a `Position`, the office on its own),
so every alias has a rank and the mapping is assigned greedily, best rank first: each role goes to
one column and each column to one role. Later layers (the model, the admin's `columns`) only fill
or override what this layer decided.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    CANDIDATE_NAME = "candidate_name"
    FIRST_NAME = "first_name"
    MIDDLE_NAME = "middle_name"
    LAST_NAME = "last_name"
    NAME_SUFFIX = "name_suffix"
    NICKNAME = "nickname"
    OFFICE = "office"
    DISTRICT = "district"
    JURISDICTION = "jurisdiction"
    STATE = "state"
    ELECTION_DATE = "election_date"
    ELECTION_TYPE = "election_type"
    PARTY = "party"
    PRIMARY_PARTY = "primary_party"
    WEBSITE = "website"
    EMAIL = "email"
    VOTE_FOR = "vote_for"
    TERM = "term"
    STATUS = "status"  # withdrawn, removed, deceased…: not on the ballot (intake.contests)
    OFFICE_DESCRIPTION = "office_description"  # says more than a generic office or an office code
    SEAT = "seat"  # a second district column: group, seat, position number
    ELECTION_CODE = "election_code"  # e.g. 20261103-GEN: holds the date and the type
    INCUMBENT = "incumbent"  # Y/N, 1/0, YES/blank: the candidate holds the seat
    IGNORE = "ignore"


class Decision(StrEnum):
    """How a column got its role, shown to the admin next to the mapping."""

    ALIAS = "alias"
    WORDS = "header words"  # no alias fits the whole header; its head word does (`NameFirst`: first)
    MODEL = "model"
    OVERRIDE = "override"


# role -> aliases, best first; an alias listed under two roles ranks by its position in each.
ALIASES: dict[Role, tuple[str, ...]] = {
    Role.CANDIDATE_NAME: (
        "candidate name",
        "candidate",
        "name on ballot",
        "ballot name",
        "candidate full name",
        "full name",
        "name",
        "candidate s name",
        "nominee",
    ),
    Role.FIRST_NAME: ("first name", "first", "given name", "fname", "first nm"),
    Role.MIDDLE_NAME: ("middle name", "middle", "middle initial", "mi"),
    Role.LAST_NAME: ("last name", "last", "surname", "family name", "lname", "last nm"),
    Role.NAME_SUFFIX: ("name suffix lbl", "name suffix", "suffix", "sfx"),
    Role.NICKNAME: ("nick name", "nickname", "preferred name"),
    Role.OFFICE: (
        "office",
        "position",
        "office name",
        "contest name",
        "contest",
        "race",
        "office position",
        "office sought",
        "office title",
        "race name",
        "seat",
    ),
    Role.DISTRICT: (
        "district",
        "dist",
        "seat",
        "post",
        "ward",
        "district number",
        "zone",
        "subdistrict",
        "precinct",
        "division",
    ),
    Role.JURISDICTION: (
        "jurisdiction",
        "jurisdiction name",
        "locality",
        "municipality",
        "city",
        "town",
        "location",
        "county name",
        "county",
        "place",
    ),
    Role.STATE: ("state", "state name", "st", "state code"),
    Role.ELECTION_DATE: (
        "election date",
        "election dt",
        "election day",
        "electiondate",
        "date of election",
        "date",
        "election",
    ),
    Role.ELECTION_TYPE: ("election type", "race type", "type"),
    Role.PARTY: (
        "party",
        "party candidate",
        "party affiliation",
        "affiliation",
        "political party",
        "party name",
        "candidate party",
    ),
    Role.PRIMARY_PARTY: ("party contest", "primary party", "primary"),
    Role.WEBSITE: ("website", "campaign website", "web site", "url", "campaign url", "site", "link", "web"),
    Role.EMAIL: ("email", "e mail", "campaign email", "contact email"),
    Role.VOTE_FOR: ("vote for", "seats", "number of seats", "seats open"),
    Role.TERM: ("term", "term length", "term years"),
    Role.STATUS: (
        "status",
        "candidate status",
        "filing status",
        "ballot status",
        "cand status",
        "qualification status",
        "candidacy status",
    ),
    Role.OFFICE_DESCRIPTION: (
        "office description",
        "contest description",
        "office desc",
        "race description",
        "office title description",
        "description",
        "office name description",
    ),
    Role.SEAT: ("group", "seat number", "position number", "seat", "post", "judicial group", "pos"),
    Role.ELECTION_CODE: ("election code", "election cd", "elec code", "election id", "election name code"),
    Role.INCUMBENT: ("incumbent", "is incumbent", "incumbent y n", "incumbent flag", "incumbency", "inc"),
}
REQUIRED_HINT = "a candidate name (or first and last name) column and an office (or contest) column"


_TYPE_PREFIX = re.compile(r"^(?:sz|str|dt|s|i|n|b|f)(?=[A-Z][a-z])")  # Hungarian notation: szCandidateName
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalize_header(header: object) -> str:
    """'Candidate Name', 'candidate_name', 'CandidateName' and 'szCandidateName' (an election system's
    export) all read as 'candidate name'; a note in parentheses is left out."""
    text = _CAMEL.sub(" ", _TYPE_PREFIX.sub("", str(header).strip()))
    text = re.sub(r"\s*\([^)]*\)\s*", " ", text).strip() or text  # 'County (If Local Contest)' is the county
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()


_RANKED: dict[str, list[tuple[int, Role]]] = {}
for _role, _aliases in ALIASES.items():
    for _rank, _alias in enumerate(_aliases):
        _RANKED.setdefault(_alias, []).append((_rank, _role))


@dataclass
class ColumnMapping:
    """Column index -> role for one sheet, with how each role was decided and what was left open."""

    roles: dict[int, Role] = field(default_factory=dict)
    decided_by: dict[int, Decision] = field(default_factory=dict)
    ambiguous: list[Role] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)  # column -> why it is not used as proposed

    def column_of(self, role: Role) -> int | None:
        return next((c for c, r in self.roles.items() if r == role), None)

    def has(self, role: Role) -> bool:
        return self.column_of(role) is not None

    def missing_required(self) -> list[str]:
        missing = []
        if not (self.has(Role.CANDIDATE_NAME) or self.has(Role.LAST_NAME)):
            missing.append("candidate name")
        if not self.has(Role.OFFICE):
            missing.append("office")
        return missing

    def assign(self, column: int, role: Role, how: Decision) -> None:
        """Give `column` the role, taking the role away from any other column (later layers win)."""
        if role != Role.IGNORE:
            for other in [c for c, r in self.roles.items() if r == role and c != column]:
                del self.roles[other]
                del self.decided_by[other]
        self.roles[column] = role
        self.decided_by[column] = how

    def describe(self, headers: list[str]) -> list[dict]:
        """Every column of the sheet: its role and how it was decided, or why it is not used."""
        described = []
        for column, header in enumerate(headers):
            if not header:
                continue
            role = self.roles.get(column)
            if role is not None and role != Role.IGNORE:
                entry = {"column": header, "role": str(role), "decided_by": str(self.decided_by[column])}
            else:
                why = self.notes.get(column) or (
                    "ignored" if role == Role.IGNORE else "not a known column: kept as context for the model"
                )
                entry = {"column": header, "role": "unused", "decided_by": "unused", "why": why}
            described.append(entry)
        return described


def alias_hits(headers: list[str]) -> int:
    """How many cells of a row read as known header names (finds the header row under a title)."""
    return sum(normalize_header(h) in _RANKED for h in headers if h)


def next_by_alias(headers: list[str], mapping: ColumnMapping, role: Role) -> int | None:
    """The best-ranked column no layer mapped whose header is an alias of `role` (after a check refused
    the first: `JurisdictionName` holds levels, `County` holds the places)."""
    ranked = sorted(
        (rank, column)
        for column, header in enumerate(headers)
        if column not in mapping.roles
        for rank, r in _RANKED.get(normalize_header(header), [])
        if r == role
    )
    return ranked[0][1] if ranked else None


def map_by_alias(headers: list[str]) -> ColumnMapping:
    options = sorted(
        (rank, column, role)
        for column, header in enumerate(headers)
        for rank, role in _RANKED.get(normalize_header(header), [])
    )
    mapping = ColumnMapping()
    for rank, column, role in options:
        if column in mapping.roles:
            continue
        holder = mapping.column_of(role)
        if holder is None:
            mapping.assign(column, role, Decision.ALIAS)
        elif role in (Role.CANDIDATE_NAME, Role.OFFICE) and normalize_header(headers[holder]) == normalize_header(
            headers[column]
        ):
            mapping.ambiguous.append(role)  # two columns with one name: which is it?
    if mapping.has(Role.SEAT) and not mapping.has(Role.DISTRICT):  # a lone `Seat`/`Post` is the district
        mapping.assign(mapping.column_of(Role.SEAT), Role.DISTRICT, Decision.ALIAS)
    if not mapping.has(Role.OFFICE) and mapping.has(Role.OFFICE_DESCRIPTION):
        mapping.assign(mapping.column_of(Role.OFFICE_DESCRIPTION), Role.OFFICE, Decision.ALIAS)
    if not mapping.has(Role.OFFICE):  # `Seat` on its own is the office, not a district of nothing
        for rank, column, role in options:
            if role == Role.OFFICE and mapping.roles.get(column) not in (Role.CANDIDATE_NAME, Role.LAST_NAME):
                mapping.assign(column, Role.OFFICE, Decision.ALIAS)
                break
    return mapping


# The head word of a header no alias knows says its role: `NameFirst` (first), `RaceJurisdictionName`
# (jurisdiction), `Party Preference` (party). Read from the last word back, past words that only say
# how the value is shown; a word saying the column is an identifier or a kind leaves it unmapped.
_HEAD_WORDS: dict[str, Role] = {
    **dict.fromkeys(("first", "given", "fname", "firstname"), Role.FIRST_NAME),
    **dict.fromkeys(("last", "surname", "lname", "lastname", "family"), Role.LAST_NAME),
    **dict.fromkeys(("middle", "mname", "middlename"), Role.MIDDLE_NAME),
    **dict.fromkeys(("suffix", "sfx"), Role.NAME_SUFFIX),
    **dict.fromkeys(("nickname", "nick"), Role.NICKNAME),
    **dict.fromkeys(("party", "affiliation", "preference"), Role.PARTY),
    **dict.fromkeys(("status",), Role.STATUS),
    **dict.fromkeys(("jurisdiction", "municipality", "locality", "county", "parish"), Role.JURISDICTION),
    **dict.fromkeys(("district", "ward"), Role.DISTRICT),
    **dict.fromkeys(("office", "race", "contest"), Role.OFFICE),
    **dict.fromkeys(("candidate", "nominee", "choice", "selection"), Role.CANDIDATE_NAME),
    **dict.fromkeys(("website", "url", "web"), Role.WEBSITE),
    **dict.fromkeys(("email",), Role.EMAIL),
    **dict.fromkeys(("incumbent",), Role.INCUMBENT),
}
_SHOWN_AS = {"name", "nm", "desc", "description", "display", "text", "label", "full", "title", "value", "of", "the"}
_NOT_A_VALUE = {"id", "code", "cd", "type", "order", "key", "count", "number", "num", "no", "seq", "sort", "is"}
_NOT_A_VALUE |= {"date", "dt", "phone", "fax", "address", "zip", "votes", "pct", "percent", "total"}


def head_role(header: str) -> Role | None:
    """The role a header's head word gives, or None (see `_HEAD_WORDS`)."""
    words = normalize_header(header).split()
    if {"election"} <= set(words) and set(words) & {"date", "dt", "day"}:
        return Role.ELECTION_DATE
    if set(words) & _NOT_A_VALUE:
        return None
    for word in reversed(words):
        if word in _HEAD_WORDS:
            return _HEAD_WORDS[word]
        if word not in _SHOWN_AS:
            return None
    return None


def map_by_words(headers: list[str], mapping: ColumnMapping) -> None:
    """Columns no alias mapped take the role their header's head word gives, if no column has it."""
    for column, header in enumerate(headers):
        if not header or column in mapping.roles:
            continue
        role = head_role(header)
        if role is not None and not mapping.has(role):
            mapping.assign(column, role, Decision.WORDS)
