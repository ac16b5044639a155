"""A revision of an upload: the same file with new settings (a changed or late sidecar, `process
--election-date …`, `retry ID --election-date …`) re-opens it instead of being ignored as a duplicate.

The file is read again with the new settings. Rows already settled (inserted, skipped or cancelled
by an admin) stay as they are; the other rows are grouped again: a batch that needed re-upload for
a reason the settings fix is redone, and an open batch whose rows now form other batches is
superseded (kept, with the reason, for the upload's history; never counted again).
"""

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from elevra_pipeline.intake.batching import BatchDraft
from elevra_pipeline.intake.options import UploadOptions
from elevra_pipeline.storage.batch_rules import (
    RESENT,
    BatchStatus,
    FailureKind,
    UploadStatus,
    sent_again,
    upload_status,
)

# what the admin may change by sending the same file again (the uploader's address is not a setting)
REVISABLE = (
    "election_date",
    "jurisdiction",
    "state",
    "columns",
    "include_hidden_sheets",
    "election_type",
    "open_primary",
    "include_not_on_ballot",
    "mode",
    "deadline",
    "date_order",
    "review",
)
SETTLED = (BatchStatus.INSERTED, BatchStatus.SKIPPED, BatchStatus.CANCELLED)
# open batches a revision may supersede: not started, failed, waiting, or part-way through the model
REGROUPABLE = (
    BatchStatus.PENDING,
    BatchStatus.NEEDS_REUPLOAD,
    BatchStatus.WAITING_FOR_MODEL,
    BatchStatus.ANALYZED,
    BatchStatus.STRUCTURED,
)


def settings_changes(before: dict, given: set[str], options: UploadOptions) -> dict:
    """The settings given now that differ from the upload's: {name: new value}. A setting not given
    again keeps its value (a re-sent file without a sidecar does not undo the earlier one)."""
    now = options.model_dump(mode="json")
    return {name: now[name] for name in REVISABLE if name in given and now[name] != before.get(name)}


def revision_entry(number: int, changes: dict, by: str) -> dict:
    """One line of the upload's history."""
    return {"revision": number, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "by": by, **changes}


def _source(row: dict) -> tuple:
    """Where a row came from: a sheet row, or one cell of it (a results layout reads several candidates
    from one row of names)."""
    source = row.get("source") or {}
    return source.get("sheet"), source.get("row"), source.get("column")


@dataclass
class Regrouping:
    drafts: list[BatchDraft] = field(default_factory=list)  # to save (known keys are kept as they are)
    reopened: list = field(default_factory=list)  # (batch, draft): failed on data, fixed by the settings
    superseded: list = field(default_factory=list)  # open batches whose rows are now in other batches


def regroup(known: list, drafts: list[BatchDraft]) -> Regrouping:
    """What reading the file again means for the upload's stored batches (`known`: all of them, the
    superseded too). On a plain re-run (same settings) it changes nothing: every draft's key is known
    and no batch is superseded. Races the uploader sent again in another upload stay settled."""
    settled = {_source(r) for b in known if b.status in SETTLED or sent_again(b) for r in b.rows_json or []}
    by_key = {b.batch_key: b for b in known}
    result, kept = Regrouping(), set()
    for draft in drafts:
        rows = [r for r in draft.rows if _source(r) not in settled]
        if not rows:
            kept.add(draft.batch_key)
            continue
        batch = by_key.get(draft.batch_key)
        if batch is not None and batch.status in SETTLED:  # settled, and new rows of the same contest
            digest = hashlib.sha1(repr(sorted(map(_source, rows))).encode()).hexdigest()[:6]
            draft = replace(draft, batch_key=f"{draft.batch_key}-{digest}"[:200])
            batch = by_key.get(draft.batch_key)
        draft = replace(draft, rows=rows)
        kept.add(draft.batch_key)
        if batch is None or batch.status == BatchStatus.SUPERSEDED:
            result.drafts.append(draft)
        elif fixed_by_settings(batch, draft):
            result.reopened.append((batch, draft))
    result.superseded = [b for b in known if b.batch_key not in kept and b.status in REGROUPABLE]
    return result


def fixed_by_settings(batch, draft: BatchDraft) -> bool:
    """A batch that needed re-upload for its data, whose rows the new settings make usable."""
    return batch.status == BatchStatus.NEEDS_REUPLOAD and batch.failure_kind == FailureKind.DATA and not draft.problem


def superseded_fields(revision: int) -> dict:
    return {
        "status": BatchStatus.SUPERSEDED,
        "error_reason": f"revision {revision} of the upload put these rows in other batches",
        "lease_owner": None,
    }


def reopened_fields(draft: BatchDraft) -> dict:
    return {
        "status": BatchStatus.PENDING,
        "error_reason": None,
        "failure_kind": None,
        "rows_json": draft.rows,
        "row_count": len(draft.rows),
    }


def races_sent_again(original_batches: list, rows: list[dict]) -> list:
    """The races of an earlier upload that needed a fix and whose every candidate comes back in `rows`
    (same place and office): the uploader sent them again, fixed, in the result workbook."""
    key = lambda r: tuple(str(r.get(f) or "").casefold() for f in ("jurisdiction", "office", "candidate_name"))  # noqa: E731
    sent = {key(r) for r in rows}
    return [
        b
        for b in original_batches
        if b.status == BatchStatus.NEEDS_REUPLOAD and b.rows_json and all(key(r) in sent for r in b.rows_json)
    ]


def sent_again_fields(upload) -> dict:
    return {
        "status": BatchStatus.SUPERSEDED,
        "failure_kind": RESENT,
        "error_reason": f"sent again, fixed, in upload {upload.id} ({upload.original_filename})",
    }


def earlier_upload(repo, upload, claim: dict | None):
    """The upload this one brings races of again: the one its result workbook names (believed only when
    that upload exists with the file name the workbook gives), else the latest earlier upload of the
    same file name (a changed file). (upload, how) or (None, None)."""
    if claim:
        named = repo.get_upload_by_id(claim["upload_id"])
        if named is not None and named.id != upload.id and named.original_filename == claim["file"]:
            return named, "returned"
        return None, None
    same = repo.latest_upload_named(upload.original_filename, upload.id, UploadStatus.CANCELLED)
    return (same, "replaced") if same is not None else (None, None)


def take_back(repo, upload, earlier, rows: list[dict], how: str) -> str:
    """A later upload that brings races of an earlier one again, fixed (`how`: "returned" for its
    result workbook sent back, "replaced" for a changed file of the same name): those races are
    handed over to it, and the two uploads name each other (status, e-mails, workbook)."""
    resent = races_sent_again(repo.batches(earlier.id), rows)
    if how == "replaced" and not resent:  # a common name ("candidates.xlsx") is not a link by itself
        return f"upload {earlier.id} has the same file name but none of its races to fix comes again"
    repo.update_batches([(b.id, sent_again_fields(upload)) for b in resent])
    repo.update_upload(earlier.id, status=upload_status(earlier, repo.batches(earlier.id)))
    repo.merge_summary(earlier.id, replaced_by={"upload_id": upload.id, "file": upload.original_filename, "how": how})
    repo.merge_summary(upload.id, replaces={"upload_id": earlier.id, "file": earlier.original_filename, "how": how})
    return f"upload {upload.id} replaces upload {earlier.id} ({how}): {len(resent)} of its races sent again, fixed"
