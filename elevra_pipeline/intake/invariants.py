"""Whole-file invariants: what holds for every list decides what a column means, whoever proposed it.

A header can lie and a model can guess wrong, but a list cannot break these without being misread:
- a federal, statewide or state legislative contest is one per state (and district, and party in a
  partisan primary): its place is the state, and a column that varies among its candidates says
  where they live, not where the contest is;
- a contest has one election date: a column whose dates vary among the candidates of one contest is
  a filing date;
- a contest listed under several values of a column with the same candidates is one contest (a
  precinct or a county of a results export); each candidate is then one candidacy, however many lines.
Each function reads the rows, changes them where a rule decides, and returns what it found
(a `Finding`, shown with the column on the Columns sheet and in the e-mail).
"""

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from elevra_pipeline.intake.offices import Level, state_contest, statewide_court_of
from elevra_pipeline.intake.states import is_state

MIN_SHARE = 0.5  # of the contests that can show it: a rule broken by one contest in a hundred is a typo


@dataclass(frozen=True)
class Finding:
    field: str  # the row field whose column the rule speaks of
    invariant: str
    evidence: str
    column_refused: bool = True  # the column is not that field for any row (else: only for some contests)

    def text(self) -> str:
        return f"{self.invariant}: {self.evidence}"


Rows = list[tuple[int, dict]]


def contest_key(record: dict, *leave_out: str) -> tuple:
    fields = ("jurisdiction", "office", "district", "primary_party", "election_date")
    return tuple(record[f].casefold() for f in fields if f not in leave_out)


def _shown(values) -> str:
    values = sorted(values)
    return ", ".join(values[:3]) + (f" … ({len(values)} values)" if len(values) > 3 else "")


_DISTRICT_LIKE = re.compile(r"\b(?:district|dist|ward|division|circuit|seat|position|pos|zone|area)\b.*\d|\d", re.I)


def state_office(record: dict) -> bool:
    """A contest of the state: by its level or its words (the office's, or with the body the
    jurisdiction column names: `Justice` of the `Supreme Court`), or an office the list prefixes with
    the state ('NC DISTRICT COURT JUDGE' in a North Carolina list)."""
    given = record.get("level", "")
    if given and given != Level.UNKNOWN:
        return state_contest(record["office"], given)  # a level the list gives is the level
    if state_contest(record["office"]) or state_contest(f"{record['jurisdiction']} {record['office']}"):
        return True
    if record["district"] and state_contest(f"{record['office']} {record['district']}"):
        return True  # 'DISTRICT ATTORNEY' of 'District 25': a prosecutorial district
    if statewide_court_of(record["office"], record["state"]):
        return True
    first = record["office"].split(" ", 1)[0].strip(".,").casefold()
    return bool(record["state"]) and first == record["state"].casefold()


def state_contest_places(read: Rows) -> Finding | None:
    """A state's contest is the state's: its jurisdiction is the state (or none when no state is
    known). A district the jurisdiction column gives it ('Legislative District 12') is its district;
    where the column gave its candidates several places, that column says where they live."""
    places: dict[tuple, set[str]] = defaultdict(set)
    for _, record in read:
        if not state_office(record):
            continue
        given = record["jurisdiction"]
        if given and given != record["state"] and not is_state(given, record["state"]):
            if _DISTRICT_LIKE.search(given) or not state_contest(record["office"]):  # a district or a body
                district = record["district"]
                record["district"] = given if not district or district in given else f"{given}, {district}"
            else:
                places[contest_key(record, "jurisdiction")].add(given)
        record["jurisdiction"] = record["state"]
    split = {key: found for key, found in places.items() if len(found) > 1}
    if not split:
        return None
    key, found = max(split.items(), key=lambda kv: len(kv[1]))
    return Finding(
        "jurisdiction",
        "a statewide or federal contest is one contest per state",
        f"the column gives {len(found)} places to the candidates of one contest ({key[1]}: {_shown(found)}): "
        "for such contests it says where candidates live, not where the contest is",
        column_refused=False,
    )


def filing_dates(read: Rows) -> Finding | None:
    """A contest has one election date: when the date column gives the candidates of most contests
    several dates, it is a filing (or other) date, and the rows keep none of it."""
    dates: dict[tuple, set[str]] = defaultdict(set)
    people: dict[tuple, int] = defaultdict(int)
    for _, record in read:
        key = contest_key(record, "election_date")
        people[key] += 1
        if record["election_date"]:
            dates[key].add(record["election_date"])
    can_show = [key for key, n in people.items() if n > 1 and dates.get(key)]
    spread = [key for key in can_show if len(dates[key]) > 1]
    if not spread or len(spread) < MIN_SHARE * len(can_show):
        return None
    key = max(spread, key=lambda k: len(dates[k]))
    return Finding(
        "election_date",
        "a contest has one election date",
        f"the column's dates vary among the candidates of {len(spread)} of {len(can_show)} contests "
        f"({key[1]}: {_shown(dates[key])}): it is a filing date or another date, not the election's",
    )


def reporting_units(read: Rows, field: str) -> Finding | None:
    """A contest listed under several values of a column with the same candidates (a results export's
    precincts, a city race listed under each county it spans) is one contest: those rows keep none of
    the column (a place they span is kept as 'A / B' when there are few). When every contest the
    column splits is such a contest, the column is a reporting unit (`Finding.column_refused`)."""
    parts: dict[tuple, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    for _, record in read:
        if record[field]:
            parts[contest_key(record, field)][record[field]].add(record["candidate_name"].casefold())
    split = {key: units for key, units in parts.items() if len(units) > 1}
    merged = {}
    for key, units in split.items():
        sets = Counter(frozenset(people) for people in units.values())
        _, same = sets.most_common(1)[0]
        if same >= 2 and same >= MIN_SHARE * len(units):
            merged[key] = sorted(units)
    if not merged:
        return None
    for _, record in read:
        if record[field] and (units := merged.get(contest_key(record, field))):
            spanned = field == "jurisdiction" and len(units) <= 4  # a race of a few counties: all of them
            record[field] = " / ".join(units) if spanned else ""
    example = max(merged.values(), key=len)
    refused = len(merged) >= MIN_SHARE * len(parts) and len(merged) > 1  # most contests: precincts
    return Finding(
        field,
        "a contest is one contest however many lines list it",
        f"{len(merged)} contest(s) have the same candidates under several values ({_shown(example)})"
        + (": precincts or counties of a results export, not districts or places" if refused else ""),
        column_refused=refused,
    )
