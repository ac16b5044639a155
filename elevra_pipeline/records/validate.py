"""Hold the model's answer against the batch's own rows before anything is stored.

The rows are the truth for who is stored and what is said of them (records.candidates): the model
only picks which row each candidate is. Its name must be that row's name, written differently at
most (case, accents, word order, a dropped middle name, a respelt word…), and the row's name is stored
(a changed accent or spelling is counted in a note); the party
is the row's (a known abbreviation written out); a website or candidate link must have its host in
that candidate's own row, the row's website is stored when it has one; election links may come from
any row. A rule that fails raises InvalidModelOutput with a reason that shows the difference
("'Keisha Ann Brown' is not the row's 'Keisha Brown'", "Jane Doe's party 'Republican' is not the row's
'DEM' (it is John Smith's)"): the call counts as invalid output (retried on the chain's models, then
the batch waits for the model and the team is told; it needs re-upload only when the rows themselves
fail the check, `in_the_rows`). What is only cleaned (markup, a link written in no candidate's row, a
repeated candidate) is kept as a note on the batch and shown in the workbook and the final e-mail.
"""

import re
from dataclasses import dataclass, field
from datetime import date

from elevra_pipeline.exceptions import InvalidModelOutput
from elevra_pipeline.records.candidates import Candidates, noted_text


@dataclass
class CheckedOutput:
    value: dict
    notes: list[str] = field(default_factory=list)


def real_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text or "") else None
    except ValueError:
        return None


def check_date(value: str, rows_date: str, what: str) -> None:
    """A real calendar date, and the rows' own date when they have one."""
    parsed = real_date(value)
    if parsed is None:
        rows_bad = bool(rows_date) and real_date(rows_date) is None  # no answer can give the rows' own date
        raise InvalidModelOutput(
            f"{what} date '{value[:40]}' is not a real calendar date (YYYY-MM-DD)", in_the_rows=rows_bad
        )
    if real_date(rows_date) and value != rows_date:
        raise InvalidModelOutput(f"{what} date {value} is not the rows' date {rows_date}")


def check_analysis(analysis, rows: list[dict], rows_date: str):
    """The analysis guides the next call; an impossible count or date makes it useless."""
    named = sum(bool(r.get("candidate_name")) for r in rows)
    if analysis.candidate_count > named:
        raise InvalidModelOutput(f"analysis counts {analysis.candidate_count} candidates in {named} named row(s)")
    if analysis.election_date:
        check_date(analysis.election_date, rows_date, "analysis")
    return analysis


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
    notes: list[str] = []
    rows_of = Candidates(rows, notes)
    if len(structured.candidates) > len(rows_of.named):
        raise InvalidModelOutput(
            f"{len(structured.candidates)} candidates for {len(rows_of.named)} named row(s) in the batch"
        )
    e = structured.election
    check_date(e.election_date, rows_date, "election")
    election = {
        "name": noted_text(e.name, "election name", notes, 400),
        "jurisdiction": noted_text(e.jurisdiction, "jurisdiction", notes),
        "office": noted_text(e.office, "office", notes),
        "district": noted_text(e.district, "district", notes),
        "election_date": e.election_date,
        "election_type": rows_type(rows, e.election_type, notes),
        "links": [
            {"url": url, "kind": noted_text(link.kind, "link kind", notes, 32) or "website"}
            for link in e.links
            if (url := rows_of.election_link(link.url))
        ],
    }
    kept = rows_of.check(structured.candidates)
    if reasons := rows_of.reasons():
        raise InvalidModelOutput("; ".join(reasons))
    return CheckedOutput({"election": election, "candidates": kept}, notes)
