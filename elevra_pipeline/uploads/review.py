"""Review before publishing: an upload in review stages its records until an admin approves them.

The insert step of an upload in review (`review` in its options, else the deployment's `ELEVRA_REVIEW`)
inserts nothing: it works out what the upload would change (the same insert, in a transaction that
is rolled back) and the upload waits as `awaiting_approval`, its change report in the workbook and
the e-mail. `approve ID` lets the next run insert; `discard ID` drops the staged races.
"""

from elevra_pipeline.records.insert import Source, insert_structured
from elevra_pipeline.records.withdrawn import mark_not_on_ballot
from elevra_pipeline.storage.batch_rules import BatchStatus, UploadStatus
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.admin import allowed_upload
from elevra_pipeline.uploads.revision import revision_entry
from elevra_pipeline.uploads.transitions import AdminAction
from elevra_pipeline.workbook.summary import upload_changes


class _Preview(Exception):
    def __init__(self, report: dict):
        self.report = report


def in_review(upload, review_by_default: bool) -> bool:
    """The upload's records wait for approval (its option wins over the deployment's default)."""
    option = (upload.options_json or {}).get("review")
    wanted = review_by_default if option is None else bool(option)
    return wanted and not (upload.summary_json or {}).get("approved")


def preview_changes(repo: Repository, upload, batches, base_url: str, party_of) -> dict:
    """What inserting `batches` would change: inserted in one transaction, reported, rolled back."""
    try:
        with repo.unit_of_work() as session:
            for batch in batches:
                insert_structured(
                    repo, batch.structured_json, base_url, party_of(batch.rows_json), Source.of(upload), session
                )
            marked = (upload.intake_json or {}).get("not_on_ballot", [])
            mark_not_on_ballot(repo, marked, Source.of(upload), session)  # a withdrawal shows in review too
            raise _Preview(upload_changes(repo, upload.id, session))
    except _Preview as preview:
        return preview.report


def _history(upload, entry: dict) -> list:
    history = list((upload.summary_json or {}).get("revisions", []))
    return history + [revision_entry(len(history) + 2, entry, "admin")]


def approve(repo: Repository, upload_id: int, note: str = "") -> str:
    upload = allowed_upload(repo, upload_id, AdminAction.APPROVE)
    repo.update_upload(upload_id, status=UploadStatus.PROCESSING)
    repo.merge_summary(upload_id, approved=True, revisions=_history(upload, {"approved": note or "published"}))
    return f"upload {upload_id} approved: its next run inserts the staged records (partition {upload.partition_key})"


def discard(repo: Repository, upload_id: int, note: str = "") -> str:
    upload = allowed_upload(repo, upload_id, AdminAction.DISCARD)
    staged = repo.batches(upload_id, (BatchStatus.STRUCTURED,))
    reason = f"discarded in review{': ' + note if note else ''}"
    repo.update_batches([(b.id, {"status": BatchStatus.CANCELLED, "admin_note": reason}) for b in staged])
    repo.update_upload(upload_id, status=UploadStatus.CANCELLED, failure_reason=reason)
    repo.merge_summary(upload_id, revisions=_history(upload, {"discarded": note or "staged records dropped"}))
    return f"upload {upload_id}: {len(staged)} staged race(s) discarded; nothing was published"


def changes_shown(upload) -> dict:
    """The Changes sheet's content, for the page and the admin app: in review, what approval would do to
    each election and candidate (the rolled-back preview); else what the upload's last run did."""
    summary = upload.summary_json or {}
    staged = upload.status == UploadStatus.AWAITING_APPROVAL
    report = summary.get("preview" if staged else "changes") or {}
    return {
        "upload_id": upload.id,
        "staged": staged,
        "counts": report.get("counts") or {},
        "rows": report.get("rows") or [],
    }
