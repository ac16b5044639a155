"""Lines of a list that name no person, and marks that are not part of a name.

Results exports and abstracts list more than candidates under a contest: a write-in line, "No
Preference", "Uncommitted", over and under votes, totals, scattering, a report's statistics (registered
voters, ballots cast, turnout). None is a candidate. A contest
whose lines are all choices (Yes/No, For/Against, Approved/Rejected, Retain) or the text of a
question is a ballot measure, not an election with candidates. An incumbent's mark (`*Jon Tester`,
`Jon Tester (I)`, `Jon Tester, Inc.`) says who holds the seat and is not part of the name.
"""

import re

_NOT_A_PERSON = re.compile(
    r"^(?:(?:total|totals|grand total|total votes(?: cast)?|votes cast|ballots cast|registered voters|"
    r"(?:un)?qualified write[- ]?ins?|write[- ]?ins?(?: votes| totals?)?|scattering|scattered|"
    r"over ?votes?|under ?votes?|overvotes?|undervotes?|blank(?: votes| ballots)?|blanks|void|spoiled|"
    r"no preference|uncommitted(?: delegates?)?|(?:delegates? )?uncommitted|none of (?:the above|these candidates)|"
    r"no candidate|no candidates? filed|"
    r"vacant|not assigned|times (?:over|under) ?voted|rejected ballots|exhausted(?: ballots)?|"
    r"(?:there (?:are|is) )?no candidates? (?:filed|for this (?:office|contest|race))|times cast)"
    r"[\s.:*()-]*)$",
    re.I,
)
# a write-in line however it is labelled ('SSC Council Write Ins Total', 'WRITE-IN 124', 'Write-In: Invalid')
_WRITE_IN = re.compile(r"\bwrite[- ]?ins?\b", re.I)
# a report's statistic: 'Registered Voters - Total', 'BALLOTS CAST – DEMOCRATIC', 'Vote by Mail Turnout'
_STATISTIC = re.compile(
    r"^%|\bregistered\b|\bturnout\b|\bballots (?:cast|counted)\b|\bprecincts? (?:reporting|reported|counted)\b|"
    r"\bactual voting\b|\bvoters\b|^total voted\b|\s[-–]\s*totals?$|\bballots\b|^\w+ votes?$",
    re.I,
)
_CHOICE = re.compile(
    r"^(?:yes|no|for|against|approved?|rejected?|adopted|not adopted|retain|do not retain|not retain|repeal|"
    r"bonds? yes|bonds? no|levy yes|levy no|yes for (?:approval|the measure)|no against|"
    r"for (?:the )?(?:proposition|amendment|measure|question|levy|bonds?|tax|approval|adoption)|"
    r"against (?:the )?(?:proposition|amendment|measure|question|levy|bonds?|tax|approval|adoption))"
    r"\b[\s\w,.()'-]{0,80}$",
    re.I,
)
_QUESTION_WORDS = re.compile(r"\b(shall|should|amendment|proposition|question|measure|referendum|levy|bond)\b", re.I)
_INCUMBENT = re.compile(
    r"^\s*\*\s*(?P<a>.+?)\s*$|^(?P<b>.+?)\s*(?:\*|\((?:i|inc\.?|incumbent)\)|,?\s+(?:inc\.|incumbent))\s*$",
    re.I,
)


def not_a_candidate(name: str) -> bool:
    """A line that names no person: a write-in line, no preference, a total, over/under votes, a
    statistic, a label with no word in it ('22')."""
    text = " ".join(name.split())
    return bool(_NOT_A_PERSON.match(text) or _WRITE_IN.search(text) or _STATISTIC.search(text)) or not re.search(
        r"[^\W\d_]{2}", text
    )


_CHOICE_WORDS = {"yes", "no", "for", "against", "approved", "rejected", "approve", "reject", "maintained", "repealed"}
_CHOICE_WORDS |= {"retain", "adopted", "si"}


def measure_choice(name: str) -> bool:
    """A ballot measure's choice (Yes, No, For the Levy, Levy Yes, Maintained, Retain…) or the text of
    the question itself."""
    text = " ".join(name.split())
    words = re.findall(r"[a-z]+", text.casefold())
    short_choice = 0 < len(words) <= 4 and (words[0] in _CHOICE_WORDS or words[-1] in _CHOICE_WORDS)
    question = len(text.split()) >= 8 and (text.endswith("?") or _QUESTION_WORDS.search(text) is not None)
    return bool(_CHOICE.match(text)) or (short_choice and words[-1] in _CHOICE_WORDS) or question


def measure_lines(names: list[str]) -> bool:
    """A contest whose every line is a choice (at least one Yes/No-like choice) is a ballot measure."""
    return (
        bool(names) and all(measure_choice(n) or not_a_candidate(n) for n in names) and any(map(measure_choice, names))
    )


def incumbent_mark(name: str) -> tuple[str, bool]:
    """('Jon Tester', True) from '*Jon Tester', 'Jon Tester (I)' or 'Jon Tester, Inc.'; (name, False) otherwise."""
    match = _INCUMBENT.match(name)
    if not match:
        return name, False
    bare = (match.group("a") or match.group("b") or "").strip()
    return (bare, True) if re.search(r"[^\W\d_]", bare) else (name, False)
