"""Column roles read from the values, where no header name says: a column of government levels.

Election-system exports often say each contest's level (`FEDERAL`, `STATE`, `County Level`,
`Municipal Level`) in a column whose name varies; the values say it plainly. A row's level decides,
with the office's words, whether its contest is the state's (`intake.offices`).
"""

from elevra_pipeline.intake.offices import Level
from elevra_pipeline.intake.roles import ColumnMapping, Decision, Role

SAMPLE = 400
MOSTLY = 0.6
_LEVELS = {
    "federal": Level.FEDERAL,
    "national": Level.FEDERAL,
    "congressional": Level.FEDERAL,
    "state executive": Level.STATEWIDE,
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
