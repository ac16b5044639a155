"""Contests as the list defines them: the rules that turn a row's columns into its contest.

Real filing lists say more than office and district: a status (withdrawn, removed, deceased: not on
the ballot), an office description more specific than a generic office (`CITY LEGISLATIVE BODY` +
`LONDON CITY COUNCIL`), a district only inside that description (`MAGISTRATE DISTRICT 4`), a second
district column (district and group/seat), an election code holding the date and type
(`20261103-GEN`), and a primary whose parties are separate contests. Each rule is a named function.
"""

import re
from collections import Counter, defaultdict
from datetime import date
from difflib import get_close_matches

from elevra_pipeline.intake.batching import normalize_date
from elevra_pipeline.intake.options import plausible_date

# A status that means the person is not on the ballot.
_NOT_ON_BALLOT = re.compile(
    r"withdr|remov|disqualif|did not qualify|not qualif|unqualif|deceas|denied|reject|ineligib|"
    r"not certif|decertif|terminat|dropped out|declined|declared write-in",
    re.I,
)
_DISTRICT_IN = re.compile(
    r"[\s,(-]*\b(district|ward|division|circuit|precinct|seat|group|position|place|post|zone|subdistrict)"
    r"\s+(?:no\.?\s*|#\s*)?([0-9]+[a-z]?|[ivxl]+|[a-z])\b\)?\s*$",
    re.I,
)
_CODE_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_KINDS = (
    ("runoff", "runoff"),
    ("run-off", "runoff"),
    ("special", "special"),
    ("primary", "primary"),
    ("general", "general"),
    ("municipal", "municipal"),
    ("consolidated", "consolidated"),
    ("recall", "recall"),
)
_CODE_KINDS = {"GEN": "general", "GE": "general", "PRI": "primary", "PR": "primary", "SPE": "special", "SPL": "special"}
_CODE_KINDS |= {"RUN": "runoff", "RO": "runoff", "MUN": "municipal", "CON": "consolidated"}


_STATUS_IN_NAME = re.compile(r"\s*[(\[]\s*((?:withdr|remov|disqualif|deceas)[^)\]]*)[)\]]\s*$", re.I)
YES = frozenset({"yes", "y", "x", "true", "1", "✓", "t", "*"})


def status_in_name(name: str) -> tuple[str, str]:
    """('Kurt Evans', 'Withdrawn 7/27/2022') from 'Kurt Evans (Withdrawn 7/27/2022)'; (name, '') otherwise."""
    match = _STATUS_IN_NAME.search(name)
    return (name[: match.start()], match.group(1).strip()) if match else (name, "")


def write_in_flag(header: str) -> bool:
    """A column flagging declared write-in candidates (`IsWriteIn`, `Write-In`)."""
    return re.search(r"write\W?in", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", header), re.I) is not None


def status_flag(header: str, value: str) -> str:
    """A flag column (`Withdrawn` = YES, `IsWriteIn` = True) as a status: what it says when set."""
    if value.strip().casefold() not in YES:
        return ""
    if write_in_flag(header):
        return "Declared write-in (not printed on the ballot)"
    return header if not_on_ballot(header) else ""


_WRITE_IN = re.compile(r"^\s*write[- ]?in\s*[:-]\s*\S|\(\s*write[- ]?in\s*\)|\(wi\)\*?\s*$", re.I)


def declared_write_in(name: str, party: str) -> str:
    """'Declared write-in' when the row says so (`Write-In: Taylor Lee`, `Ann Lee (write-in)`, party
    `WRI`): a person who is not printed on the ballot; '' otherwise."""
    from elevra_pipeline.intake.party_codes import known_party

    said = _WRITE_IN.search(name or "") or known_party(party or "") == "Write-in"
    return "Declared write-in (not printed on the ballot)" if said else ""


_DO_NOT_USE = re.compile(r"\bdo not use\b", re.I)


def marked_unused(cell: str) -> bool:
    """A clerk's marker on an entry that is not real (`*DO NOT USE-DUPLICATED*`)."""
    return bool(cell) and _DO_NOT_USE.search(cell) is not None


def not_on_ballot(status: str) -> bool:
    """Withdrawn, removed, disqualified, deceased…: the person is not a candidate on the ballot."""
    return bool(status and _NOT_ON_BALLOT.search(status))


def is_code(office: str) -> bool:
    """An office code (`STR`, `CC04`) rather than a name."""
    return bool(office) and " " not in office.strip() and len(office.strip()) <= 5 and office.upper() == office


def contest_office(office: str, description: str) -> str:
    """The description wins unless it says less: it is only a district (see `district_in`), or the
    office already contains it (`Mayor of Springfield` and `Mayor`)."""
    if not description or description.casefold() in office.casefold():
        return office
    if office and _DISTRICT_IN.fullmatch(" " + description):
        return office
    return description


def district_in(office: str) -> tuple[str, str]:
    """('MAGISTRATE', 'District 4') from 'MAGISTRATE DISTRICT 4'; (office, '') when it names none."""
    match = _DISTRICT_IN.search(office)
    if not match or match.start() == 0:
        return office, ""
    value = match.group(2)
    value = value.upper() if re.fullmatch(r"[ivxl]+", value, re.I) else value
    return office[: match.start()].rstrip(" ,-("), f"{match.group(1).title()} {value}"


def same_district(named: str, given: str) -> bool:
    """'District 4' in the office and '4' (or 'District 04') in the district column are one district."""
    digits = lambda text: re.sub(r"\D", "", text).lstrip("0")  # noqa: E731
    return bool(digits(named)) and digits(named) == digits(given)


def combined_district(district: str, seat: str, seat_label: str) -> str:
    """District and a second district column (group, seat, position) together: one contest each."""
    if not seat:
        return district
    district = f"District {district}" if district.isdigit() else district
    part = seat if re.search(r"[a-z]{2}", seat, re.I) else f"{seat_label.strip().title() or 'Seat'} {seat}"
    return ", ".join(p for p in (district, part) if p)


def date_in_code(code: str) -> str | None:
    """The date inside an election code (`20261103-GEN` -> 2026-11-03)."""
    match = _CODE_DATE.search(code or "")
    if not match:
        return None
    text = "-".join(match.groups())
    return text if plausible_date(text) else None


def election_kind(text: str) -> str:
    """general, primary, special, runoff, municipal… from a list's own words or an election code; '' if none."""
    lowered = (text or "").casefold()
    for word, kind in _KINDS:
        if word in lowered:
            return kind
    tokens = re.split(r"[^A-Za-z]+", (text or "").upper())
    return next((_CODE_KINDS[t] for t in tokens if t in _CODE_KINDS), "")


def apply_contest_rules(record: dict, seat_label: str) -> None:
    """Office, district, date and type of one row record, from all its columns."""
    description = record.pop("office_description", "")
    if description and not record["district"] and _DISTRICT_IN.fullmatch(" " + description):
        record["district"] = district_in("office " + description)[1]
    record["office"] = contest_office(record["office"], description)
    office, named = district_in(record["office"])
    if named and (not record["district"] or same_district(named, record["district"])):
        record["office"], record["district"] = office, named  # said once: 'MAGISTRATE', 'District 4'
    record["district"] = combined_district(record["district"], record.pop("seat", ""), seat_label)
    code = record.pop("election_code", "")
    if code and not plausible_date(normalize_date(record["election_date"])):
        record["election_date"] = date_in_code(code) or record["election_date"]
    record["election_type"] = election_kind(record["election_type"]) or election_kind(code) or record["election_type"]


_NONPARTISAN = frozenset({"nonpartisan", "non-partisan", "non partisan", "np", "nonpartisan party"})
_UNENROLLED = frozenset(
    {"u", "unenrolled", "unaffiliated", "no party", "npa", "no party affiliation", "independent", "ind", "i"}
)


_PARTY_HEADING = re.compile(r"^\s*([a-z][a-z .'-]{1,40}?)\s+party\s*$", re.I)


def party_heading(extra: dict) -> str:
    """A party named by another column of the row (an election system's ballot heading: 'REPUBLICAN
    PARTY' over its county committee contests): whose primary the row is when no party column says."""
    return next((v.strip() for v in extra.values() if isinstance(v, str) and _PARTY_HEADING.match(v)), "")


def primary_contest(record: dict, open_primary: bool) -> str | None:
    """A party's primary is its own contest (unless the primary is open: top-two, jungle). An unenrolled
    or independent candidate of a partisan primary is on no primary ballot (they go to November): the
    reason, for the row to be dropped; nonpartisan offices stay one contest."""
    if record["election_type"] != "primary" or record["primary_party"] or open_primary:
        return None
    if record["party"].strip().casefold() in _NONPARTISAN:
        return None  # a nonpartisan office is one contest on every party's ballot
    if office_party(record["office"]):
        return None  # the office is already one party's contest (`Sheriff (R)`)
    if record["party"].strip().casefold() in _UNENROLLED:
        return f"{record['party']}: unenrolled and independent candidates are on no party's primary ballot"
    record["primary_party"] = record["party"] or party_heading(record.get("extra") or {})
    return None


_PARTY_TAG = re.compile(r"(?:-\s*(DEM|REP|GRN|LIB|AIP?|PF|P&F|CON|NL)|\((DEM|REP|GRN|LIB|CON|D|R|L|G)\))\s*$", re.I)


_PARTY_NAMED = re.compile(
    r"[\s(-]+((?:democratic|republican|libertarian|green|constitution|working families|reform)(?: party)?)\)?\s*$",
    re.I,
)


def office_party(office: str) -> str:
    """The party whose ballot an office is on when its name says (`PRESIDENT OF THE UNITED STATES-DEM`,
    `Sheriff (R)`, `United States President Republican Party`); '' for most offices."""
    if match := _PARTY_TAG.search(office or ""):
        return (match.group(1) or match.group(2)).upper()
    named = _PARTY_NAMED.search(office or "")
    return named.group(1) if named and named.start() > 0 else ""


def general_election_day(text: str) -> bool:
    """The Tuesday after the first Monday of November: the federal general election in even years,
    state and municipal generals in odd ones."""
    try:
        day = date.fromisoformat(normalize_date(text))
    except ValueError:
        return False
    return day.month == 11 and day.weekday() == 1 and 2 <= day.day <= 8


def same_party_rivals(records: list[dict]) -> int:
    """Contests in which one party (its column, or the office's party tag) has two or more candidates:
    outside a November general's multi-seat contests, only a party's own primary has those."""
    parties: dict[tuple, list[str]] = defaultdict(list)
    for r in records:
        party = r["party"].strip().casefold() or office_party(r["office"]).casefold()
        if party and party not in _NONPARTISAN and party not in _UNENROLLED:
            parties[(r["jurisdiction"].casefold(), r["office"].casefold(), r["district"].casefold())].append(party)
    return sum(1 for names in parties.values() if len(set(names)) < len(names))


def inferred_election_type(records: list[dict]) -> tuple[str, str]:
    """The type of one election date's rows when neither the list nor the admin gives one: (type, why),
    or ('', '') for the model to decide. Never a default: each answer is a rule the rows satisfy."""
    days = {normalize_date(r["election_date"]) for r in records}
    if len(days) == 1 and general_election_day(day := next(iter(days))):
        even = date.fromisoformat(normalize_date(day)).year % 2 == 0
        return ("general", "the federal general election day") if even else ("", "")
    if rivals := same_party_rivals(records):
        return "primary", f"in {rivals} contest(s) one party has several candidates: a party's primary"
    return "", ""


def party_spellings(parties: list[str]) -> dict[str, str]:
    """A party written once or twice like a party many rows give, but for one letter changed, added,
    dropped or two swapped, is that party misspelt (`Demcorat` -> `Democrat`): {misspelling: party}.
    Another word is another party (`Ind. Republican` is not `Republican`)."""
    from elevra_pipeline.records.row_truth import one_slip

    counts = Counter(p for p in parties if p)
    common = [p for p, n in counts.items() if n >= 5]
    fixes = {}
    for party, n in counts.items():
        if n <= 2 and party not in common:
            close = [c for c in common if len(party) >= 5 and one_slip(party.casefold(), c.casefold())]
            if len(close) == 1:
                fixes[party] = close[0]
    return fixes


def office_word_spellings(offices: list[str]) -> dict[str, str]:
    """A word of an office written once or twice like an office word many offices use is that word,
    misspelt (`03rd Dostrict Council` beside ten `District`s): {misspelt word: word}, without case.
    Only office words are fixed: `Fountain` beside five `Mountain`s is another town."""
    from elevra_pipeline.intake.offices import office_word

    counts = Counter(w.casefold() for office in offices for w in re.findall(r"[A-Za-z]{5,}", office))
    common = [w for w, n in counts.items() if n >= 5 and office_word(w)]  # never a place: Fountain/Mountain
    fixes = {}
    for word, n in counts.items():
        if n <= 2 and word not in common:
            close = get_close_matches(word, common, n=2, cutoff=0.85)
            if len(close) == 1 and one_letter_apart(word, close[0]):
                fixes[word] = close[0]
    return fixes


def one_letter_apart(a: str, b: str) -> bool:
    """Same length, one letter different: a slip, not another word (`Dostrict`/`District`)."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1


def respelt(office: str, fixes: dict[str, str]) -> str:
    """The office with its misspelt words written as the list writes them elsewhere (case kept)."""
    if not fixes:
        return office

    def fix(match: re.Match) -> str:
        word = match.group(0)
        right = fixes.get(word.casefold())
        if not right:
            return word
        return right.upper() if word.isupper() else right.capitalize() if word[0].isupper() else right

    return re.sub(r"[A-Za-z]{5,}", fix, office)
