"""The two model stages for one batch, and running many batches concurrently."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from elevra_pipeline.exceptions import BatchFailedError
from elevra_pipeline.gemini import prompts
from elevra_pipeline.gemini.resources import GeminiResource
from elevra_pipeline.gemini.schemas import BatchAnalysis, ColumnMappingAnswer, StructuredBatch
from elevra_pipeline.storage.batch_rules import FailureKind
from elevra_pipeline.storage.models import ElectionBatch
from elevra_pipeline.storage.repository import Repository


@dataclass
class BatchResult:
    batch: ElectionBatch
    ok: bool
    model: str | None = None
    fallback_reason: str | None = None
    error: str | None = None


def fallback_note(stage: str, model: str, reason: str) -> str:
    return f"{stage} used {model} ({reason})"


def _note(batch: ElectionBatch, stage: str, model: str, reason: str | None) -> str | None:
    if not reason:
        return batch.fallback_note
    note = fallback_note(stage, model, reason)
    return f"{batch.fallback_note}; {note}" if batch.fallback_note else note


def analyze_batch(repo: Repository, gemini: GeminiResource, batch: ElectionBatch) -> BatchResult:
    context = {"upload_id": batch.upload_id, "batch_id": batch.id}
    try:
        outcome = gemini.caller.run("analysis", prompts.ANALYSIS_SYSTEM, prompts.analysis_prompt(batch.rows_json),
                                    BatchAnalysis, context, gemini.chain("analysis"))
    except BatchFailedError as e:
        repo.update_batch(batch.id, status="needs_reupload", error_reason=str(e), failure_kind=FailureKind.MODEL)
        return BatchResult(batch, False, error=str(e))
    analysis: BatchAnalysis = outcome.value
    fields = dict(analysis_json=analysis.model_dump(), analysis_model=outcome.model,
                  fallback_note=_note(batch, "analysis", outcome.model, outcome.fallback_reason))
    if not analysis.can_structure:
        reason = f"analysis: the rows cannot form an election: {analysis.reason or 'no reason given'}"
        repo.update_batch(batch.id, status="needs_reupload", error_reason=reason, failure_kind=FailureKind.DATA, **fields)
        return BatchResult(batch, False, outcome.model, outcome.fallback_reason, reason)
    repo.update_batch(batch.id, status="analyzed", error_reason=None, failure_kind=None, **fields)
    return BatchResult(batch, True, outcome.model, outcome.fallback_reason)


def structure_batch(repo: Repository, gemini: GeminiResource, batch: ElectionBatch) -> BatchResult:
    context = {"upload_id": batch.upload_id, "batch_id": batch.id}
    prompt = prompts.structure_prompt(batch.rows_json, batch.analysis_json)
    try:
        outcome = gemini.caller.run("structure", prompts.STRUCTURE_SYSTEM, prompt, StructuredBatch, context,
                                    gemini.chain("structure"))
    except BatchFailedError as e:
        repo.update_batch(batch.id, status="needs_reupload", error_reason=str(e), failure_kind=FailureKind.MODEL)
        return BatchResult(batch, False, error=str(e))
    repo.update_batch(batch.id, status="structured", error_reason=None, failure_kind=None, structured_json=outcome.value.model_dump(),
                      structure_model=outcome.model,
                      fallback_note=_note(batch, "structure", outcome.model, outcome.fallback_reason))
    return BatchResult(batch, True, outcome.model, outcome.fallback_reason)


def column_mapper(gemini: GeminiResource, upload_id: int, answers: dict):
    """Intake's model layer: one structured-output call per sheet, on the structure chain, as an attempt row.
    `answers` (sheet -> headers and answer) is kept on the upload, so a re-run asks nothing again."""
    def ask(sheet: str, headers: list[str], sample: list[list[str]]) -> list[tuple[str, str, float]]:
        known = answers.get(sheet)
        if known and known["headers"] == headers:
            return [tuple(a) for a in known["answer"]]
        outcome = gemini.caller.run("columns", prompts.COLUMNS_SYSTEM, prompts.columns_prompt(sheet, headers, sample),
                                    ColumnMappingAnswer, {"upload_id": upload_id}, gemini.chain("structure"))
        answer = [(c.column, c.role, c.confidence) for c in outcome.value.columns]
        answers[sheet] = {"headers": headers, "answer": answer}
        return answer
    return ask


def run_concurrently(work, batches: list[ElectionBatch], concurrency: int) -> list[BatchResult]:
    if not batches:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(batches)))) as pool:
        return list(pool.map(work, batches))
