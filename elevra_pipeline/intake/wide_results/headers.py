"""The header rows above a wide block's counts, each read for what its values are.

The names sit right above the counts (a long name may break over two lines, first names may sit
over last names); above them a party row of codes (`REP`, `D`), contest titles over the columns
(merged over a contest's columns, or written over its first column only), or one title for the
block; under them a sub-header may repeat a few words under every name (`Polling` / `Total Votes`).
Ballot positions (`1A`, `2C`) and page marks are no titles.
"""

import re

from elevra_pipeline.intake.ballot_lines import measure_choice
from elevra_pipeline.intake.offices import Level, office_level
from elevra_pipeline.intake.wide_results.cells import names_party, not_a_person, party_code, person_like, statistic

_POSITION = re.compile(r"^(?=.*\d)[A-Za-z0-9]{1,4}$")
_NOTE = re.compile(r"^(?:page\b.*|\d{4}-\d{2}-\d{2}(?:T[\d:.]+)?|\d{1,2}/\d{1,2}/\d{2,4}.*)$", re.I)


def note(text: str) -> bool:
    """A page number or a print time: no title."""
    return bool(_NOTE.match(text)) or all(_NOTE.match(part) for part in text.split("  ") if part)


def segments(values: dict[int, str]) -> list[tuple[int, int, str]]:
    """(first column, last column, value) of each stretch of one value (an empty cell ends a stretch)."""
    found: list[tuple[int, int, str]] = []
    for c in sorted(values):
        if found and found[-1][2] == values[c] and found[-1][1] == c - 1:
            found[-1] = (found[-1][0], c, values[c])
        else:
            found.append((c, c, values[c]))
    return found


def header_kind(values: dict[int, str]) -> str:
    """none, note, codes (ballot positions), party (codes over the choices), single (one value) or multi."""
    texts = list(values.values())
    if not texts:
        return "none"
    if all(_NOTE.match(t) for t in texts):
        return "note"
    distinct = set(texts)
    if sum(bool(_POSITION.match(t)) for t in texts) >= 0.8 * len(texts):
        return "codes"  # ballot positions ('1A', '2C') under the names
    parties = [t for t in texts if party_code(t) is not None or names_party(t)]
    codes = parties + [t for t in texts if measure_choice(t)]
    if all(map(measure_choice, texts)):
        return "multi"  # Yes / No under each question
    if parties and len(codes) >= 0.8 * len(texts):
        return "party"
    if len(distinct) == 1:
        return "single"
    return "multi"


def sub_header(lower: dict[int, str], upper: dict[int, str]) -> bool:
    """'Polling' / 'Total Votes' under every name: words that split the stretches of the row above (a
    name merged over its columns) and are no names (the same few words again and again, or no person)."""
    low, up = segments(lower), segments(upper)
    wide_up = [(a, b) for a, b, _ in up if b > a]
    split = sum(1 for a, b in wide_up if sum(1 for c, d, _ in low if a <= c and d <= b) > 1)
    if not wide_up or split < 0.5 * len(wide_up):
        return False
    words = [value for _, _, value in low if not (not_a_person(value) or statistic(value) or measure_choice(value))]
    repeated = sum(1 for value in words if words.count(value) > 1)
    return bool(words) and (repeated >= 0.5 * len(words) or not any(map(person_like, words)))


def name_part(upper: dict[int, str], names: dict[int, str]) -> bool:
    """First names over last names, or a long name broken over two lines: over named columns only (not
    all of them: a title covers them all), none spanning two names, and read together they are people."""
    over = {c: v for c, v in upper.items() if c in names}
    if not over or len(over) >= 0.9 * len(names):
        return False
    starts = {a for a, _, _ in segments(names)}
    spanning = [(a, b) for a, b, _ in segments(over) if any(a < c <= b for c in starts)]
    if any(office_level(v) != Level.UNKNOWN for v in over.values()):
        return False  # a contest's title over its first column
    joined = [f"{v} {names[c]}" for c, v in over.items() if not (statistic(v) or not_a_person(names[c]))]
    people = sum(map(person_like, joined))
    return bool(joined) and people >= 0.8 * len(joined) and len(spanning) <= 0.1 * len(over)


def covers(values: dict[int, str], columns: list[int]) -> bool:
    """Titles over (at least half of) the choices: written over each, or over a contest's first column."""
    return len(filled(values)) >= 0.5 * len(columns) and len(values) >= min(2, len(columns))


def filled(values: dict[int, str], last: int = -1) -> dict[int, str]:
    """A title written over a contest's first column only stands for the columns up to the next title."""
    filled, current = {}, ""
    for c in range(min(values, default=0), max(max(values, default=-1), last) + 1):
        current = values.get(c, current)
        filled[c] = current
    return filled
