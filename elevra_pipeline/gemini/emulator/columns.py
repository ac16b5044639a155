"""The emulator's column mapping: what a careful reader infers from header words and sample values."""

import re

from elevra_pipeline.gemini.emulator.answers import PARTIES, iso_date

_HEADER_WORDS = [  # (pattern on the header, role, confidence)
    (r"\bfirst\b|given", "first_name", 0.9),
    (r"\blast\b|surname|family", "last_name", 0.9),
    (r"middle", "middle_name", 0.85),
    (r"suffix", "name_suffix", 0.85),
    (r"nick", "nickname", 0.85),
    (r"\bwho\b|nominee", "candidate_name", 0.8),
    (r"filed|filing|candidacy|updated|created|signature", "ignore", 0.8),
    (r"(?<!candi)date|\bday\b|\bwhen\b|\bpoll", "election_date", 0.8),
    (r"party", "party", 0.85),
    (r"web|url|site|link", "website", 0.85),
    (r"mail", "email", 0.85),
    (r"district|ward|zone|\bpost\b", "district", 0.75),
    (r"county|city|town|jurisdiction|municipal|place", "jurisdiction", 0.7),
    (r"\bstate\b", "state", 0.7),
    (r"office|contest|race|seat|position|running for|\brunning\b|\bfor\b", "office", 0.75),
    (r"name|candidate|who|nominee|person|runner", "candidate_name", 0.7),
]
_OFFICE_WORDS = re.compile(
    r"\b(mayor|council|alderm[ae]n|commissioner|board|trustee|sheriff|judge|clerk|senate|"
    r"house|assembly|governor|school|treasurer|auditor|attorney|supervisor|selectm[ae]n)\b",
    re.I,
)
_PERSON = re.compile(r"^[A-ZÀ-Ý][\w'’.-]*(?: [A-ZÀ-Ý(\"][\w'’.()\"-]*){1,4}$")


def _share(values: list[str], test) -> float:
    return sum(bool(test(v)) for v in values) / len(values) if values else 0.0


def _guess(header: str, values: list[str], refused: frozenset = frozenset()) -> tuple[str, float]:
    guess = _first_guess(header, values, refused)
    return guess if guess[0] not in refused else ("ignore", 0.3)


def _first_guess(header: str, values: list[str], refused: frozenset) -> tuple[str, float]:
    if values and _share(values, lambda v: re.match(r"^(https?://|www\.)", v, re.I)) > 0.6:
        return "website", 0.9
    if values and _share(values, lambda v: "@" in v and " " not in v) > 0.6:
        return "email", 0.9
    for pattern, role, confidence in _HEADER_WORDS:
        if role not in refused and re.search(pattern, header, re.I):
            return role, confidence
    if values and _share(values, lambda v: iso_date(v) and re.search(r"\d{4}", v)) > 0.6:
        return "election_date", 0.75
    if values and _share(values, lambda v: v.casefold().strip(".") in PARTIES) > 0.6:
        return "party", 0.8
    if values and _share(values, _OFFICE_WORDS.search) > 0.5:
        return "office", 0.7
    if values and _share(values, _PERSON.match) > 0.6:
        return "candidate_name", 0.65
    return "ignore", 0.3


def map_columns(table: dict, refused: list[dict] = ()) -> dict:
    """A role per column; told that some proposals were refused (and why), it proposes them no more."""
    headers, rows = table.get("headers", []), table.get("rows", [])
    guesses = []
    for index, header in enumerate(headers):
        if header:
            values = [r[index] for r in rows if index < len(r) and r[index]]
            not_again = frozenset(r.get("role") for r in refused if r.get("column") == header)
            guesses.append((header, *_guess(header, values, not_again)))
    taken, answer = set(), []
    for header, role, confidence in sorted(guesses, key=lambda g: -g[2]):
        if role != "ignore" and role in taken:
            role, confidence = "ignore", 0.4
        taken.add(role)
        answer.append({"column": header, "role": role, "confidence": confidence})
    return {"columns": answer}
