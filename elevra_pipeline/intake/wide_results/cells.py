"""What a cell of a results grid is, from its value alone: a count, a person, a reporting unit, a
choice that is no person, a statistic, a party code.

A results layout is told apart from a candidate list, and its choices from its reporting units,
by such evidence, never by a header's spelling: counts sit under (or beside) the choices; a
choice reads as a person ('Masters, Blake', 'Hunter Greene (REP)'), a unit as a place or a
counting group ('PRECINCT 001', 'Boonton Town Ward 1', 'Absentee').
"""

import re
from functools import lru_cache

from elevra_pipeline.intake.ballot_lines import measure_choice, not_a_candidate

_COUNT = re.compile(r"^[-+]?\d[\d,]*(?:\.\d+)?(?:[eE]-?\d+)?\s*%?$|^\*{2,}$|^-$")
_STATISTIC = re.compile(
    r"\b(?:registered|ballots?|turnout|voters?|voted|times cast|votes cast|per precinct|precincts? reporting|"
    r"percent(?:age)?|poll ?book|reporting|counted|(?:provisional|mail|absentee|early|election day) votes)\b|"
    r"^precincts?$|%",
    re.I,
)
_TOTAL = re.compile(r"\btotals?\b|^sum$", re.I)
_NOT_PERSON = re.compile(
    r"^\(?\s*(?:write[- ]?in'?s?|write[- ]?ins? totals?|blanks?|scattering|uncommitted|none of these candidates|"
    r"no candidate|over ?votes?|under ?votes?|void|spoiled|rejected|exhausted|not assigned)\s*\)?[\s.:*]*$",
    re.I,
)
# reporting units and counting groups: what the rows (or columns) of a grid that are no choice name
_UNIT_WORDS = re.compile(
    r"\b(?:precincts?|pct|ward|wards|district|dist|township|twp|county|counties|city|town|village|borough|parish|"
    r"absentee|provisional|early|mail|mail-in|polling|election ?day|vote ?center|machine|tabulator|tally|tape|"
    r"auxiliary|batch|team|board|countywide|electionwide|cumulative|federal|uocava|total|totals)\b",
    re.I,
)
_WRITE_IN_MARK = re.compile(r"\s*\((?:wi|write[- ]?in)\)\s*\**\s*$", re.I)
_CODE = r"[A-Z]{1,5}"
_SUFFIX_CODE = re.compile(rf"^(?P<name>.*?\S)\s*\((?P<code>{_CODE})\)\s*\**\s*$")
_PREFIX_CODE = re.compile(rf"^(?P<code>{_CODE})?\s*-\s+(?P<name>\S.*)$|^(?P<bare>{_CODE})\s+(?P<rest>\S.*)$")
# party codes as US ballots print them, written out (a code not listed is kept as published)
PARTY_CODES = {
    "R": "Republican", "REP": "Republican", "D": "Democratic", "DEM": "Democratic", "L": "Libertarian",
    "LIB": "Libertarian", "LBT": "Libertarian", "LPN": "Libertarian", "LPF": "Libertarian", "G": "Green",
    "GRN": "Green", "GRE": "Green", "WGR": "Wisconsin Green", "C": "Constitution", "CON": "Constitution",
    "CST": "Constitution", "CPF": "Constitution", "IND": "Independent", "IAP": "Independent American",
    "AIP": "American Independent", "PF": "Peace and Freedom", "PSL": "Socialism and Liberation", "REF": "Reform",
    "NP": "", "NON": "", "NOP": "", "NOPTY": "", "NPA": "No Party Affiliation", "UNA": "Unaffiliated",
}  # fmt: skip
_PARTY_WORDS = re.compile(
    r"^(?:republican|democrat(?:ic)?|libertarian|green|constitution|independent|reform|socialist|"
    r"working families|conservative|progressive|non-?partisan|petitioning)(?:\s+party)?(?:\s+cand\w*\.?)?$",
    re.I,
)


@lru_cache(maxsize=65_536)  # a grid repeats the same few thousand numbers
def is_count(value: str) -> bool:
    """A vote count, a share, or a count withheld ('****' for privacy, '-')."""
    return bool(value) and _COUNT.match(value) is not None


def is_text(value: str) -> bool:
    return bool(value) and not is_count(value)


def statistic(label: str) -> bool:
    """Registered voters, ballots cast, turnout: a number about the election, no choice."""
    return bool(_STATISTIC.search(label))


def total(label: str) -> bool:
    return bool(_TOTAL.search(label))


def not_a_person(label: str) -> bool:
    """A choice that is no person: a write-in line, blanks, over/under votes, uncommitted, a total."""
    text = " ".join(label.split())
    return bool(_NOT_PERSON.match(text)) or not_a_candidate(text) or total(text)


def declared_write_in(label: str) -> bool:
    """'Evan Space (WI)', 'Cherunda Fox (write-in)': a registered write-in, not printed on the ballot."""
    return bool(_WRITE_IN_MARK.search(label))


def without_write_in_mark(label: str) -> str:
    return _WRITE_IN_MARK.sub("", label).strip()


def person_like(label: str) -> bool:
    """Reads as a person's name: two to eight words with letters, no digits, no unit or count words,
    or 'Last, First'."""
    text = " ".join(_WRITE_IN_MARK.sub("", label).split())
    if not text or re.search(r"\d", text) or not_a_person(text) or measure_choice(text) or statistic(text):
        return False
    if _UNIT_WORDS.search(text) or party_name(text):
        return False
    words = re.findall(r"[^\W\d_][\w.'’-]*", text)
    return 2 <= len(words) <= 12 or ("," in text and len(words) >= 2)


def choice_like(label: str) -> bool:
    """A ballot choice: a person, a measure's Yes/No, a write-in, blank or over/under-vote line (not a
    column of counts named for how votes were cast, a total or a statistic)."""
    text = " ".join(_WRITE_IN_MARK.sub("", label).split())
    if measure_choice(text) or person_like(text):
        return True
    return not_a_person(text) and not total(text) and not statistic(text)


def unit_like(label: str) -> bool:
    """Reads as a reporting unit or counting group: has digits or a unit word."""
    return bool(re.search(r"\d", label) or _UNIT_WORDS.search(label))


def party_name(text: str) -> str:
    """The party a heading, a sheet name or a ballot line names: 'REPUBLICAN' -> 'Republican', 'Democrat'
    -> 'Democratic', 'Petitioning Cand.' -> 'Petitioning', 'Non-Partisan' -> '' (see `names_party`)."""
    if not names_party(text):
        return ""
    words = re.sub(r"\s+(?:party|cand\w*\.?)$", "", " ".join(text.split()), flags=re.I).title()
    return "" if re.match(r"non-?partisan", words, re.I) else "Democratic" if words == "Democrat" else words


def names_party(text: str) -> bool:
    return bool(_PARTY_WORDS.match(" ".join(text.split())))


def party_code(code: str) -> str | None:
    """The party a code stands for ('' for nonpartisan); None when the code is no known party code."""
    return PARTY_CODES.get(code.strip().upper().strip("()"))


def split_party(label: str, codes: set[str]) -> tuple[str, str | None]:
    """(name, party) from one choice cell: 'Hunter Greene (REP)', 'REP Masters, Blake', 'DEM - Cara
    Parmigiani', '- Gloria La Riva' (no party), 'Richard Cordray and Betty Sutton (D)'. `codes`: the
    codes this file prints in front of names (a capitalised first word is a code only if the file
    uses it so elsewhere, or it is a party code). Party None: the cell names none."""
    text = " ".join(label.split())
    match = _SUFFIX_CODE.match(text)
    if match and party_code(match["code"]) is not None:
        return match["name"], party_code(match["code"])
    match = _PREFIX_CODE.match(text)
    if match and match["name"]:  # 'DEM - name', '- name'
        code = match["code"] or ""
        return match["name"], (party_code(code) if party_code(code) is not None else code) if code else ""
    if match and match["bare"] and (match["bare"] in codes) and len(match["rest"].split()) >= 2:
        code = match["bare"]
        return match["rest"], party_code(code) if party_code(code) is not None else code
    return text, None


def prefix_codes(labels: list[str]) -> set[str]:
    """Short capitalised first words the file prints in front of several names ('REP Masters, Blake',
    'LBT Victor, Marc J.'): the file's own party codes. A name in capitals ('JO JORGENSEN') has no
    code in front unless the word is a known party code."""
    found: dict[str, int] = {}
    for label in labels:
        parts = label.split(maxsplit=1)
        if len(parts) == 2 and re.fullmatch(_CODE, parts[0]):
            if party_code(parts[0]) is not None or not parts[1].isupper():
                found[parts[0]] = found.get(parts[0], 0) + 1
    return {code for code, n in found.items() if n >= 2 or party_code(code) is not None}
