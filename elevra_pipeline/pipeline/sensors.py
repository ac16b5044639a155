"""Watch the upload bucket: each new file becomes one upload partition and one run."""

import json
import time
from pathlib import Path

import dagster as dg

from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.pipeline.jobs import process_upload_job
from elevra_pipeline.pipeline.partitions import uploads_partitions
from elevra_pipeline.pipeline.registration import register_file, sidecar, sidecar_email
from elevra_pipeline.pipeline.resources import AppResource, DatabaseResource, EmailResource

SETTLE_SECONDS = 2.0  # a file modified more recently may still be being copied in


def inside(path: Path, folder: Path) -> bool:
    """False for a symlink (or anything) that resolves outside the bucket: the bucket never follows it."""
    return path.resolve().is_relative_to(folder.resolve())


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


@dg.sensor(job=process_upload_job, minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING)
def upload_bucket_sensor(
    context: dg.SensorEvaluationContext, database: DatabaseResource, email: EmailResource, app: AppResource
) -> dg.SensorResult:
    """Registers each new file once by content hash, adds its partition and requests its run."""
    upload_dir, archive_dir = Path(app.upload_dir), Path(app.archive_dir)
    upload_dir.mkdir(parents=True, exist_ok=True)
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    notifier = Notifier(database.repository(), email, app.team_email)
    repo = notifier.repo
    new_keys, requests, rejected = [], [], []
    for path in candidate_files(upload_dir, time.time()):
        stat = path.stat()
        signature = f"{stat.st_size}:{stat.st_mtime_ns}"
        if seen.get(path.name) == signature:
            continue
        registration = register_file(repo, path, archive_dir)
        seen[path.name] = signature
        upload = registration.upload
        if not registration.is_new:
            context.log.info(f"{path.name}: same content as upload {upload.id} ({upload.partition_key}); ignored")
            side, _ = sidecar(path)
            if notifier.notify(
                upload,
                "duplicate",
                f"upload-{upload.id}-duplicate-{path.name}-{signature}"[:200],
                {"filename": path.name},
                uploader_email=sidecar_email(side),
            ):
                rejected.append(upload.partition_key)  # deliver now, like a rejection
        elif registration.rejected:
            rejected.append(upload.partition_key)
            context.log.warning(f"{path.name} rejected: {upload.failure_reason}")
            notifier.notify(upload, "rejected")
        else:
            new_keys.append(upload.partition_key)
            requests.append(
                dg.RunRequest(
                    partition_key=upload.partition_key,
                    run_key=upload.partition_key,
                    tags={"elevra/upload_id": str(upload.id), "elevra/kind": "fresh"},
                )
            )
            context.log.info(f"{path.name}: registered as upload {upload.id}, partition {upload.partition_key}")
    if rejected:
        notifier.deliver_due()  # the rejection e-mail goes now; a failed send is retried by upload_email_sensor
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(seen),
        dynamic_partitions_requests=[uploads_partitions.build_add_request(new_keys)] if new_keys else [],
        skip_reason=None if requests or rejected else "no new uploads",
    )
