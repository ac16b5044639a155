"""A column's role is checked against a sample of its values before it is used, whoever proposed it
(an alias or the model): a header can lie, and a model can guess wrong. A role that fails is taken
away with the reason, so the upload's own options fill those rows and the admin sees why.

Rules: a date column mostly reads as dates between 1900 and 2100; a name column holds people, not
committees, and not surnames alone when a first-name column exists; an office column is not a code
when a description column says more; a jurisdiction is not where a candidate lives.
"""

import re

from elevra_pipeline.intake.batching import normalize_date
from elevra_pipeline.intake.contests import date_in_code, is_code
from elevra_pipeline.intake.dates import DateOrder, read_numeric_date
from elevra_pipeline.intake.options import plausible_date
from elevra_pipeline.intake.roles import ColumnMapping, Decision, Role, next_by_alias, normalize_header
from elevra_pipeline.intake.value_roles import level_of

SAMPLE = 60
MOSTLY = 0.6
_COMMITTEE = re.compile(
    r"\b(for (president|governor|senate|congress|mayor|council|judge|sheriff|state|america|us|the people)|"
    r"friends of|committee|campaign|\bpac\b|citizens for|people for|elect\b)",
    re.I,
)


def _sample(data: list[list[str]], column: int) -> list[str]:
    values = [row[column].strip() for row in data if column < len(row) and row[column] and row[column].strip()]
    return values[:SAMPLE]


def _share(values: list[str], test) -> float:
    return sum(1 for v in values if test(v)) / len(values) if values else 1.0


def _reads_as_date(value: str) -> bool:
    """In some order: the column's order is decided later, from all its values (intake.dates)."""
    day_first = read_numeric_date(value, DateOrder.DMY)
    return bool(
        plausible_date(normalize_date(value)) or (day_first and plausible_date(day_first)) or date_in_code(value)
    )


def date_problem(values: list[str]) -> str | None:
    readable = _share(values, _reads_as_date)
    if readable >= MOSTLY:
        return None
    bad = next(v for v in values if not _reads_as_date(v))
    return f"only {readable:.0%} of its values read as dates (e.g. '{bad[:40]}')"


def name_problem(values: list[str], mapping: ColumnMapping, role: Role) -> str | None:
    committees = [v for v in values if _COMMITTEE.search(v)]
    if values and len(committees) >= max(1, 0.3 * len(values)):
        return f"its values look like committees, not people (e.g. '{committees[0][:40]}')"
    if role == Role.CANDIDATE_NAME and mapping.has(Role.FIRST_NAME):
        if _share(values, lambda v: " " not in v and "," not in v) >= 0.8:
            return "it holds single surnames while a first-name column exists (it is the last name)"
    return None


def office_problem(values: list[str], mapping: ColumnMapping) -> str | None:
    if mapping.has(Role.OFFICE_DESCRIPTION) and _share(values, is_code) >= 0.8:
        return f"its values are office codes (e.g. '{values[0]}'); the description column says more"
    return None


def jurisdiction_problem(header: str, values: list[str]) -> str | None:
    words = normalize_header(header)
    if any(w in words.split() for w in ("residence", "resident", "residential", "mailing", "home", "address")):
        return "it is where the candidate lives, not where the election is"
    levels = [v for v in values if level_of(v) is not None]
    if values and len(levels) >= MOSTLY * len(values):
        return f"its values are levels of government (e.g. '{levels[0][:40]}'), not places"
    return None


def check_mapping(headers: list[str], data: list[list[str]], mapping: ColumnMapping) -> list[dict]:
    """Take away each role (not an admin's `columns`) whose values do not fit it; each refusal as
    {column, role, how, why, text}. A surname column proposed as the full name becomes the last name."""
    rejected = []
    for column, role in sorted(mapping.roles.items()):
        if mapping.decided_by[column] == Decision.OVERRIDE:
            continue
        values = _sample(data, column)
        problem = None
        if role == Role.ELECTION_DATE:
            problem = date_problem(values)
        elif role in (Role.CANDIDATE_NAME, Role.LAST_NAME):
            problem = name_problem(values, mapping, role)
        elif role == Role.OFFICE:
            problem = office_problem(values, mapping)
        elif role == Role.JURISDICTION:
            problem = jurisdiction_problem(headers[column], values)
        if not problem:
            continue
        how = mapping.decided_by[column]
        text = f"'{headers[column]}' is not the {role.value.replace('_', ' ')} ({how}): {problem}"
        rejected.append({"column": headers[column], "role": role.value, "how": how, "why": problem, "text": text})
        mapping.notes[column] = f"proposed as {role.value} by the {how} layer, but {problem}"
        if "last name" in problem and not mapping.has(Role.LAST_NAME):
            mapping.assign(column, Role.LAST_NAME, how)
        elif role == Role.OFFICE and "description" in problem:
            mapping.assign(mapping.column_of(Role.OFFICE_DESCRIPTION), Role.OFFICE, how)
            mapping.assign(column, Role.IGNORE, how)
        else:
            mapping.assign(column, Role.IGNORE, how)
            if (second := next_by_alias(headers, mapping, role)) is not None:
                mapping.assign(second, role, Decision.ALIAS)  # the next column whose name says it
    return rejected


_PERSON = re.compile(r"^[A-Z][A-Za-z.'\-]+(?: [A-Z][A-Za-z.'\-]*){1,3}$")
_COUNT = re.compile(r"^\d[\d,]*(\.\d+)?%?$")


def results_columns(headers: list[str], data: list[list[str]]) -> list[str]:
    """Headers that are people with vote counts beneath (a results sheet: one column per candidate)."""
    found = []
    for column, header in enumerate(headers):
        values = _sample(data, column)
        if header and _PERSON.match(header.strip()) and values and _share(values, _COUNT.match) >= 0.8:
            found.append(header.strip())
    return found if len(found) >= 2 else []
