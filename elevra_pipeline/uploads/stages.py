"""The two model stages for one batch, and what a stage reports."""

import re
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Protocol

from pydantic import BaseModel

from elevra_pipeline.exceptions import BatchFailedError
from elevra_pipeline.gemini import prompts
from elevra_pipeline.gemini.client import GeminiCaller
from elevra_pipeline.gemini.schemas import BatchAnalysis, ColumnMappingAnswer, StructuredBatch
from elevra_pipeline.quotas.engine import Outcome
from elevra_pipeline.records.sanitize import plain_text
from elevra_pipeline.records.validate import CheckedOutput, check_analysis, check_structured
from elevra_pipeline.storage.batch_rules import BatchStatus, FailureKind, race_of, stage_outcome
from elevra_pipeline.storage.models import ElectionBatch
from elevra_pipeline.uploads.prompt_budget import DEFAULT_MAX_PROMPT_TOKENS, check_columns_prompt, clipped_sample


class GeminiModels(Protocol):
    """What a stage needs of Gemini: the caller and each stage's model chain. `GeminiService` has them, and
    so has the Dagster resource wrapping it: the stage workers run without Dagster."""

    @property
    def caller(self) -> GeminiCaller: ...

    def chain(self, stage: str) -> list[str]: ...


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


MODEL_FAULT_NOTE = (
    "waiting for the model: its answers kept failing our checks on every model of the chain (not the file: "
    "the team has been told; retried automatically)"
)
CONFIGURATION_NOTE = (
    "blocked: Gemini configuration (our side, not the file: the team has been told; resumes automatically once fixed)"
)


def give_up(batch: ElectionBatch, error: BatchFailedError) -> tuple[dict, BatchResult]:
    """An outage, our own configuration or answers that kept failing the checks on every model leave the
    batch waiting (resumed by a sensor); only the data needs re-upload (with the reason)."""
    if error.fault == FailureKind.CONFIGURATION:
        reason = f"{CONFIGURATION_NOTE}: {error}"
    elif error.fault == FailureKind.MODEL:
        reason = f"{MODEL_FAULT_NOTE}: {error}"
    elif error.model_unavailable:
        reason = f"waiting for the model (retried automatically): {error}"
    else:
        fields = dict(status=BatchStatus.NEEDS_REUPLOAD, error_reason=str(error), failure_kind=error.fault)
        return fields, BatchResult(batch, False, error=str(error))
    fields = dict(status=BatchStatus.WAITING_FOR_MODEL, failure_kind=error.fault, error_reason=reason)
    return fields, BatchResult(batch, False, error=reason, waiting=True)


def analysis_fields(batch: ElectionBatch, outcome: Outcome) -> tuple[dict, BatchResult]:
    analysis: BatchAnalysis = outcome.value
    fields = dict(
        analysis_json=analysis.model_dump(),
        analysis_model=outcome.model,
        fallback_note=_note(batch, "analysis", outcome.model, outcome.fallback_reason),
    )
    if not analysis.can_structure:
        reason = f"analysis: the rows cannot form an election: {plain_text(analysis.reason, 500) or 'no reason given'}"
        fields.update(status=BatchStatus.NEEDS_REUPLOAD, error_reason=reason, failure_kind=FailureKind.DATA)
        return fields, BatchResult(batch, False, outcome.model, outcome.fallback_reason, reason)
    fields.update(status=BatchStatus.ANALYZED, error_reason=None, failure_kind=None)
    return fields, BatchResult(batch, True, outcome.model, outcome.fallback_reason)


def structure_fields(batch: ElectionBatch, outcome: Outcome) -> tuple[dict, BatchResult]:
    """The answer was checked against the batch's rows (records.validate) before it got here."""
    checked: CheckedOutput = outcome.value
    fields = dict(
        status=BatchStatus.STRUCTURED,
        error_reason=None,
        failure_kind=None,
        structured_json=checked.value,
        output_notes=checked.notes or None,
        structure_model=outcome.model,
        fallback_note=_note(batch, "structure", outcome.model, outcome.fallback_reason),
    )
    return fields, BatchResult(batch, True, outcome.model, outcome.fallback_reason)


@dataclass(frozen=True)
class ModelStage:
    """What one model stage asks of a batch and how the answer is kept: shared by online calls and
    Batch API jobs."""

    name: str
    system: str
    schema: type[BaseModel]
    prompt: Callable[[ElectionBatch], str]
    check: Callable[[ElectionBatch], Callable[[Any], Any]]
    fields: Callable[[ElectionBatch, Outcome], tuple[dict, BatchResult]]


ANALYSIS = ModelStage(
    "analysis",
    prompts.ANALYSIS_SYSTEM,
    BatchAnalysis,
    lambda batch: prompts.analysis_prompt(batch.rows_json),
    lambda batch: lambda answer: check_analysis(answer, batch.rows_json, batch.election_date),
    analysis_fields,
)
STRUCTURE = ModelStage(
    "structure",
    prompts.STRUCTURE_SYSTEM,
    StructuredBatch,
    lambda batch: prompts.structure_prompt(batch.rows_json, batch.analysis_json),
    lambda batch: lambda answer: check_structured(answer, batch.rows_json, batch.election_date),
    structure_fields,
)
MODEL_STAGES = {s.name: s for s in (ANALYSIS, STRUCTURE)}


async def run_online(
    stage: ModelStage, gemini: GeminiModels, batch: ElectionBatch, keep: Callable[[tuple[int, dict]], Awaitable]
) -> BatchResult:
    """One batch's call of `stage`, on the event loop; `keep((batch id, fields))` stores its answer (or
    failure): the stage stores those of one turn of the loop together (storage.coalesce)."""
    try:
        outcome = await gemini.caller.arun(
            stage.name,
            stage.system,
            stage.prompt(batch),
            stage.schema,
            {"upload_id": batch.upload_id, "batch_id": batch.id},
            gemini.chain(stage.name),
            check=stage.check(batch),
        )
    except BatchFailedError as e:
        fields, result = give_up(batch, e)
    else:
        fields, result = stage.fields(batch, outcome)
    await keep((batch.id, fields))
    return result


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
            {"batch": b.batch_key, "race": race_of(b), "reason": b.error_reason}
            for b in batches
            if outcomes[b.id] == "failed"
        ],
        "waiting_batches": [
            {"batch": b.batch_key, "race": race_of(b), "reason": b.error_reason}
            for b in batches
            if outcomes[b.id] == "waiting"
        ],
        "fallbacks": [
            {"batch": b.batch_key, "race": race_of(b), "note": note}
            for b in batches
            for note in re.split(r"; (?=\w+ used )", b.fallback_note or "")
            if note.startswith(f"{stage} used")
        ],
    }


def column_mapper(
    gemini: GeminiModels, upload_id: int, answers: dict, max_prompt_tokens: int = DEFAULT_MAX_PROMPT_TOKENS
):
    """Intake's model layer: one structured-output call per sheet, on the structure chain, as an attempt row.
    `answers` (sheet -> headers and answer) is kept on the upload, so a re-run asks nothing again. The
    sample's cells are clipped, and a prompt above `max_prompt_tokens` is never sent (uploads.prompt_budget)."""

    def ask(sheet: str, headers: list[str], sample: list[list[str]], refused=()) -> list[tuple[str, str, float]]:
        told = [{"column": r["column"], "role": r["role"], "why": r["why"]} for r in refused]
        key = sheet if not told else f"{sheet} (asked again)"
        known = answers.get(key)
        if known and known["headers"] == headers:
            return [tuple(a) for a in known["answer"]]
        prompt = prompts.columns_prompt(sheet, headers, clipped_sample(sample), told)
        check_columns_prompt(sheet, prompt, max_prompt_tokens)
        outcome = gemini.caller.run(
            "columns",
            prompts.COLUMNS_SYSTEM,
            prompt,
            ColumnMappingAnswer,
            {"upload_id": upload_id},
            gemini.chain("structure"),
        )
        answer = [(c.column, c.role, c.confidence) for c in outcome.value.columns]
        answers[key] = {"headers": headers, "answer": answer}
        return answer

    return ask
