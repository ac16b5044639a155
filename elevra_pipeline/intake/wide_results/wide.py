"""A wide block: choices across the columns, vote counts beneath, the contest above (`headers`).

A choice merged over several columns is one choice. Its contest is the title over its column, else
the block's title (text in the label column above the names, a single value over all the choices, a
title broken over lines), else a title in the names row left of the choices. Its party is a party
row's code, or the ballot line the names row is labelled with (`Democratic`), or the sheet's. A
write-in ballot line's names are registered write-ins, not printed on the ballot.
"""

import re
from collections.abc import Sequence

from elevra_pipeline.intake.ballot_lines import measure_choice
from elevra_pipeline.intake.wide_results.cells import (
    declared_write_in,
    is_text,
    names_party,
    not_a_person,
    party_name,
    statistic,
    total,
)
from elevra_pipeline.intake.wide_results.grid import BandView, Run, cells
from elevra_pipeline.intake.wide_results.headers import (
    covers,
    filled,
    header_kind,
    name_part,
    note,
    segments,
    sub_header,
)
from elevra_pipeline.intake.wide_results.lines import Line

_WRITE_IN_LINE = re.compile(r"^write[- ]?ins?\b", re.I)  # the ballot line of registered write-ins


def read_run(rows: Sequence[Sequence[str]], view: BandView, run: Run, sheet_party: str) -> tuple[list[Line], dict]:
    """The choice lines of one wide block, and the roles of its header rows: {row: role}."""
    count_columns = view.count_columns(rows, run)
    header = [h for h in run.header if cells(rows[h], view.columns)]
    values = {h: {c: v for c, v in cells(rows[h], count_columns) if is_text(v)} for h in header}
    kinds = {h: header_kind(values[h]) for h in header}
    named = [h for h in header if kinds[h] in ("multi", "single")]
    subs = []
    while len(named) > 1 and sub_header(values[named[-1]], values[named[-2]]):
        subs.insert(0, named.pop())
        kinds[subs[0]] = "sub"
    if not named:
        return [], {}
    best = named[-1]  # the names sit right above the counts (below titles, party lines)
    roles = {best: "names"}
    parts = [best]
    above = best - 1
    if above in values and kinds[above] in ("multi", "single") and name_part(values[above], values[best]):
        parts.insert(0, above)
        roles[above] = "names"
    titles = [h for h in header if h < parts[0] and kinds[h] in ("multi", "single", "none")]
    party_rows = [h for h in header if kinds[h] == "party"]
    for h in party_rows:
        roles[h] = "party"
    titled = {h: {c: v for c, v in values[h].items() if not (statistic(v) or note(v))} for h in titles}
    column_title = next(
        (h for h in reversed(titles) if kinds[h] in ("multi", "single") and covers(titled[h], count_columns)), None
    )
    block_title = _block_title(rows, view, [h for h in titles if h != column_title], count_columns)
    if column_title is not None:
        roles[column_title] = "titles"
    used = column_title is None or len(filled(titled[column_title], max(count_columns))) < len(count_columns)
    if block_title and used and not _name_row_title(rows, view, best, count_columns):
        roles[block_title[0]] = "title"
    block = _name_row_title(rows, view, best, count_columns) or (block_title[1] if block_title else "")
    label_party = next((party_name(v) for _, v in cells(rows[best], view.labels) if names_party(v)), None)
    label_write_in = any(_WRITE_IN_LINE.match(v) for _, v in cells(rows[best], view.labels))
    lines = []
    over = filled(titled[column_title], max(count_columns)) if column_title is not None else {}
    choice = {}
    for c in count_columns:
        marks = [values[h].get(c, "") for h in party_rows]
        choice[c] = _name(values, parts, c) or next((m for m in marks if measure_choice(m)), "")
    for first, last, _ in segments({c: name for c, name in choice.items() if name}):
        name = choice[first]
        title = over.get(first, "") or block
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


def classify(line: Line) -> None:
    """Why a choice line is no candidate: a declared write-in, a choice that is no person, a statistic."""
    name = " ".join(line.name.split())
    if line.detail == "write-in" or declared_write_in(name):
        line.drop, line.detail = "write-in", name
    elif (statistic(name) or statistic(line.header)) and not (total(name) and re.search(r"\bvotes\b", name, re.I)):
        line.drop, line.detail = "statistic", name  # 'Total Voters' is one; 'Total Votes' sums the choices
    elif not_a_person(name):
        line.drop, line.detail = "not-a-person", name
