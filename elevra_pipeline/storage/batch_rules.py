"""What a stored election batch needs next: the rules the assets and the backfill schedule share."""

from enum import StrEnum


class FailureKind(StrEnum):
    DATA = "data"    # the rows cannot form an election: only a new upload helps
    MODEL = "model"  # a model stage gave up: a later run may succeed


def failed_on_data(batch) -> bool:
    return batch.status == "needs_reupload" and (batch.failure_kind == FailureKind.DATA
                                                  or bool(batch.analysis_json and not batch.analysis_json.get("can_structure")))


def needs_analysis(batch) -> bool:
    return batch.analysis_json is None and batch.status in ("pending", "needs_reupload") and not failed_on_data(batch)


def needs_structure(batch) -> bool:
    return batch.structured_json is None and not failed_on_data(batch) and (
        batch.status == "analyzed" or (batch.status == "needs_reupload" and bool(batch.analysis_json)))


def model_retryable(batch) -> str | None:
    """The stage a batch failed in for model reasons (not data reasons), if any."""
    if batch.status != "needs_reupload" or failed_on_data(batch):
        return None
    return "analysis" if needs_analysis(batch) else "structure" if needs_structure(batch) else None
