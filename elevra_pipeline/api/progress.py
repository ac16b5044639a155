"""Where an upload stands, read from the app database alone (so it is the same whichever process runs
the upload): each stage of its run, the batches that need attention with their reasons, and whether
this is the outcome. The live view (Server-Sent Events) sends it each time it changes."""

import time
from collections import Counter

from elevra_pipeline.storage.batch_rules import ENDED, FINISHED, BatchStatus, UploadStatus, stage_outcome
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.storage.shown_state import skipped_by, upload_state
from elevra_pipeline.uploads.attention import attention_line
from elevra_pipeline.uploads.record_counts import upload_records
from elevra_pipeline.uploads.stages import race_of
from elevra_pipeline.uploads.transitions import ALLOWED, AdminAction, choices

FINAL = (*ENDED, UploadStatus.AWAITING_APPROVAL)  # the live view ends here
ATTENTION = (BatchStatus.NEEDS_REUPLOAD, BatchStatus.WAITING_FOR_MODEL)  # a skipped race is done with: not here
STAGES = (  # the assets of `process_upload`, in order
    ("upload_batches", "Reading the file"),
    ("batch_analysis", "Gemini analysis"),
    ("structured_output", "Gemini structured output"),
    ("inserted_records", "Records inserted"),
    ("result_workbook", "Result workbook"),
)


def _state(done: int, total: int, attention: int = 0, waiting: int = 0, started: bool = False) -> str:
    """done, attention (finished, some need a fix), waiting (for a model), running, skipped (nothing to do) or todo."""
    if waiting:
        return "waiting"
    if total and done == total:
        return "attention" if attention else "done"
    if not total:
        return "skipped" if started else "todo"
    return "running" if done else "todo"


def _model_stage(batches, stage: str, read: bool) -> dict:
    outcomes = Counter(stage_outcome(b, stage) for b in batches)
    total = len(batches) - outcomes["skipped"]
    done = outcomes["ok"] + outcomes["failed"]
    state = _state(done, total, outcomes["failed"], outcomes["waiting"], started=read)
    return {"state": state, "done": done, "total": total, "failed": outcomes["failed"], "waiting": outcomes["waiting"]}


def _stages(upload, batches, running: bool, final: bool) -> list[dict]:
    unusable = upload.status in (UploadStatus.REJECTED, UploadStatus.FAILED)
    read = {"state": "failed" if unusable else "done" if batches else "running" if running else "todo"}
    read.update(done=len(batches), total=len(batches))
    finished = sum(b.status in FINISHED for b in batches)
    inserted = sum(b.status == BatchStatus.INSERTED for b in batches)
    to_fix = sum(b.status == BatchStatus.NEEDS_REUPLOAD for b in batches)
    insert = {"state": _state(finished, len(batches), to_fix), "done": inserted, "total": len(batches)}
    workbook = {"state": "done" if upload.workbook_path and final else "todo", "done": 0, "total": 0}
    models = [_model_stage(batches, stage, bool(batches)) for stage in ("analysis", "structure")]
    if models[1]["state"] == "skipped" and models[0]["state"] in ("todo", "running", "waiting"):
        models[1]["state"] = "todo"  # its batches are still in analysis: to come, not "not needed"
    parts = [read, *models, insert, workbook]
    if unusable or upload.status == UploadStatus.CANCELLED:
        parts[1:] = [{**p, "state": "skipped"} if p["state"] == "todo" else p for p in parts[1:]]
    return [{"name": name, "label": label, **part} for (name, label), part in zip(STAGES, parts)]


def snapshot(repo: Repository, upload_id: int, now: float | None = None) -> dict | None:
    """None when there is no such upload."""
    upload = repo.get_upload_by_id(upload_id)
    if upload is None:
        return None
    batches = repo.batches(upload_id)
    now = time.time() if now is None else now
    running = bool(upload.run_owner) and (upload.run_lease_until or 0) > now
    final = upload.status in FINAL and not running
    state = upload_state(upload, batches)
    return {
        "upload_id": upload.id,
        "file": upload.original_filename,
        "status": upload.status,
        "state": state.state,  # what every view shows (storage.shown_state)
        "state_label": state.label,
        "state_tone": state.tone,
        "emulated": bool((upload.summary_json or {}).get("emulated")),
        "paused": bool(upload.paused),
        "reason": upload.failure_reason,
        "running": running,
        "final": final,
        "stages": _stages(upload, batches, running, final),
        "batches": {
            "total": len(batches),
            "inserted": sum(b.status == BatchStatus.INSERTED for b in batches),
            "needing_attention": [
                {"key": b.batch_key, "race": race_of(b), "status": b.status, "reason": b.error_reason}
                for b in batches
                if b.status in ATTENTION
            ],
            "skipped": [
                {"key": b.batch_key, "race": race_of(b), "by": skipped_by(b)} for b in batches if skipped_by(b)
            ],
        },
        "needs_attention": attention_line(upload, batches, commands=False),
        "workbook": bool(upload.workbook_path),
        "records": upload_records(upload.status, upload.summary_json).model_dump(mode="json"),
        "actions": choices(upload.id, upload.status, _published(repo, upload)),  # the page's buttons
    }


def _published(repo: Repository, upload) -> bool:
    """Asked of the database only when the state allows a revert (the one action that needs it)."""
    return upload.status in ALLOWED[AdminAction.REVERT] and repo.gave_records(upload.id)
