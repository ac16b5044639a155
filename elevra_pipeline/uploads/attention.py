"""Whether an upload needs someone's attention, in one line: the first line of its run's failure in
the Dagster UI, so a partition that needs attention looks like it (red), and Dagster's "failed
partitions" backfill selects it."""

from collections import Counter
from dataclasses import dataclass

from elevra_pipeline.storage.batch_rules import (
    BatchStatus,
    UploadStatus,
    blocked_by_configuration,
    failed_on_data,
    reason_kind,
)

UNUSABLE = (UploadStatus.REJECTED, UploadStatus.FAILED)


def grouped_reasons(batches) -> str:
    """'4 races: no election date; 1 race: election date '13/45/2026' is not a date we can read'."""
    counts = Counter(reason_kind(b.error_reason) for b in batches)
    return "; ".join(f"{n} race{'s' if n > 1 else ''}: {kind}" for kind, n in counts.most_common())


@dataclass(frozen=True)
class AttentionCounts:
    """The batches that need someone, by who: what the attention line says, counted."""

    total: int = 0
    staged: int = 0  # structured, waiting for approval
    data_fixes: int = 0  # need the uploader's fix
    model_failures: int = 0  # needed re-upload for the model's answers
    waiting: int = 0  # wait for a model
    blocked: int = 0  # of which: for the team to fix Gemini's configuration

    @classmethod
    def of(cls, batches) -> "AttentionCounts":
        return cls(
            total=len(batches),
            staged=sum(b.status == BatchStatus.STRUCTURED for b in batches),
            data_fixes=sum(failed_on_data(b) for b in batches),
            model_failures=sum(b.status == BatchStatus.NEEDS_REUPLOAD and not failed_on_data(b) for b in batches),
            waiting=sum(b.status == BatchStatus.WAITING_FOR_MODEL for b in batches),
            blocked=sum(blocked_by_configuration(b) for b in batches),
        )


def attention_line(upload, batches, commands: bool = True) -> str | None:
    """None when the upload is done cleanly (or still running); else what is wrong and who acts.
    `commands=False`: without the command-line way to send the fix (the upload page has its own)."""
    reupload = [b for b in batches if failed_on_data(b)]
    model = [b for b in batches if b.status == BatchStatus.NEEDS_REUPLOAD and not failed_on_data(b)]
    reasons = (grouped_reasons(reupload), grouped_reasons(model))
    return attention_sentence(upload, AttentionCounts.of(batches), commands, reasons)


def attention_sentence(
    upload, counts: AttentionCounts, commands: bool = True, reasons: tuple[str, str] | None = None
) -> str | None:
    """The attention line from the counts (`reasons`: the grouped reasons of the races that need a fix
    and of those the model kept getting wrong; without them, the counts alone, as a list shows it)."""
    name = upload.original_filename
    if upload.status in UNUSABLE:
        return f"'{name}' cannot be used: {upload.failure_reason}"
    if upload.status == UploadStatus.AWAITING_APPROVAL:
        how = (
            f"`elevra-pipeline approve {upload.id}` publishes them, `discard {upload.id}` drops them"
            if commands
            else "Approve publishes them, Discard drops them"
        )
        return (
            f"'{name}' awaits approval: {counts.staged} races staged, nothing published yet (the Changes sheet "
            f"says what would change); {how}"
        )
    why = [f" ({r})" if r else "" for r in reasons or ("", "")]
    parts = []
    if counts.data_fixes:
        parts.append(
            f"{counts.data_fixes} of {counts.total} races need a fix from the uploader{why[0]}; "
            "send the file again with the fix "
            + (f"(`elevra-pipeline retry {upload.id} …`, see the e-mail)" if commands else "(see the e-mail)")
        )
    if counts.model_failures:
        parts.append(
            f"{counts.model_failures} races the model kept getting wrong{why[1]}; materialize the "
            "partition again (or wait for the nightly backfill) to try again, or redo or skip them"
        )
    if counts.blocked:
        parts.append(f"{counts.waiting} races wait for the team to fix Gemini's configuration")
    elif counts.waiting:
        parts.append(f"{counts.waiting} races wait for Gemini; they resume by themselves")
    return f"'{name}': " + "; ".join(parts) if parts else None
