"""A raw file leaves the upload bucket once its upload is finished: the source document asks to purge
raw uploads after their jobs complete (the parsed rows suffice), unless flagged for debugging.

Finished means `completed`: every race inserted, or handed over to a later upload. While races need a
fix the file stays where the admin dropped it, since the documented fix is to drop a sidecar beside it
(or the file again, changed); a rejected, failed or cancelled upload keeps it too, as does one flagged
`debug`. The sensor remembers which bucket file brought which upload (its key, and its ETag or content
hash); only those same bytes go: a file of the same name with other content is another upload and
stays. `ELEVRA_PROCESSED_FILES`: `delete` (the default, the source document's purge) or `move`, under
`processed/<partition>/` in the bucket, which the sensor never looks into.
"""

import os
from pathlib import Path

from sqlalchemy import select

from elevra_pipeline.intake.object_bucket import PROCESSED
from elevra_pipeline.storage.batch_rules import UploadStatus
from elevra_pipeline.storage.models import Upload
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.registration import file_hash

PROCESSED_FILES = ("delete", "move")


class FolderBucket:
    """The upload bucket as a local folder: its top-level files are uploads, `processed/` is not looked into."""

    def __init__(self, folder: Path):
        self.folder = folder

    def version(self, name: str) -> str | None:
        """The file's content hash now (None: gone); read once, when its upload has finished."""
        path = self.folder / name
        return file_hash(path) if path.is_file() else None

    def put_away(self, name: str, how: str, folder: str) -> str:
        """Delete the file and its sidecar, or move both to `processed/<folder>/`; what became of the file."""
        target = self.folder / PROCESSED / folder
        for each in (name, f"{name}.json"):
            path = self.folder / each
            if not path.is_file():
                continue
            if how == "move":
                target.mkdir(parents=True, exist_ok=True)
                os.replace(path, target / each)
            else:
                path.unlink()
        return f"moved to {target / name}" if how == "move" else "deleted"


def remember_bucket_file(repo: Repository, upload_id: int, key: str, version: str) -> None:
    """The bucket file `key`, at `version` (ETag or content hash), holds this upload's bytes."""
    summary = repo.get_upload_by_id(upload_id).summary_json or {}
    repo.merge_summary(upload_id, bucket_files={**summary.get("bucket_files", {}), key: version})


def finished_with_bucket_files(repo: Repository) -> list[Upload]:
    with repo.unit_of_work() as s:
        return list(
            s.scalars(
                select(Upload)
                .where(
                    Upload.status == UploadStatus.COMPLETED,
                    Upload.keep_raw_file.is_not(True),
                    Upload.summary_json["bucket_files"].as_string().is_not(None),
                )
                .order_by(Upload.id)
            )
        )


def put_away_finished(repo: Repository, bucket, how: str) -> tuple[list[str], list[str]]:
    """Each finished upload's files still in the bucket, unchanged, deleted or moved (`how`). The keys
    put away, and a line for each (or for what failed: it is tried again on the next call)."""
    done, said = [], []
    for upload in finished_with_bucket_files(repo):
        summary = upload.summary_json or {}
        left, outcome = {}, dict(summary.get("bucket_files_put_away", {}))
        for key, version in summary["bucket_files"].items():
            try:
                if bucket.version(key) != version:
                    continue  # gone, or other bytes under the same name: not this upload's file any more
                outcome[key] = bucket.put_away(key, how, upload.partition_key)
            except Exception as e:  # one file's trouble must not stop the others
                left[key] = version
                said.append(f"{key}: upload {upload.id} finished, but its file stays ({type(e).__name__}: {e})")
                continue
            done.append(key)
            said.append(f"{key}: upload {upload.id} finished; its file was {outcome[key]}")
        rest = {k: v for k, v in summary.items() if k != "bucket_files"}
        repo.update_upload(
            upload.id,
            summary_json={**rest, **({"bucket_files": left} if left else {}), "bucket_files_put_away": outcome},
        )
    return done, said
