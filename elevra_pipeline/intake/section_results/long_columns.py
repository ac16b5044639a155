"""Which column of a long results export is which, read from the values when no header says: counts
are numbers; the contest column holds offices (and measures), each on several lines; the choice column
holds names, each under one contest (a precinct column holds the same values under every contest); a
party column holds party codes. A first row like the lines below it (counts where they have counts) is
no header at all.
"""

import re
from collections import defaultdict

from elevra_pipeline.intake.ballot_lines import measure_choice, not_a_candidate
from elevra_pipeline.intake.offices import Level, office_level
from elevra_pipeline.intake.roles import Role, map_by_alias
from elevra_pipeline.intake.section_results.choices import PARTY_CODES
from elevra_pipeline.intake.section_results.lines import has_letters, is_count, vote_for

_MEASURE = re.compile(r"\b(?:measure|proposition|prop|amendment|question|referendum|initiative|bond|levy)\b", re.I)
_PERSON = re.compile(r"^[^\W\d_][\w.'’\"()\\/&, -]*$")


def values(data, column: int) -> list[str]:
    return [row[column] for row in data if column < len(row) and row[column]]


def numeric(values: list[str]) -> bool:
    return bool(values) and sum(map(is_count, values)) >= 0.9 * len(values)


def _officelike(values: list[str]) -> float:
    distinct = set(values)
    contests = [v for v in distinct if office_level(v) != Level.UNKNOWN or vote_for(v) or _MEASURE.search(v)]
    return len(contests) / max(len(distinct), 1)


def _nested(data, contest: int, column: int) -> float:
    """The share of the column's (person) values that stand under one contest only."""
    under = defaultdict(set)
    for row in data:
        if max(contest, column) < len(row) and row[column] and not not_a_candidate(row[column]):
            if not measure_choice(row[column]):
                under[row[column]].add(row[contest])
    return sum(len(c) == 1 for c in under.values()) / len(under) if under else 0.0


def _personlike(values: list[str]) -> float:
    """The share of a column's choice values (its write-in, total and Yes/No lines aside) that read as names."""
    people = [v for v in values if not not_a_candidate(v) and not measure_choice(v)]
    return sum(bool(_PERSON.match(v)) and len(v.split()) >= 2 for v in people) / max(len(people), 1)


def _coded(values: list[str]) -> float:
    """The share of a column's values that are party codes (none when it has too few to tell)."""
    return sum(v.upper() in PARTY_CODES for v in values) / len(values) if len(values) >= 3 else 0.0


def find_columns(header: list[str], data) -> dict[Role, int]:
    """Office, candidate and party columns: the headers' word where they give one, else the values'."""
    mapping = map_by_alias(header)
    found = {r: mapping.column_of(r) for r in (Role.OFFICE, Role.CANDIDATE_NAME, Role.PARTY)}
    width = max((len(r) for r in data[:200]), default=0)
    texts = [c for c in range(width) if (v := values(data[:2000], c)) and not numeric(v) and any(map(has_letters, v))]
    texts = [c for c in texts if c not in mapping.roles or mapping.roles[c] in found]
    if found[Role.OFFICE] is None:
        ranked = sorted(texts, key=lambda c: -_officelike(values(data[:2000], c)))
        found[Role.OFFICE] = next((c for c in ranked if _officelike(values(data[:2000], c)) >= 0.5), None)
    if found[Role.CANDIDATE_NAME] is None and found[Role.OFFICE] is not None:
        options = [c for c in texts if c != found[Role.OFFICE]]
        score = {c: _nested(data[:2000], found[Role.OFFICE], c) * _personlike(values(data[:2000], c)) for c in options}
        found[Role.CANDIDATE_NAME] = max(score, key=score.get) if score and max(score.values()) >= 0.3 else None
    if found[Role.PARTY] is None:
        codes = [c for c in texts if c not in found.values()]
        coded = {c: _coded(values(data[:2000], c)) for c in codes}
        found[Role.PARTY] = max(coded, key=coded.get) if coded and max(coded.values()) >= 0.8 else None
    return {role: c for role, c in found.items() if c is not None}


def headerless_rows(header: list[str], data) -> bool:
    """The first row is a line like the others: counts where the lines have counts."""
    counted = [c for c in range(len(header)) if numeric(values(data[:200], c))]
    return bool(counted) and sum(is_count(header[c]) for c in counted if c < len(header)) >= 0.5 * len(counted)


def results_lines(data, office: int, name: int) -> bool:
    """Lines of a results export, not a list: lines that name no person, or a choice on several lines."""
    pairs = [(row[office], row[name]) for row in data[:5000] if max(office, name) < len(row) and row[name]]
    repeated = len(pairs) - len(set(pairs))
    return any(not_a_candidate(n) or measure_choice(n) for _, n in pairs) or repeated >= 0.1 * max(len(pairs), 1)
