"""Group rows into election batches: one batch per jurisdiction, office, district and date."""

import hashlib
import re
from dataclasses import dataclass

import pandas as pd
from slugify import slugify


def normalize_date(text: str) -> str:
    """ISO date when the cell reads as one (Excel dates, 11/3/2026, Nov 3 2026); else as written."""
    if not text:
        return ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}( 00:00:00)?", text):
        return text[:10]
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


def group_rows(rows: list[dict]) -> list[BatchDraft]:
    groups: dict[tuple, list[dict]] = {}
    labels: dict[tuple, tuple] = {}
    for row in rows:
        row["election_date"] = normalize_date(row["election_date"])
        label = (row["jurisdiction"], row["office"], row["district"], row["election_date"])
        key = tuple(part.casefold() for part in label)
        groups.setdefault(key, []).append(row)
        labels.setdefault(key, label)
    drafts = []
    for key, members in groups.items():
        jurisdiction, office, district, date = labels[key]
        digest = hashlib.sha1("|".join(key).encode()).hexdigest()[:8]
        slug = slugify(f"{jurisdiction} {office} {district}", max_length=80) or "batch"
        drafts.append(BatchDraft(f"{slug}-{digest}", jurisdiction, office, district, date, members))
    return drafts


def partition_key_for(filename: str, content_hash: str) -> str:
    """Safe slug keys: Dagster's UI does not cope with `/`, `,` or `...` in partition keys."""
    stem = filename.rsplit(".", 1)[0]
    return f"{slugify(stem, max_length=60) or 'upload'}-{content_hash[:10]}"
