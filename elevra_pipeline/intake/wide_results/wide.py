"""A wide block: choices across the columns, vote counts beneath, the contest above.

Above a run of count rows, each header row is read for what its values are: the names (the
finest row: most distinct segments, most like people), parts of the names split over two lines
(`Brian` / `Calley`), a party row of codes, a sub-header repeating a few words per choice
(`Polling` / `Total Votes`), per-column contest titles (a coarser row, often merged over a
contest's columns), or one title for the whole block (a single value, or text in the label
column). A choice merged over several columns is one choice.
"""

import re
from collections.abc import Sequence

from elevra_pipeline.intake.ballot_lines import measure_choice
from elevra_pipeline.intake.offices import Level, office_level
from elevra_pipeline.intake.wide_results.cells import (
    declared_write_in,
    is_text,
    names_party,
    not_a_person,
    party_code,
    party_name,
    person_like,
    statistic,
    total,
)
from elevra_pipeline.intake.wide_results.grid import BandView, Run, cells
from elevra_pipeline.intake.wide_results.lines import Line

_WRITE_IN_LINE = re.compile(r"^write[- ]?ins?\b", re.I)  # the ballot line of registered write-ins
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


def _kind(values: dict[int, str]) -> str:
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


def _sub_header(lower: dict[int, str], upper: dict[int, str]) -> bool:
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


def read_run(rows: Sequence[Sequence[str]], view: BandView, run: Run, sheet_party: str) -> tuple[list[Line], dict]:
    """The choice lines of one wide block, and the roles of its header rows: {row: role}."""
    count_columns = view.count_columns(rows, run)
    header = [h for h in run.header if cells(rows[h], view.columns)]
    values = {h: {c: v for c, v in cells(rows[h], count_columns) if is_text(v)} for h in header}
    kinds = {h: _kind(values[h]) for h in header}
    named = [h for h in header if kinds[h] in ("multi", "single")]
    subs = []
    while len(named) > 1 and _sub_header(values[named[-1]], values[named[-2]]):
        subs.insert(0, named.pop())
        kinds[subs[0]] = "sub"
    if not named:
        return [], {}
    best = named[-1]  # the names sit right above the counts (below titles, party lines)
    roles = {best: "names"}
    parts = [best]
    above = best - 1
    if above in values and kinds[above] in ("multi", "single") and _name_part(values[above], values[best]):
        parts.insert(0, above)
        roles[above] = "names"
    titles = [h for h in header if h < parts[0] and kinds[h] in ("multi", "single", "none")]
    party_rows = [h for h in header if kinds[h] == "party"]
    for h in party_rows:
        roles[h] = "party"
    titled = {h: {c: v for c, v in values[h].items() if not (statistic(v) or note(v))} for h in titles}
    column_title = next(
        (h for h in reversed(titles) if kinds[h] in ("multi", "single") and _covers(titled[h], count_columns)), None
    )
    block_title = _block_title(rows, view, [h for h in titles if h != column_title], count_columns)
    if column_title is not None:
        roles[column_title] = "titles"
    used = column_title is None or len(_filled(titled[column_title], max(count_columns))) < len(count_columns)
    if block_title and used and not _name_row_title(rows, view, best, count_columns):
        roles[block_title[0]] = "title"
    block = _name_row_title(rows, view, best, count_columns) or (block_title[1] if block_title else "")
    label_party = next((party_name(v) for _, v in cells(rows[best], view.labels) if names_party(v)), None)
    label_write_in = any(_WRITE_IN_LINE.match(v) for _, v in cells(rows[best], view.labels))
    lines = []
    filled = _filled(titled[column_title], max(count_columns)) if column_title is not None else {}
    choice = {}
    for c in count_columns:
        marks = [values[h].get(c, "") for h in party_rows]
        choice[c] = _name(values, parts, c) or next((m for m in marks if measure_choice(m)), "")
    for first, last, _ in segments({c: name for c, name in choice.items() if name}):
        name = choice[first]
        title = filled.get(first, "") or block
        party = next(
            (values[h][first] for h in party_rows if values[h].get(first) and not measure_choice(values[h][first])), ""
        )
        line = Line(best, first, name, title)
        line.party = party
        line.detail = "write-in" if label_write_in else ""
        line.header = " ".join(values[h].get(first, "") for h in subs + parts)
        lines.append(line)
    return lines, {"roles": roles, "label_party": label_party, "sheet_party": sheet_party}


def _name(values: dict, parts: list[int], column: int) -> str:
    return " ".join(values[h].get(column, "") for h in parts).strip()


def _name_part(upper: dict[int, str], names: dict[int, str]) -> bool:
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


def _covers(values: dict[int, str], columns: list[int]) -> bool:
    """Titles over (at least half of) the choices: written over each, or over a contest's first column."""
    return len(_filled(values)) >= 0.5 * len(columns) and len(values) >= min(2, len(columns))


def _filled(values: dict[int, str], last: int = -1) -> dict[int, str]:
    """A title written over a contest's first column only stands for the columns up to the next title."""
    filled, current = {}, ""
    for c in range(min(values, default=0), max(max(values, default=-1), last) + 1):
        current = values.get(c, current)
        filled[c] = current
    return filled


def _block_title(rows, view: BandView, candidates: list[int], count_columns) -> tuple[int, str] | None:
    """The nearest title for the whole block: text in the label column (where titles sit, left), else a
    single value over the choices."""
    found: list[tuple[int, str]] = []
    for h in reversed(candidates):
        left = [v for c, v in cells(rows[h], view.columns) if c not in count_columns and is_text(v)]
        over = {v for c, v in cells(rows[h], count_columns) if is_text(v)}
        text = left[0] if left else next(iter(over)) if len(over) == 1 else ""
        if found and (not text or h != found[-1][0] - 1 or note(text)):
            break  # a title broken over lines ends at a blank line
        if text and not note(text):
            found.append((h, text))
    return (found[0][0], " ".join(t for _, t in reversed(found))) if found else None


def _name_row_title(rows, view: BandView, row: int, count_columns) -> str:
    """A title in the names row itself, in a column that is neither a label nor a choice (left of them)."""
    for c, v in cells(rows[row], range(view.columns.start, min(count_columns, default=view.columns.stop))):
        if c not in view.labels and is_text(v):
            return v
    return ""


def statistics_table(lines: list[Line]) -> bool:
    """A block whose choices are mostly statistics (a turnout table) holds no choice at all."""
    return sum(statistic(f"{line.name} {line.header}") for line in lines) >= 0.5 * len(lines) if lines else False


def classify(line: Line, include_write_ins: bool) -> None:
    """Why a choice line is no candidate: a declared write-in, a choice that is no person, a statistic."""
    name = " ".join(line.name.split())
    if line.detail == "write-in" or declared_write_in(name):
        if not include_write_ins:
            line.drop, line.detail = "write-in", name
    elif (statistic(name) or statistic(line.header)) and not (total(name) and re.search(r"\bvotes\b", name, re.I)):
        line.drop, line.detail = "statistic", name  # 'Total Voters' is one; 'Total Votes' sums the choices
    elif not_a_person(name):
        line.drop, line.detail = "not-a-person", name
