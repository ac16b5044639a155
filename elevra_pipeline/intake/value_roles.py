"""Column roles read from the values, where no header name says: government levels, districts.

Election-system exports often say each contest's level (`FEDERAL`, `STATE`, `County Level`,
`Municipal Level`) in a column whose name varies; the values say it plainly. A row's level decides,
with the office's words, whether its contest is the state's (`intake.offices`).
"""

import re

from elevra_pipeline.intake.offices import Level
from elevra_pipeline.intake.roles import ColumnMapping, Decision, Role

SAMPLE = 400
MOSTLY = 0.6
_LEVELS = {
    "federal": Level.FEDERAL,
    "national": Level.FEDERAL,
    "congressional": Level.FEDERAL,
    "state executive": Level.STATEWIDE,
    "state or federal": Level.STATEWIDE,
    "federal or state": Level.STATEWIDE,
    "executive": Level.STATEWIDE,
    "state": Level.STATEWIDE,
    "statewide": Level.STATEWIDE,
    "state wide": Level.STATEWIDE,
    "legislative": Level.STATE_DISTRICT,
    "state legislative": Level.STATE_DISTRICT,
    "multi county": Level.STATE_DISTRICT,
    "county": Level.LOCAL,
    "local": Level.LOCAL,
    "municipal": Level.LOCAL,
    "city": Level.LOCAL,
    "town": Level.LOCAL,
    "township": Level.LOCAL,
    "village": Level.LOCAL,
    "city and county": Level.LOCAL,
    "school": Level.UNKNOWN,  # a category, not a level: a state superintendent sits under SCHOOL too
    "district": Level.UNKNOWN,
    "special district": Level.UNKNOWN,
    "judicial": Level.UNKNOWN,
}


def level_of(value: str) -> Level | None:
    """'County Level' -> local, 'STATE' -> statewide, 'FEDERAL OFFICES' -> federal; None when not a level."""
    words = " ".join(value.casefold().replace("-", " ").split())
    for tail in (" level", " offices", " office", " races", " contests"):
        words = words.removesuffix(tail)
    return _LEVELS.get(words)


def level_column(headers: list[str], data: list[list[str]], mapping: ColumnMapping) -> int | None:
    """A column no layer mapped whose values are mostly government levels, with at least two of them."""
    for column, header in enumerate(headers):
        if not header or column in mapping.roles:
            continue
        values = [row[column] for row in data[:SAMPLE] if column < len(row) and row[column]]
        levels = [level_of(v) for v in values]
        known = [lv for lv in levels if lv is not None]
        if values and len(known) >= MOSTLY * len(values) and len(set(known)) >= 2:
            mapping.assign(column, Role.IGNORE, Decision.ALIAS)
            mapping.notes[column] = "the level of each contest (federal, state, county…): read with the office"
            return column
    return None


_DISTRICT_VALUE = re.compile(
    r"^(?:district|dist|seat|ward|position|pos|post|place|zone|division|subdistrict|group|area)\.?\s*(?:no\.?|#)?\s*"
    r"[0-9][0-9A-Z-]{0,4}\b",
    re.I,
)


def district_column(headers: list[str], data: list[list[str]], mapping: ColumnMapping) -> int | None:
    """A column no layer mapped whose values mostly name districts or seats (`District 11`, `Seat 18`):
    the district (or, beside a district column, the seat), whatever its header (`szOfficeAbbr2`)."""
    for column, header in enumerate(headers):
        if not header or column in mapping.roles:
            continue
        values = [row[column].strip() for row in data[:SAMPLE] if column < len(row) and row[column].strip()]
        districts = [v for v in values if _DISTRICT_VALUE.match(v)]
        if values and len(districts) >= MOSTLY * len(values) and len(set(districts)) >= 2:
            role = Role.SEAT if mapping.has(Role.DISTRICT) else Role.DISTRICT
            if mapping.has(role):
                return None
            mapping.assign(column, role, Decision.WORDS)
            mapping.notes[column] = "its values name districts or seats"
            return column
    return None
