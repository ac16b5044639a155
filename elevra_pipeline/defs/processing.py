"""Process one file in this process: register it, then run the `process_upload` job for its partition."""

import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import dagster as dg
from dagster._core.utils import make_new_run_id
from tqdm import tqdm

from elevra_pipeline.defs.assets import upload_assets
from elevra_pipeline.defs.jobs import process_upload_job
from elevra_pipeline.defs.leases import release_upload
from elevra_pipeline.defs.partitions import uploads_partitions
from elevra_pipeline.defs.resources import AppResource, GeminiBatchesResource
from elevra_pipeline.defs.wiring import build_resources
from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.notifications.notifier import Notifier
from elevra_pipeline.quotas.limits import DEFAULT_QUOTAS_FILE, load_quotas
from elevra_pipeline.quotas.planner import planned_mode
from elevra_pipeline.settings import Settings, data_dir
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.files import file_store
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.batch_stage import refresh_job
from elevra_pipeline.uploads.registration import register_file
from elevra_pipeline.workbook.summary import model_usage, total_cost_usd


def dagster_instance_or_none() -> dg.DagsterInstance | None:
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else None


def _instance() -> dg.DagsterInstance:
    """The Dagster home's instance when DAGSTER_HOME is set, else the project's own (`data/dagster_home`,
    the one `make run` serves): every upload `process` runs has its partition and run in the UI."""
    if instance := dagster_instance_or_none():
        return instance
    home = data_dir() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.from_config(str(home))


def process_file(
    path: Path,
    uploader: str | None = None,
    progress: Callable[[str], None] = print,
    instance: dg.DagsterInstance | None = None,
    resources: dict | None = None,
    keep_raw_file: bool = False,
    options: dict | None = None,
    verbose: bool = False,
    stored_copy: bool = False,
) -> dict:
    """`options`: election_date, jurisdiction, state, columns (JSON) for the whole file; they win over the
    sidecar. `stored_copy`: `path` is the upload's own stored copy (`retry`, `approve`)."""
    settings = Settings.from_env()
    repo = Repository(migrated_engine(settings.database_url))
    if not path.exists():
        return {"upload_id": None, "status": "failed", "reason": f"no such file: {path}"}
    try:
        registration = register_file(repo, path, file_store(settings), uploader, keep_raw_file, options)
    except UnusableUploadError as e:  # a mistyped option: nothing was registered
        return {"upload_id": None, "status": "invalid_options", "reason": f"{e}; nothing was registered"}
    except OSError as e:
        return {"upload_id": None, "status": "failed", "reason": f"cannot read {path}: {e}"}
    upload = registration.upload
    if not registration.is_new and upload.original_filename != path.name:
        progress(f"'{path.name}' has the same content as upload {upload.id} ('{upload.original_filename}')")
    resources = {"app": AppResource.from_settings(settings), **(resources or build_resources())}
    resources, emulator = _with_lasting_emulator(resources, settings, progress)
    notifier = resources["app"].notifier(repo, resources["email"].process_config_and_initialize())  # EnvVars resolved
    progress(f"upload {upload.id} ({upload.partition_key}): {registration_line(registration)}")
    owned = instance is None  # an instance we create, we dispose: it registers process-wide state
    instance = instance or _instance()
    try:  # a rejected file runs too: its partition and its failed run say why in the Dagster UI
        if registration.rejected:
            notifier.notify(upload, "rejected")
        _run_job(instance, upload, resources, repo, notifier, progress, verbose)
        while _wait_for_batch_jobs(repo, upload.id, resources.get("gemini_batches"), progress):
            _run_job(instance, upload, resources, repo, notifier, progress, verbose)  # applies the answers
    finally:
        if owned:
            instance.dispose()
        if emulator is not None:
            emulator.shutdown()
            emulator.server_close()
    outcome = upload_outcome(repo, upload.id)
    if registration.revised:
        outcome["revised"] = registration.changes
    elif not registration.is_new and not stored_copy:
        outcome["duplicate_of"] = upload.id
        if upload.original_filename != path.name and outcome["reason"]:
            outcome["reason"] = (
                f"same content as upload {upload.id} ('{upload.original_filename}'): {outcome['reason']}"
            )
    return outcome


def registration_line(registration) -> str:
    if registration.revised:
        changed = ", ".join(f"{k} {v}" for k, v in registration.changes.items())
        return f"the same file with new settings ({changed}): re-opened, its batches done so far are kept"
    return "registered" if registration.is_new else "already known, with the same settings: resuming"


def _with_lasting_emulator(resources: dict, settings: Settings, progress):
    """Without a Gemini key or endpoint, one emulator for the whole command (not one per run), so Batch
    API jobs outlive the run that sent them; its jobs end in seconds, so they are polled every second."""
    gemini = resources.get("gemini")
    if gemini is None:
        return resources, None
    batches = resources.get("gemini_batches") or GeminiBatchesResource(
        api_key=gemini.api_key, base_url=gemini.base_url, poll_seconds=gemini.batch_poll_seconds
    )
    if gemini.api_key or gemini.base_url:
        return {**resources, "gemini_batches": batches}, None
    emulator = start_in_thread(quotas=load_quotas(gemini.quotas_file or DEFAULT_QUOTAS_FILE))
    progress(
        f"GEMINI_API_KEY is not set: using the offline Gemini EMULATOR at {emulator.base_url}. "
        "Outputs are EMULATED, not real Gemini answers."
    )
    return {
        **resources,
        "gemini": _changed(gemini, base_url=emulator.base_url),
        "gemini_batches": _changed(batches, base_url=emulator.base_url, poll_seconds=min(batches.poll_seconds, 1.0)),
    }, emulator


def _changed(resource: dg.ConfigurableResource, **changes):
    """A copy of a resource with some fields changed (a new instance: Dagster keeps the config it was built with)."""
    return type(resource)(**{**{name: getattr(resource, name) for name in type(resource).model_fields}, **changes})


def _wait_for_batch_jobs(repo: Repository, upload_id: int, gemini_batches, progress, sleep=time.sleep) -> bool:
    """Poll the upload's Batch API jobs until none is still at Gemini. True when there are answers to
    apply (or jobs to confirm): run the job again; False when the upload has no job left."""
    if gemini_batches is None:
        return False
    gemini_batches = gemini_batches.process_config_and_initialize()  # EnvVar fields resolved
    client = gemini_batches.client()
    if client is None:
        return False
    shown = None
    while True:
        jobs = [j for j in repo.unfinished_batch_jobs() if j.upload_id == upload_id]
        if not jobs:
            return False
        waiting = [j for j in jobs if j.ended_at is None and j.name]
        if any(j.ended_at is not None for j in jobs):
            return True  # answers to apply
        if len(waiting) < len(jobs):  # a job not confirmed by Gemini: the next run looks it up or sends it
            sleep(gemini_batches.poll_seconds)
            return True
        line = ", ".join(f"{j.key} {j.state}" + (f" (last poll: {j.error})" if j.error else "") for j in waiting)
        if line != shown:
            progress(f"      waiting for {len(waiting)} Batch API job(s) at Gemini: {line}")
            shown = line
        now = time.time()
        for job in waiting:
            if job.next_poll_at <= now:
                refresh_job(repo, client, job, gemini_batches.poll_seconds, now)
        sleep(max(0.05, min(j.next_poll_at for j in waiting) - time.time()))


STAGE_EVENTS = {
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_OBSERVATION,
}


class StageProgress:
    """Prints one line per step of the run as its events arrive (read from the instance's event log)."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, progress: Callable[[str], None]):
        self.instance, self.run_id, self.progress = instance, run_id, progress
        self.order = [a.key.to_user_string() for a in upload_assets]
        self.seen: set[int] = set()
        self.cursor: str | None = None  # where the last look at the event log ended
        self.metadata: dict[str, dict] = {}
        self.observed: dict[str, dict] = {}  # e.g. a model stage waiting for Batch API jobs
        self.materialized: list[str] = []
        self.failure: tuple[str, str] | None = None
        self.live = sys.stderr.isatty()  # a person watching: progress bars; else (logs, tests) lines
        self.bars: dict[str, tqdm] = {}
        self._stop = threading.Event()

    def __enter__(self) -> "StageProgress":
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()  # whatever arrived after the last look

    def _watch(self) -> None:
        # each look is a query of Dagster's event log, about 3 ms of the run process's CPU (issue 40):
        # twice a second for a person watching the bars, every 2 s for logs and tests
        while not self._stop.wait(0.5 if self.live else 2.0):
            try:
                self.poll()
            except Exception:  # the event log may be busy; the final poll catches up
                pass

    def poll(self) -> None:
        """The events after the last look only (the log grows with the run; each event is read once)."""
        found = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, of_type=STAGE_EVENTS)
        self.cursor = found.cursor or self.cursor
        for record in found.records:
            if record.storage_id in self.seen or not record.event_log_entry.dagster_event:
                continue
            self.seen.add(record.storage_id)
            self._show(record.event_log_entry.dagster_event)

    def _show(self, event) -> None:
        step = event.step_key or ""
        index = self.order.index(step) + 1 if step in self.order else "?"
        prefix = f"[{index}/{len(self.order)}] {step}"
        if event.event_type == dg.DagsterEventType.ASSET_OBSERVATION:
            observation = event.event_specific_data.asset_observation
            found = {k: v.value for k, v in observation.metadata.items()}
            if "progress_total" in found:
                self._advance(step, prefix, found)
            elif "waiting_for_run" in found:
                self.progress(f"{prefix}: {found['waiting']}")
            else:
                self.observed[step] = found
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            self.materialized.append(step)
            materialization = event.event_specific_data.materialization
            self.metadata[step] = {k: v.value for k, v in materialization.metadata.items()}
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            self._close(step)
            shown = ", ".join(
                f"{k}={v}"
                for k, v in self.metadata.get(step, {}).items()
                if isinstance(v, (int, float, str)) and "\n" not in str(v) and k != "path"
            )
            seconds = event.event_specific_data.duration_ms / 1000
            if step in self.metadata:
                self.progress(f"{prefix}: ok in {seconds:.1f}s {shown}")
            elif waiting := self.observed.get(step, {}).get("waiting_for_batch_jobs"):
                jobs = self.observed[step].get("batch_jobs", "")
                self.progress(f"{prefix}: sent in {seconds:.1f}s; waiting for {waiting} Batch API job(s): {jobs}")
            else:
                self.progress(
                    f"{prefix}: ok in {seconds:.1f}s, nothing to do: the upload is paused or cancelled "
                    "(see `elevra-pipeline status`)"
                )
        elif event.event_type == dg.DagsterEventType.STEP_SKIPPED:
            self.progress(f"{prefix}: skipped (an earlier step had nothing to do)")
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            self._close(step)
            data = event.event_specific_data
            if step == "result_workbook" and data.user_failure_data:  # written; the upload needs attention
                self.failure = (step, data.user_failure_data.description or "")
                self.progress(f"{prefix}: written; the upload needs attention: {self.failure[1][:500]}")
                return
            self.failure = (step, data.error.message.strip() if data.error else event.message or "unknown")
            self.progress(f"{prefix}: FAILED: {self.failure[1][:500]}")

    def _advance(self, step: str, prefix: str, found: dict) -> None:
        """A model stage's calls answered so far: a live bar on a terminal (tqdm), else a line."""
        done, total = found["progress_done"], found["progress_total"]
        if not self.live:
            left = found.get("seconds_left") or 0
            self.progress(f"{prefix}: {done}/{total} batches answered" + (f", about {left} s left" if done else ""))
            return
        bar = self.bars.get(step)
        if bar is None:
            bar = self.bars[step] = tqdm(total=total, desc=prefix, unit="batch", leave=False, file=sys.stderr)
        bar.update(done - bar.n)

    def _close(self, step: str) -> None:
        if bar := self.bars.pop(step, None):
            bar.close()


def _run_job(instance, upload, resources, repo, notifier, progress, verbose: bool = False) -> None:
    """One run of the `process_upload` job for the partition (the job the daemon runs), with live
    per-step progress; then the same e-mails the sensors send, by the same rule (`after_assets`)."""
    instance.add_dynamic_partitions(uploads_partitions.name, [upload.partition_key])
    job = dg.Definitions(assets=upload_assets, jobs=[process_upload_job], resources=resources).resolve_job_def(
        process_upload_job.name
    )
    run_id = make_new_run_id()
    progress(f"Dagster run {run_id} of job {process_upload_job.name}, partition {upload.partition_key}")
    with StageProgress(instance, run_id, progress) as watched:
        result = job.execute_in_process(
            instance=instance,
            partition_key=upload.partition_key,
            run_id=run_id,
            raise_on_error=False,
            tags={"elevra/kind": "cli"},
            run_config={"loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "CRITICAL"}}}},
        )
    release_upload(repo, upload.id, run_id)  # a run that stopped early (Batch API jobs, a failure) frees it too
    notifier.after_assets(repo.get_upload_by_id(upload.id), watched.materialized)
    if not result.success:
        step, error = watched.failure or (
            "unknown",
            (result.get_run_failure_event().message if result.get_run_failure_event() else "unknown"),
        )
        notifier.notify_failed_run(repo.get_upload_by_id(upload.id), run_id, step, error)
    _deliver(notifier, progress)
    if sender := resources["app"].process_config_and_initialize().webhook():  # EnvVar fields resolved
        if any(delivered := sender.deliver_due(repo)):
            progress(f"      change sets to {resources['app'].webhook_url}: {delivered}")


def _deliver(notifier: Notifier, progress) -> None:
    outcome = notifier.deliver_due()
    if any(outcome.values()):
        where = "Resend" if notifier.mailer.uses_resend else f"outbox {notifier.mailer.outbox()}"
        progress(
            f"      e-mail: {outcome['sent']} sent to {where}, {outcome['retrying']} to retry, "
            f"{outcome['failed']} failed" + (f", {outcome['errors']} error(s)" if outcome.get("errors") else "")
        )


def upload_outcome(repo: Repository, upload_id: int) -> dict:
    upload = repo.get_upload_by_id(upload_id)
    batches = repo.batches(upload_id)
    summary = upload.summary_json or {}
    usage = model_usage(repo, upload_id)
    calls = {m: u.get("calls", 0) for m, u in usage.items()}
    return {
        "upload_id": upload.id,
        "partition_key": upload.partition_key,
        "status": upload.status,
        "reason": upload.failure_reason,
        "rows": summary.get("rows", {}),
        "batches": {
            "total": len(batches),
            "inserted": sum(b.status == "inserted" for b in batches),
            "needs_reupload": sum(b.status == "needs_reupload" for b in batches),
            "waiting_for_model": sum(b.status == "waiting_for_model" for b in batches),
        },
        "elections": len(summary.get("elections", [])),
        "candidates": len(summary.get("candidates", [])),
        "workbook": upload.workbook_path,
        "model_calls": calls,
        "mode": str(planned_mode(upload.summary_json)),
        "cost_usd": total_cost_usd(usage),
        "emulated": bool((upload.summary_json or {}).get("emulated")),
    }
