"""Header names vary between spreadsheets: map the common variants onto our canonical fields."""

import re

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "jurisdiction": ("jurisdiction", "location", "city", "county", "municipality", "town",
                     "state", "jurisdiction name", "locality"),
    "office": ("office", "position", "seat", "office name", "race", "contest", "office position"),
    "district": ("district", "dist", "ward", "district number", "zone", "precinct"),
    "election_date": ("election date", "date", "election day", "electiondate", "date of election"),
    "candidate_name": ("candidate", "candidate name", "name", "full name", "candidate full name"),
    "party": ("party", "party affiliation", "affiliation", "political party"),
    "website": ("website", "campaign website", "url", "web site", "campaign url", "site", "link"),
    "email": ("email", "e mail", "campaign email", "contact email"),
    "election_type": ("election type", "type", "race type"),
}
REQUIRED_FIELDS = ("candidate_name", "office")


def normalize_header(header: object) -> str:
    text = re.sub(r"[^a-z0-9]+", " ", str(header).lower())
    return re.sub(r"\s+", " ", text).strip()


_LOOKUP = {alias: field for field, aliases in FIELD_ALIASES.items() for alias in aliases}


def map_headers(headers: list[object]) -> dict[str, str]:
    """Original header -> canonical field, first match wins; unknown headers are kept as extras."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        field = _LOOKUP.get(normalize_header(header))
        if field and field not in taken:
            mapping[str(header)] = field
            taken.add(field)
    return mapping
