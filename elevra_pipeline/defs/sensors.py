"""Watch the upload bucket (a local folder or S3-compatible object storage): each new file becomes one
upload partition and one run."""

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import dagster as dg
from dagster_aws.s3 import S3Resource

from elevra_pipeline.api.actions import ActionLog
from elevra_pipeline.defs.jobs import process_upload_job
from elevra_pipeline.defs.partitions import uploads_partitions
from elevra_pipeline.defs.resources import AppResource, DatabaseResource, EmailResource
from elevra_pipeline.intake.object_bucket import BucketUrl, ObjectBucket
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.storage.batch_rules import COMPLETE
from elevra_pipeline.storage.files import FileStore
from elevra_pipeline.uploads.finished_files import FolderBucket, put_away_finished, remember_bucket_file
from elevra_pipeline.uploads.registration import register_file, register_unreadable, sidecar, sidecar_email

SETTLE_SECONDS = 2.0  # a file modified more recently may still be being copied in
MAX_TRIES = 3  # ticks an object that cannot be read is tried on before it is a rejected upload
TRIES_MARK = "tries:"


def failed_tries(mark: str, signature: str) -> int:
    """How many ticks failed on this version of the object, from its cursor mark."""
    count, _, marked = mark.removeprefix(TRIES_MARK).partition(":")
    return int(count) if mark.startswith(TRIES_MARK) and count.isdigit() and marked == signature else 0


def inside(path: Path, folder: Path) -> bool:
    """False for a symlink (or anything) that resolves outside the bucket: the bucket never follows it."""
    return path.resolve().is_relative_to(folder.resolve())


def file_signature(path: Path) -> str:
    """Size and time of the file and of its sidecar: a sidecar that comes (or changes) after its file
    makes the file be looked at again, and registration decides whether that is a revision."""
    parts = []
    for each in (path, path.with_name(path.name + ".json")):
        if each.exists():
            stat = each.stat()
            parts.append(f"{stat.st_size}:{stat.st_mtime_ns}")
    return "+".join(parts)


def candidate_files(upload_dir: Path, now: float, settle_seconds: float = SETTLE_SECONDS) -> list[Path]:
    if not upload_dir.exists():
        return []
    return sorted(
        p
        for p in upload_dir.iterdir()
        if inside(p, upload_dir)
        and p.is_file()
        and not p.name.startswith((".", "~$"))
        and not p.name.endswith((".json", ".part", ".tmp"))
        and now - p.stat().st_mtime >= settle_seconds
    )


@dataclass
class _Look:
    """One evaluation's registrations, shared by the local folder and the object bucket."""

    context: dg.SensorEvaluationContext
    notifier: Notifier
    files: FileStore
    new_keys: list[str] = field(default_factory=list)
    requests: list[dg.RunRequest] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # what a tick without runs did (shown on the tick)

    def register(self, path: Path, shown_as: str, signature: str, key: str, version: str | None) -> None:
        repo, notifier, log = self.notifier.repo, self.notifier, self.context.log
        registration = register_file(repo, path, self.files)
        upload = registration.upload
        remember_bucket_file(repo, upload.id, key, version or upload.content_hash)  # to put away once finished
        if registration.duplicate:
            self.said.append(f"{shown_as}: same content and settings as upload {upload.id}; ignored")
            log.info(f"{self.said[-1]} ({upload.partition_key})")
            side, _ = sidecar(path)
            if notifier.notify(
                upload,
                "duplicate",
                f"upload-{upload.id}-duplicate-{path.name}-{signature}"[:200],
                {"filename": path.name},
                uploader_email=sidecar_email(side),
            ):
                self.rejected.append(upload.partition_key)  # deliver now, like a rejection
            return
        self.queue(registration, shown_as)

    def queue(self, registration, shown_as: str) -> None:
        """A new (or revised) upload's partition and run; a rejected one's e-mail."""
        upload, log = registration.upload, self.context.log
        self.new_keys.append(upload.partition_key)  # every upload has its partition, a rejected one too
        if registration.rejected:
            self.rejected.append(upload.partition_key)
            log.warning(f"{shown_as} rejected: {upload.failure_reason}")
            self.notifier.notify(upload, "rejected")
        revision = len((upload.summary_json or {}).get("revisions", [])) + 1
        self.requests.append(
            dg.RunRequest(
                partition_key=upload.partition_key,
                run_key=upload.partition_key + (f"-r{revision}" if registration.revised else ""),
                tags={
                    "elevra/upload_id": str(upload.id),
                    "elevra/kind": "revision" if registration.revised else "fresh",
                },
            )
        )
        if registration.revised:
            changed = ", ".join(f"{k}={v}" for k, v in registration.changes.items())
            log.info(f"{shown_as}: upload {upload.id} re-opened as revision {revision} ({changed})")
        elif not registration.rejected:
            log.info(f"{shown_as}: registered as upload {upload.id}, partition {upload.partition_key}")

    def look_at(
        self, shown_as: str, signature: str, fetch, key: str, version: str | None = None, before: str = ""
    ) -> str:
        """One object as one unit (`fetch()` gives its local path; `key` names it in the bucket, `version`
        is its ETag, else its content hash is): whatever goes wrong with it is logged and said on the
        tick, and the pass goes on to the next object. The object's cursor mark comes back: `signature`
        once it is handled, else a count of tries (`before` is the last mark), so a passing fault is
        tried again on the next ticks and a lasting one, after `MAX_TRIES`, is a rejected upload."""
        try:
            self.register(fetch(), shown_as, signature, key, version)
            return signature
        except Exception as e:  # one bad object must not stop the others
            reason = f"{type(e).__name__}: {e}"[:300]
            tries = failed_tries(before, signature) + 1
            self.said.append(f"{shown_as}: not registered, try {tries} of {MAX_TRIES} ({reason})")
            self.context.log.exception(f"{shown_as}: not registered (try {tries} of {MAX_TRIES})")
            if tries < MAX_TRIES:
                return f"{TRIES_MARK}{tries}:{signature}"
            self.give_up(shown_as, PurePosixPath(key).name, version or signature, reason)
            return signature

    def give_up(self, shown_as: str, name: str, version: str, reason: str) -> None:
        registration = register_unreadable(self.notifier.repo, name, shown_as, version, reason)
        if registration.is_new:
            self.queue(registration, shown_as)

    def put_away_finished(self, bucket, how: str) -> list[str]:
        """Finished uploads' files leave the bucket (see uploads/finished_files.py); the keys that went."""
        try:
            done, said = put_away_finished(self.notifier.repo, bucket, how)
        except Exception as e:  # the files wait for the next tick; new uploads must not
            done, said = [], [f"finished uploads' files not put away ({type(e).__name__}: {e})"[:400]]
        for line in said:
            self.context.log.info(line)
        self.said += said
        return done

    def reconcile(self) -> None:
        """A registered upload without its partition (one sent to the HTTP API, or a pass that broke after
        registering it) gets its partition and its run now."""
        known = set(self.context.instance.get_dynamic_partitions(uploads_partitions.name)) | set(self.new_keys)
        repo = self.notifier.repo
        for key in [k for k in repo.partition_keys() if k not in known]:
            upload = repo.get_upload(key)
            sent = ActionLog(repo).received(upload.id)
            self.new_keys.append(key)
            self.requests.append(
                dg.RunRequest(
                    partition_key=key,
                    run_key=key,
                    tags={"elevra/upload_id": str(upload.id), "elevra/kind": "api" if sent else "repaired"},
                )
            )
            if sent:
                self.context.log.info(f"upload {upload.id} sent to the API: its partition added, its run requested")
            else:
                self.context.log.warning(f"upload {upload.id} had no partition: added, and its run requested")

    def result(self, cursor: str, skip_reason: str = "no new uploads") -> dg.SensorResult:
        self.reconcile()
        if self.rejected:
            self.notifier.deliver_due()  # rejections go now; a failed send is retried by upload_email_sensor
        return dg.SensorResult(
            run_requests=self.requests,
            cursor=cursor,
            dynamic_partitions_requests=[uploads_partitions.build_add_request(self.new_keys)] if self.new_keys else [],
            skip_reason=None if self.requests else "; ".join(self.said) or skip_reason,
        )


# every 15 s: at 3 s a dropped file's run starts in 5.5 s, not 17.6 s (docs/benchmarks.md), but the cluster
# simulation then twice left an upload 'processing' after its run succeeded: back to 15 s until that is found
@dg.sensor(job=process_upload_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def upload_bucket_sensor(
    context: dg.SensorEvaluationContext,
    database: DatabaseResource,
    email: EmailResource,
    app: AppResource,
    s3: S3Resource,
) -> dg.SensorResult:
    """Registers each new file once by content hash, adds its partition and requests its run: from the
    local folder `ELEVRA_UPLOAD_DIR`, or from object storage when `ELEVRA_UPLOAD_BUCKET` is set."""
    look = _Look(context, app.notifier(database.repository(), email), app.files())
    if app.upload_bucket:
        return _look_in_object_bucket(look, app, s3)
    upload_dir = Path(app.upload_dir)
    upload_dir.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    for path in candidate_files(upload_dir, time.time()):
        try:
            signature = file_signature(path)
        except OSError:  # gone since it was listed
            continue
        if seen.get(path.name) != signature:
            seen[path.name] = look.look_at(
                path.name, signature, lambda path=path: path, path.name, None, seen.get(path.name, "")
            )
    for name in look.put_away_finished(FolderBucket(upload_dir), app.processed_files):
        seen.pop(name, None)
    # a file that left the folder and comes back (even with the same size and time) is looked at again
    seen = {name: mark for name, mark in seen.items() if (upload_dir / name).exists()}
    return look.result(json.dumps(seen))


def _look_in_object_bucket(look: _Look, app: AppResource, s3: S3Resource) -> dg.SensorResult:
    """Each new object is downloaded once into a staging folder, registered (its content hash decides
    whether it is a new upload) and the staging copy removed; finished uploads' workbooks go back
    under `ELEVRA_RESULTS_BUCKET`."""
    results = BucketUrl.parse(app.results_bucket) if app.results_bucket else None
    stored = BucketUrl.parse(app.storage_url) if app.storage_url else None
    bucket = ObjectBucket(s3.get_client(), BucketUrl.parse(app.upload_bucket), results, stored)
    seen: dict[str, str] = json.loads(look.context.cursor) if look.context.cursor else {}
    new, listed = bucket.list_new(seen)
    with tempfile.TemporaryDirectory(prefix="elevra-incoming-") as staging:  # scratch: registration stores it
        for item in new:
            folder = Path(staging) / item.etag
            try:
                shown_as = f"s3://{bucket.url.bucket}/{item.key}"
                fetch = lambda item=item, folder=folder: bucket.fetch(item, folder)  # noqa: E731
                mark = look.look_at(shown_as, item.etag, fetch, item.key, item.etag, seen.get(item.key, ""))
                listed[item.key] = mark
            finally:
                shutil.rmtree(folder, ignore_errors=True)
    if results:
        _write_back_results(look, bucket)
    for key in look.put_away_finished(bucket, app.processed_files):
        listed.pop(key, None)  # an object put back later is new again
    return look.result(json.dumps(listed), f"no new objects in {bucket.url}")


def _write_back_results(look: _Look, bucket: ObjectBucket) -> None:
    repo = look.notifier.repo
    for upload in repo.list_uploads():
        summary = upload.summary_json or {}
        ref = upload.workbook_path
        if upload.status in COMPLETE and summary.get("results_url_for") != ref and look.files.exists(ref):
            with look.files.local_path(ref) as path:
                url = bucket.put_result(path)
            repo.merge_summary(upload.id, results_url=url, results_url_for=ref)
            look.context.log.info(f"upload {upload.id}: result workbook written to {url}")
