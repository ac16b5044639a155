"""Where every row of an upload ended: a candidate record, a batch needing re-upload, or dropped with a reason.

Intake already decided the header rows and the rows it dropped; here the kept rows are followed
through their batch. A row of an inserted batch counts as a candidate record only when the batch's
own checked answer (what it inserted) carries its name (case, spacing, accents and word order aside,
or the same person by `records.identity`); a row the model left out is dropped with that reason
instead of vanishing. The batch's answer, not today's records, so a later upload that renames the
candidate, or a revert, does not change where this upload's rows ended.
"""

import re
import unicodedata
from collections import Counter

from elevra_pipeline.intake.accounting import DropReason
from elevra_pipeline.records.identity import same_candidate
from elevra_pipeline.records.sanitize import plain_text
from elevra_pipeline.storage.batch_rules import BatchStatus, sent_again
from elevra_pipeline.storage.models import ElectionBatch, Upload
from elevra_pipeline.storage.repository import Repository

OPEN_STATUSES = (BatchStatus.PENDING, BatchStatus.ANALYZED, BatchStatus.STRUCTURED, BatchStatus.WAITING_FOR_MODEL)


def name_match_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().casefold()
    return " ".join(sorted(re.findall(r"[a-z0-9]+", text)))


def _matches(name: str, inserted: list[str]) -> bool:
    """`name` as the row gave it, cleaned as stored names are (records.sanitize), against the inserted ones."""
    cleaned = plain_text(name)
    key = name_match_key(cleaned)
    return any(key == name_match_key(n) or same_candidate(cleaned, n) for n in inserted)


def account_rows(repo: Repository, upload: Upload, batches: list[ElectionBatch]) -> tuple[dict, list[dict]]:
    """(counts, dropped rows) for the whole upload; counts["read"] equals the sum of the outcomes."""
    intake = upload.intake_json or {}
    dropped = [dict(d) for d in intake.get("dropped", [])]
    counts: Counter[str] = Counter(
        {"candidates": 0, "needs_reupload": 0, "in_progress": 0, "header": intake.get("header_rows", 0)}
    )
    for batch in batches:
        rows = batch.rows_json or []
        if batch.status == BatchStatus.INSERTED:
            inserted = [c.get("name", "") for c in (batch.structured_json or {}).get("candidates", [])]
            for row in rows:
                if _matches(row.get("candidate_name", ""), inserted):
                    counts["candidates"] += 1
                else:
                    dropped.append(
                        {
                            "sheet": row["source"]["sheet"],
                            "row": row["source"]["row"],
                            "last_row": None,
                            "reason": DropReason.NOT_IN_MODEL_OUTPUT.value,
                            "detail": f"'{row.get('candidate_name', '')}' in batch {batch.batch_key}",
                        }
                    )
        elif batch.status == BatchStatus.NEEDS_REUPLOAD:
            counts["needs_reupload"] += len(rows)
        elif batch.status in OPEN_STATUSES:
            counts["in_progress"] += len(rows)
        else:  # skipped or cancelled by an admin
            counts["needs_reupload"] += len(rows)
    resent = [b for b in repo.batches(upload.id, superseded=True) if sent_again(b)]
    if resent:  # fixed by the uploader in another upload (the result workbook sent back)
        counts["sent_again"] = sum(len(b.rows_json or []) for b in resent)
    counts["dropped"] = sum((d.get("last_row") or d["row"]) - d["row"] + 1 for d in dropped)
    counts["read"] = intake.get("rows_read", sum(counts.values()))
    return dict(counts), dropped
