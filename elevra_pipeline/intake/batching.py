"""Group rows into election batches: one batch per jurisdiction, office, district, date and primary."""

import hashlib
import re
from dataclasses import dataclass

import pandas as pd
from slugify import slugify

from elevra_pipeline.intake.dates import NUMERIC_DATE, DateOrder, read_numeric_date
from elevra_pipeline.intake.offices import missing_place
from elevra_pipeline.intake.options import plausible_date

MISSING_DATE = (
    "no election date: add an 'Election Date' column, or give the date for the whole file "
    '("election_date": "YYYY-MM-DD" in the sidecar, or --election-date) and upload it again'
)
MISSING_PLACE = (
    "no place for this local race: add a jurisdiction column (the county, city or district it is for), or give "
    'the place for the whole file ("jurisdiction": "…" in the sidecar, or --jurisdiction) and upload it again'
)
GROUP_FIELDS = ("jurisdiction", "office", "district", "election_date", "primary_party")


def normalize_date(text: str) -> str:
    """ISO date when the cell reads as one (Excel dates, 11/3/2026, Nov 3 2026); else as written."""
    if not text:
        return ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}( 00:00:00)?", text):
        return text[:10]
    if NUMERIC_DATE.fullmatch(text.strip()):  # never day-first by guess: see intake.dates
        return read_numeric_date(text, DateOrder.MDY) or text
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    return text if pd.isna(parsed) else parsed.date().isoformat()


@dataclass
class BatchDraft:
    batch_key: str
    jurisdiction: str
    office: str
    district: str
    election_date: str
    rows: list[dict]
    problem: str | None = None  # a reason in the data: the batch needs re-upload, no model call is made


def date_problem(election_date: str) -> str | None:
    """The batch rule for dates: a real calendar date between 1900 and 2100, or a reason a person understands."""
    if not election_date:
        return MISSING_DATE
    if not plausible_date(election_date):
        return (
            f"election date '{election_date}' is not a date we can read: write it as YYYY-MM-DD "
            "(e.g. 2026-11-03) and upload again"
        )
    return None


def contest_problem(row: dict) -> str | None:
    """Why a contest cannot be stored as it is: no usable date, or a local race with no place (its
    office and district name none: `County Treasurer`, `Dewey` names one)."""
    office, district = row.get("office", ""), row.get("district", "")
    unplaced = missing_place(
        f"{office} {district}", row.get("jurisdiction", ""), row.get("state") or "", row.get("level", "")
    )
    election_date = row["election_date"]
    return date_problem(election_date) or (MISSING_PLACE if unplaced else None)


def group_rows(rows: list[dict]) -> list[BatchDraft]:
    groups: dict[tuple, list[dict]] = {}
    labels: dict[tuple, tuple] = {}
    dates: dict[str, str] = {}
    for row in rows:
        raw = row["election_date"]
        row["election_date"] = dates[raw] if raw in dates else dates.setdefault(raw, normalize_date(raw))
        label = tuple(row.get(f, "") for f in GROUP_FIELDS)
        key = tuple(part.casefold() for part in label)
        groups.setdefault(key, []).append(row)
        labels.setdefault(key, label)
    drafts = []
    for key, members in groups.items():
        jurisdiction, office, district, date, primary = labels[key]
        digest = hashlib.sha1("|".join(key if primary else key[:4]).encode()).hexdigest()[:8]  # keys before primaries
        slug = slugify(f"{jurisdiction} {office} {district} {primary}", max_length=80) or "batch"
        problem = contest_problem(members[0])
        drafts.append(BatchDraft(f"{slug}-{digest}", jurisdiction, office, district, date, members, problem))
    return drafts


def partition_key_for(filename: str, content_hash: str) -> str:
    """Safe slug keys: Dagster's UI does not cope with `/`, `,` or `...` in partition keys."""
    stem = filename.rsplit(".", 1)[0]
    return f"{slugify(stem, max_length=60) or 'upload'}-{content_hash[:10]}"
