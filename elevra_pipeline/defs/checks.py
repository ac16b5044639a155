"""Non-blocking asset checks on each upload's result workbook, shown next to the partition in the UI.

They are evaluated whenever the workbook is written, also for an upload that needs attention (whose
run then fails with the reason), so a data problem never shows as a check that could not run."""

import dagster as dg
import openpyxl

from elevra_pipeline.storage.batch_rules import BatchStatus, FailureKind
from elevra_pipeline.uploads.status import markdown_cell

OUTCOMES = ("header", "candidates", "needs_reupload", "sent_again", "dropped", "in_progress")  # add up to rows read
RESULT_CHECKS = [
    dg.AssetCheckSpec(
        "no_batch_failed_a_model_stage",
        asset="result_workbook",
        blocking=False,
        description="No batch needs re-upload or waits because of the model (data problems are not counted).",
    ),
    dg.AssetCheckSpec(
        "every_row_accounted_for",
        asset="result_workbook",
        blocking=False,
        description="Rows read = header rows + candidates + rows needing re-upload + rows sent again + dropped + in "
        "progress.",
    ),
    dg.AssetCheckSpec(
        "workbook_matches_database",
        asset="result_workbook",
        blocking=False,
        description="The workbook's Elections and Candidates sheets hold the rows the database has.",
    ),
]


def model_failures(batches) -> list:
    return [
        b
        for b in batches
        if b.status == BatchStatus.WAITING_FOR_MODEL
        or (b.status == BatchStatus.NEEDS_REUPLOAD and b.failure_kind == FailureKind.MODEL)
    ]


def sheet_rows(path: str, sheet: str) -> int:
    book = openpyxl.load_workbook(path, read_only=True)
    try:
        return max(0, book[sheet].max_row - 1)
    finally:
        book.close()


def result_checks(batches, summary: dict, workbook_path: str) -> list[dg.AssetCheckResult]:
    failed = model_failures(batches)
    table = "\n".join(
        ["| batch | status | reason |", "| --- | --- | --- |"]
        + [f"| {b.batch_key} | {b.status} | {markdown_cell(b.error_reason, 200)} |" for b in failed]
    )
    rows = summary.get("rows", {})
    outcomes = sum(rows.get(k, 0) for k in OUTCOMES)
    in_book = {name: sheet_rows(workbook_path, name) for name in ("Elections", "Candidates")}
    in_db = {"Elections": len(summary["elections"]), "Candidates": len(summary["candidates"])}
    return [
        dg.AssetCheckResult(
            check_name="no_batch_failed_a_model_stage",
            passed=not failed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"failed_batches": len(failed), "batches": dg.MetadataValue.md(table)},
        ),
        dg.AssetCheckResult(
            check_name="every_row_accounted_for",
            passed=outcomes == rows.get("read", 0),
            metadata={"rows_read": rows.get("read", 0), "accounted_for": outcomes},
        ),
        dg.AssetCheckResult(
            check_name="workbook_matches_database",
            passed=in_book == in_db,
            metadata={"workbook": dg.MetadataValue.json(in_book), "database": dg.MetadataValue.json(in_db)},
        ),
    ]
