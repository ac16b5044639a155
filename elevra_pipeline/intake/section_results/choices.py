"""A choice line's label as a person and a party: results reports write the party in the label.

`DEM JOSEPH R. BIDEN, KAMALA D. HARRIS`, `DEM - HILLARY CLINTON`, `(R) Trump \\ Pence`,
`Mark Udall - Democratic`: the party is a code from the vocabulary below (or the code the line's own
party cell repeats), before the name or, when the sheet writes 'Name - Party' on several lines of
known parties, after it. A code not in the vocabulary is kept as published. `Write-in: Jo Roe` is a
declared write-in: a person, but not printed on the ballot.
"""

import re

from elevra_pipeline.intake.ballot_lines import not_a_candidate

NO_PARTY = ""
PARTY_CODES = {
    "D": "Democratic", "DEM": "Democratic", "DEMOCRAT": "Democratic", "R": "Republican", "REP": "Republican",
    "GOP": "Republican", "L": "Libertarian", "LIB": "Libertarian", "LBT": "Libertarian", "LBR": "Libertarian",
    "G": "Green", "GRN": "Green", "GRE": "Green", "CON": "Constitution", "CST": "Constitution",
    "I": "Independent", "IND": "Independent", "IAP": "Independent American", "AIP": "American Independent",
    "PF": "Peace and Freedom", "P&F": "Peace and Freedom", "UUP": "United Utah", "DFL": "Democratic-Farmer-Labor",
    "WF": "Working Families", "WFP": "Working Families", "REF": "Reform", "SOC": "Socialist", "LPF": "Libertarian",
    "CPF": "Constitution", "PSL": "Party for Socialism and Liberation", "NPP": "No Party Preference",
    "NPA": NO_PARTY, "NP": NO_PARTY, "NON": NO_PARTY, "NOP": NO_PARTY, "UNA": NO_PARTY, "UNAFFILIATED": NO_PARTY,
    "NONPARTISAN": NO_PARTY,
}  # fmt: skip
_FULL_NAMES = {name.casefold(): name for name in PARTY_CODES.values() if name} | {"democrat": "Democratic"}
_PREFIX = re.compile(
    r"^\((?P<paren>[A-Za-z&]{1,4})\)\s*(?P<rest>.+)$|^(?P<code>[A-Z&]{2,4})(?:\s+[-–]\s*|\s+)(?P<name>.+)$"
)
_SUFFIX = re.compile(r"^(?P<name>.+?)(?:\s+[-–]\s*|\s*[-–]\s+)(?P<party>[A-Za-z][A-Za-z .'&]{1,40})$")
_WRITE_IN = re.compile(r"^write[- ]?in\b[\s:–-]*(?P<rest>.*)$", re.I)


def party_name(code: str) -> str:
    """A code written out (`DEM` -> `Democratic`, `NON` -> no party); any other as published."""
    text = code.strip()
    key = text.upper().rstrip(".")
    if key in PARTY_CODES:
        return PARTY_CODES[key]
    if text.casefold() in ("unaffiliated", "nonpartisan", "non-partisan", "no party", "none"):
        return NO_PARTY
    return _FULL_NAMES.get(text.casefold().removesuffix(" party"), text)


def known_party(text: str) -> bool:
    words = text.strip().casefold().removesuffix(" party")
    return words.upper() in PARTY_CODES or words in _FULL_NAMES or words == "unaffiliated"


def party_suffixes(labels: list[str]) -> bool:
    """The sheet writes 'Name - Party': several labels end with a known party after a dash."""
    people = [label for label in labels if not not_a_candidate(label)]
    return sum(1 for label in people if (m := _SUFFIX.match(label)) and known_party(m.group("party"))) >= 3


_BALLOT_ACCESS = re.compile(r"\s*(?:[-–]\s*|\()by petition\)?\s*$", re.I)


def split_choice(label: str, party_cell: str = "", suffixes: bool = False) -> tuple[str, str | None]:
    """(name, party) of a choice line; party None when the line gives none. How the person got on the
    ballot ('Ted Japp - by Petition') is no part of the name."""
    label = _BALLOT_ACCESS.sub("", label)
    match = _PREFIX.match(label)
    if match:
        code, rest = (
            (match.group("paren"), match.group("rest")) if match.group("paren") else match.group("code", "name")
        )
        if code.upper() in PARTY_CODES or (party_cell and code.casefold() == party_cell.strip().casefold()):
            return rest.strip(), party_name(code)
    if suffixes and (match := _SUFFIX.match(label)) and not re.search(r"\d", match.group("party")):
        return match.group("name").strip(), party_name(match.group("party"))
    return label, party_name(party_cell) if party_cell else None


_TICKET_OFFICE = re.compile(r"\b(?:vice[- ]president|lieutenant governor|lt\.? governor)\b", re.I)


def ticket(name: str, office: str) -> str:
    """A ticket's two people written 'PRESIDENT, VICE PRESIDENT' under a ticket office read as two
    names ('JOSEPH R. BIDEN / KAMALA D. HARRIS'), not as 'LAST, FIRST'."""
    parts = name.split(",")
    if len(parts) == 2 and _TICKET_OFFICE.search(office) and all(len(p.split()) >= 2 for p in parts):
        return " / ".join(p.strip() for p in parts)
    return name


def named_write_in(label: str) -> str | None:
    """The person of a declared write-in line (`Write-in: Jo Roe`, `Write-In Robert Corkin`), else None
    (`Write-In Totals`, `Write-in: Not Assigned` and `WRITE-IN 124` name nobody)."""
    match = _WRITE_IN.match(label.strip())
    if not match:
        return None
    rest = match.group("rest").strip()
    words = re.findall(r"[^\W\d_][\w.'’-]*", rest)
    if len(words) < 2 or not_a_candidate(rest) or re.search(r"\d", rest):
        return None
    return rest
