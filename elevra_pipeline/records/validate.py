"""Hold the model's answer against the batch's own rows before anything is stored.

The model may tidy what the rows say (case, spelling, word order, a dropped middle name, a party's
full name); it may not add people, dates or links the rows do not support. A rule that fails raises
InvalidModelOutput with a reason, and the call counts as invalid output (retried, then the batch
needs re-upload with that reason). What is only cleaned (markup, unsupported links, a repeated
candidate) is kept as a note on the batch and shown in the workbook and the final e-mail.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher

from elevra_pipeline.exceptions import InvalidModelOutput
from elevra_pipeline.records.sanitize import clean_text, safe_url

SPELLING_SIMILARITY = 0.85  # a corrected spelling still reads as the same name
MAX_SHOWN = 5


@dataclass
class CheckedOutput:
    value: dict
    notes: list[str] = field(default_factory=list)


def name_tokens(name: str) -> list[str]:
    """Lower-case words without accents or punctuation: 'SMITH, José A.' -> ['smith', 'jose', 'a']."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^\w]+", " ", plain.casefold()).split()


def _same_token(a: str, b: str) -> bool:
    return a == b or (len(a) == 1 and b.startswith(a)) or (len(b) == 1 and a.startswith(b))


def same_person(candidate: list[str], row: list[str]) -> bool:
    """Every word of the model's name is in the row's (initials count), or the spelling is close."""
    if not candidate or not row:
        return False
    if all(any(_same_token(t, r) for r in row) for t in candidate):
        return True
    return SequenceMatcher(None, " ".join(sorted(candidate)), " ".join(sorted(row))).ratio() >= SPELLING_SIMILARITY


def row_names(rows: list[dict]) -> list[list[str]]:
    return [
        name_tokens(clean_text(r.get("candidate_name")).text + " " + clean_text(r.get("nickname")).text)
        for r in rows
        if r.get("candidate_name")
    ]


def real_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or "") else None
    except ValueError:
        return None


def check_date(value: str, rows_date: str, what: str) -> None:
    """A real calendar date, and the rows' own date when they have one."""
    parsed = real_date(value)
    if parsed is None:
        raise InvalidModelOutput(f"{what} date '{value[:40]}' is not a real calendar date (YYYY-MM-DD)")
    if real_date(rows_date) and value != rows_date:
        raise InvalidModelOutput(f"{what} date {value} is not the rows' date {rows_date}")


def check_analysis(analysis, rows: list[dict], rows_date: str):
    """The analysis guides the next call; an impossible count or date makes it useless."""
    names = row_names(rows)
    if analysis.candidate_count > len(names):
        raise InvalidModelOutput(f"analysis counts {analysis.candidate_count} candidates in {len(names)} named row(s)")
    if analysis.election_date:
        check_date(analysis.election_date, rows_date, "analysis")
    return analysis


def _text(value, field_name: str, notes: list[str], max_length: int = 255) -> str:
    cleaned = clean_text(value, max_length)
    if cleaned.removed:
        notes.append(f"removed markup from {field_name}: " + " ".join(cleaned.removed)[:200])
    return cleaned.text


def _shown(items: list[str]) -> str:
    more = len(items) - MAX_SHOWN
    return ", ".join(items[:MAX_SHOWN]) + (f" and {more} more" if more > 0 else "")


class _Links:
    """Only links whose host appears somewhere in the rows: the model may not add web addresses."""

    def __init__(self, rows: list[dict], notes: list[str]):
        self.text = " ".join(str(v) for r in rows for k, v in r.items() if k != "source").casefold()
        self.notes = notes

    def supported(self, value, where: str) -> str | None:
        if not value:
            return None
        url = safe_url(clean_text(value, 2000).text)
        host = (re.sub(r"^https?://", "", url or "", flags=re.I).split("/")[0].removeprefix("www.")).casefold()
        if url and host and host in self.text:
            return url
        self.notes.append(f"dropped {where} link not found in the rows: {str(value)[:120]}")
        return None


TYPES = ("general", "primary", "special", "runoff", "municipal")


def rows_type(rows: list[dict], answered: str, notes: list[str]) -> str:
    """The election type the rows give (the list, its election code or the upload's option) wins over
    the model's; the model's stands only where the rows say nothing."""
    given = [r.get("election_type") for r in rows if r.get("election_type") in TYPES]
    if not given:
        return answered
    kind = max(set(given), key=given.count)
    if kind != answered:
        notes.append(f"election type '{answered}' from the model replaced by the rows' '{kind}'")
    return kind


def check_structured(structured, rows: list[dict], rows_date: str) -> CheckedOutput:
    """The structured batch, cleaned, with notes; InvalidModelOutput when it says what the rows do not."""
    names = row_names(rows)
    candidates = structured.candidates
    if len(candidates) > len(names):
        raise InvalidModelOutput(f"{len(candidates)} candidates for {len(names)} named row(s) in the batch")
    e = structured.election
    check_date(e.election_date, rows_date, "election")
    notes: list[str] = []
    links = _Links(rows, notes)
    election = {
        "name": _text(e.name, "election name", notes, 400),
        "jurisdiction": _text(e.jurisdiction, "jurisdiction", notes),
        "office": _text(e.office, "office", notes),
        "district": _text(e.district, "district", notes),
        "election_date": e.election_date,
        "election_type": rows_type(rows, e.election_type, notes),
        "links": [
            {"url": url, "kind": _text(link.kind, "link kind", notes, 32) or "website"}
            for link in e.links
            if (url := links.supported(link.url, "an election"))
        ],
    }
    invented, kept, seen = [], [], set()
    for c in candidates:
        name = _text(c.name, f"candidate name '{c.name[:60]}'", notes)
        tokens = name_tokens(name)
        if not tokens:
            notes.append(f"dropped a candidate whose name was only markup: {c.name[:120]}")
            continue
        if not any(same_person(tokens, row) for row in names):
            invented.append(name)
            continue
        if " ".join(sorted(tokens)) in seen:
            notes.append(f"dropped a repeated candidate: {name}")
            continue
        seen.add(" ".join(sorted(tokens)))
        kept.append(
            {
                "name": name,
                "party": _text(c.party, f"party of {name}", notes, 120),
                "website": links.supported(c.website, f"{name}'s") or "",
                "links": [
                    {"url": url, "kind": _text(link.kind, "link kind", notes, 32) or "website"}
                    for link in c.links
                    if (url := links.supported(link.url, f"{name}'s"))
                ],
            }
        )
    if invented:
        raise InvalidModelOutput(f"{len(invented)} candidate(s) not in the batch's rows: {_shown(invented)}")
    return CheckedOutput({"election": election, "candidates": kept}, notes)
