"""The two model stages for one batch, and what a stage reports."""

import re
from dataclasses import dataclass

from elevra_pipeline.exceptions import BatchFailedError
from elevra_pipeline.gemini import prompts
from elevra_pipeline.gemini.schemas import BatchAnalysis, ColumnMappingAnswer, StructuredBatch
from elevra_pipeline.pipeline.resources import GeminiResource
from elevra_pipeline.records.sanitize import plain_text
from elevra_pipeline.records.validate import CheckedOutput, check_analysis, check_structured
from elevra_pipeline.storage.batch_rules import BatchStatus, FailureKind, stage_outcome
from elevra_pipeline.storage.models import ElectionBatch
from elevra_pipeline.storage.repository import Repository


@dataclass
class BatchResult:
    batch: ElectionBatch
    ok: bool
    model: str | None = None
    fallback_reason: str | None = None
    error: str | None = None
    waiting: bool = False  # the model was unavailable: the batch waits for it, nobody re-uploads


def fallback_note(stage: str, model: str, reason: str) -> str:
    return f"{stage} used {model} ({reason})"


def _note(batch: ElectionBatch, stage: str, model: str, reason: str | None) -> str | None:
    if not reason:
        return batch.fallback_note
    note = fallback_note(stage, model, reason)
    return f"{batch.fallback_note}; {note}" if batch.fallback_note else note


def _give_up(repo: Repository, batch: ElectionBatch, error: BatchFailedError) -> BatchResult:
    """An outage leaves the batch waiting for the model (retried by a sensor); anything else needs re-upload."""
    if error.model_unavailable:
        repo.update_batch(
            batch.id,
            status=BatchStatus.WAITING_FOR_MODEL,
            failure_kind=FailureKind.OUTAGE,
            error_reason=f"waiting for the model (retried automatically): {error}",
        )
        return BatchResult(batch, False, error=str(error), waiting=True)
    repo.update_batch(
        batch.id, status=BatchStatus.NEEDS_REUPLOAD, error_reason=str(error), failure_kind=FailureKind.MODEL
    )
    return BatchResult(batch, False, error=str(error))


def analyze_batch(repo: Repository, gemini: GeminiResource, batch: ElectionBatch) -> BatchResult:
    context = {"upload_id": batch.upload_id, "batch_id": batch.id}
    try:
        outcome = gemini.caller.run(
            "analysis",
            prompts.ANALYSIS_SYSTEM,
            prompts.analysis_prompt(batch.rows_json),
            BatchAnalysis,
            context,
            gemini.chain("analysis"),
            check=lambda answer: check_analysis(answer, batch.rows_json, batch.election_date),
        )
    except BatchFailedError as e:
        return _give_up(repo, batch, e)
    analysis: BatchAnalysis = outcome.value
    fields = dict(
        analysis_json=analysis.model_dump(),
        analysis_model=outcome.model,
        fallback_note=_note(batch, "analysis", outcome.model, outcome.fallback_reason),
    )
    if not analysis.can_structure:
        reason = f"analysis: the rows cannot form an election: {plain_text(analysis.reason, 500) or 'no reason given'}"
        repo.update_batch(
            batch.id, status=BatchStatus.NEEDS_REUPLOAD, error_reason=reason, failure_kind=FailureKind.DATA, **fields
        )
        return BatchResult(batch, False, outcome.model, outcome.fallback_reason, reason)
    repo.update_batch(batch.id, status=BatchStatus.ANALYZED, error_reason=None, failure_kind=None, **fields)
    return BatchResult(batch, True, outcome.model, outcome.fallback_reason)


def structure_batch(repo: Repository, gemini: GeminiResource, batch: ElectionBatch) -> BatchResult:
    """The answer is checked against the batch's rows (records.validate) before it is stored."""
    context = {"upload_id": batch.upload_id, "batch_id": batch.id}
    prompt = prompts.structure_prompt(batch.rows_json, batch.analysis_json)
    try:
        outcome = gemini.caller.run(
            "structure",
            prompts.STRUCTURE_SYSTEM,
            prompt,
            StructuredBatch,
            context,
            gemini.chain("structure"),
            check=lambda answer: check_structured(answer, batch.rows_json, batch.election_date),
        )
    except BatchFailedError as e:
        return _give_up(repo, batch, e)
    checked: CheckedOutput = outcome.value
    repo.update_batch(
        batch.id,
        status=BatchStatus.STRUCTURED,
        error_reason=None,
        failure_kind=None,
        structured_json=checked.value,
        output_notes=checked.notes or None,
        structure_model=outcome.model,
        fallback_note=_note(batch, "structure", outcome.model, outcome.fallback_reason),
    )
    return BatchResult(batch, True, outcome.model, outcome.fallback_reason)


def stage_summary(batches: list[ElectionBatch], stage: str) -> dict:
    """The whole upload's standing in one stage, from the database: the same counts whichever run asks."""
    outcomes = {b.id: stage_outcome(b, stage) for b in batches}
    count = {k: sum(o == k for o in outcomes.values()) for k in ("ok", "failed", "waiting", "todo")}
    return {
        "processed": count["ok"] + count["failed"] + count["waiting"],
        "succeeded": count["ok"],
        "failed": count["failed"],
        "waiting": count["waiting"],
        "in_progress": count["todo"],
        "failed_batches": [
            {"batch": b.batch_key, "reason": b.error_reason} for b in batches if outcomes[b.id] == "failed"
        ],
        "waiting_batches": [
            {"batch": b.batch_key, "reason": b.error_reason} for b in batches if outcomes[b.id] == "waiting"
        ],
        "fallbacks": [
            {"batch": b.batch_key, "note": note}
            for b in batches
            for note in re.split(r"; (?=\w+ used )", b.fallback_note or "")
            if note.startswith(f"{stage} used")
        ],
    }


def column_mapper(gemini: GeminiResource, upload_id: int, answers: dict):
    """Intake's model layer: one structured-output call per sheet, on the structure chain, as an attempt row.
    `answers` (sheet -> headers and answer) is kept on the upload, so a re-run asks nothing again."""

    def ask(sheet: str, headers: list[str], sample: list[list[str]]) -> list[tuple[str, str, float]]:
        known = answers.get(sheet)
        if known and known["headers"] == headers:
            return [tuple(a) for a in known["answer"]]
        outcome = gemini.caller.run(
            "columns",
            prompts.COLUMNS_SYSTEM,
            prompts.columns_prompt(sheet, headers, sample),
            ColumnMappingAnswer,
            {"upload_id": upload_id},
            gemini.chain("structure"),
        )
        answer = [(c.column, c.role, c.confidence) for c in outcome.value.columns]
        answers[sheet] = {"headers": headers, "answer": answer}
        return answer

    return ask
