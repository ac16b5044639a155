"""Clean-up: raw files go once their upload completes; old finished uploads are archived then deleted.

Elections, candidates and their links are live records: never deleted here. An upload is only
expired when it is finished and older than the retention age, together with what references it
(its batches, attempts and e-mail log), after writing them to a JSON-lines archive.
"""

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg

from elevra_pipeline.defs.partitions import uploads_partitions
from elevra_pipeline.defs.resources import AppResource, DatabaseResource, EmailResource
from elevra_pipeline.storage.batch_rules import ENDED, UploadStatus
from elevra_pipeline.storage.files import EXPIRED, FileStore, is_object_ref
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.storage.retention import expire_uploads


def purge_raw_file(repo: Repository, upload, files: FileStore) -> bool:
    """Parsed rows suffice once every batch of an upload is inserted; the file is kept while batches
    need re-upload (`retry ID --election-date …` reads it again) and when flagged for debugging."""
    if upload.keep_raw_file or not upload.stored_path or upload.status != UploadStatus.COMPLETED:
        return False
    files.delete(upload.stored_path)
    repo.update_upload(upload.id, stored_path=None)
    return True


def _row(obj) -> dict:
    return {
        c.name: (v.isoformat() if isinstance(v := getattr(obj, c.name), datetime) else v) for c in obj.__table__.columns
    }


def expire_old_uploads(repo: Repository, older_than_days: float, files: FileStore, expired: list | None = None) -> dict:
    """Archive then delete finished uploads older than the retention age, in one transaction. The archive
    `expired-*.jsonl` is stored (in `archive/expired/`) only once the deletion is committed: a failed run
    leaves no archive of rows that are still in the database. `expired` gets each deleted upload row (its
    partition and files go after the commit)."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=older_than_days)
    gone = [] if expired is None else expired
    with files.writing_folder(EXPIRED) as folder:
        archive = folder / f"expired-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}.jsonl"
        counts = _archive_while_expiring(repo, cutoff, archive, gone)
        if counts["uploads"]:
            files.put(EXPIRED, archive.name, archive)
    return counts


def _archive_while_expiring(repo: Repository, cutoff: datetime, archive: Path, gone: list) -> dict:
    partial = archive.with_suffix(".jsonl.part")
    try:
        with partial.open("w") as out:

            def keep(row) -> None:
                out.write(json.dumps({"table": row.__tablename__, **_row(row)}, default=str) + "\n")
                if row.__tablename__ == "uploads":
                    gone.append(row)

            counts = expire_uploads(repo, ENDED, cutoff, keep)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if counts["uploads"]:
        partial.replace(archive)
    else:
        partial.unlink()
    return counts


def remove_files(files: FileStore, refs: list[str | None]) -> int:
    removed = 0
    for ref in filter(None, refs):
        if files.delete(ref):
            removed += 1
            folder = Path(ref).parent
            if not is_object_ref(ref) and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()  # the archive keeps one folder per upload
    return removed


def old_outbox_files(outbox: Path, older_than_days: float) -> list[str]:
    """`.eml` files of the local outbox older than the retention age (the e-mail log stays in the database)."""
    cutoff = time.time() - older_than_days * 86400
    return [str(p) for p in outbox.rglob("*.eml") if p.stat().st_mtime < cutoff] if outbox.is_dir() else []


@dg.op
def expire_old_records(
    context: dg.OpExecutionContext, database: DatabaseResource, app: AppResource, email: EmailResource
) -> None:
    """Archive, then delete, finished uploads older than ELEVRA_RETENTION_DAYS (default 180); then their
    partitions, workbooks and stored files, and the outbox's e-mails older than that, so a year of daily
    uploads does not grow without bound."""
    days, expired = app.retention_days, []
    try:
        counts = expire_old_uploads(database.repository(), days, app.files(), expired)
    except Exception as e:  # one transaction: nothing was deleted; the failure sensor tells the team
        raise dg.Failure(f"retention clean-up failed, nothing was deleted: {type(e).__name__}: {e}"[:2000]) from e
    partitions = set(context.instance.get_dynamic_partitions(uploads_partitions.name))
    for upload in expired:
        if upload.partition_key in partitions:
            context.instance.delete_dynamic_partition(uploads_partitions.name, upload.partition_key)
    files = remove_files(app.files(), [u.workbook_path for u in expired] + [u.stored_path for u in expired])
    files += remove_files(app.files(), old_outbox_files(Path(email.outbox_dir), days))
    context.log.info(
        f"expired records older than {days:g} days: {counts}; {len(expired)} partition(s) and {files} file(s) removed"
    )


@dg.job(tags={"elevra/kind": "maintenance"})
def retention_cleanup():
    expire_old_records()


retention_schedule = dg.ScheduleDefinition(
    job=retention_cleanup,
    cron_schedule="0 4 * * 0",
    execution_timezone="America/Los_Angeles",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
