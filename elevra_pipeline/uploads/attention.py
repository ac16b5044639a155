"""Whether an upload needs someone's attention, in one line: the first line of its run's failure in
the Dagster UI, so a partition that needs attention looks like it (red), and Dagster's "failed
partitions" backfill selects it."""

from collections import Counter

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


def attention_line(upload, batches, commands: bool = True) -> str | None:
    """None when the upload is done cleanly (or still running); else what is wrong and who acts.
    `commands=False`: without the command-line way to send the fix (the upload page has its own)."""
    name = upload.original_filename
    if upload.status in UNUSABLE:
        return f"'{name}' cannot be used: {upload.failure_reason}"
    if upload.status == UploadStatus.AWAITING_APPROVAL:
        staged = sum(b.status == BatchStatus.STRUCTURED for b in batches)
        return (
            f"'{name}' awaits approval: {staged} races staged, nothing published yet (the Changes sheet says what "
            f"would change); `elevra-pipeline approve {upload.id}` publishes them, `discard {upload.id}` drops them"
        )
    reupload = [b for b in batches if failed_on_data(b)]
    model = [b for b in batches if b.status == BatchStatus.NEEDS_REUPLOAD and not failed_on_data(b)]
    waiting = [b for b in batches if b.status == BatchStatus.WAITING_FOR_MODEL]
    parts = []
    if reupload:
        parts.append(
            f"{len(reupload)} of {len(batches)} races need a fix from the uploader ({grouped_reasons(reupload)}); "
            "send the file again with the fix "
            + (f"(`elevra-pipeline retry {upload.id} …`, see the e-mail)" if commands else "(see the e-mail)")
        )
    if model:
        parts.append(
            f"{len(model)} races the model kept getting wrong ({grouped_reasons(model)}); materialize the "
            "partition again (or wait for the nightly backfill) to try again, or redo or skip them"
        )
    if any(blocked_by_configuration(b) for b in waiting):
        parts.append(f"{len(waiting)} races wait for the team to fix Gemini's configuration")
    elif waiting:
        parts.append(f"{len(waiting)} races wait for Gemini; they resume by themselves")
    return f"'{name}': " + "; ".join(parts) if parts else None
