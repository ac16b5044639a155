"""Materialization metadata shared by the assets: counts and a table of failed batches."""

from collections import Counter

import dagster as dg

from elevra_pipeline.storage.batch_rules import BatchStatus
from elevra_pipeline.uploads.stages import BatchResult, race_of
from elevra_pipeline.uploads.status import markdown_cell
from elevra_pipeline.workbook.summary import summarize_attempts, total_cost_usd

ATTENTION_STATUSES = (BatchStatus.NEEDS_REUPLOAD, BatchStatus.WAITING_FOR_MODEL)  # a fix, or the model, is awaited


def failed_table(rows: list[tuple[str, str]]) -> dg.MetadataValue:
    lines = ["| batch | reason |", "| --- | --- |"] + [f"| {markdown_cell(k)} | {markdown_cell(r)} |" for k, r in rows]
    return dg.MetadataValue.md("\n".join(lines) if rows else "No failed batches.")


def stage_metadata(results: list[BatchResult], already_done: int) -> dict:
    models = Counter(r.model for r in results if r.model)
    failed = [(r.batch.batch_key, r.error) for r in results if not r.ok]
    return {
        "batches_processed": len(results),
        "succeeded": sum(r.ok for r in results),
        "failed": len(failed),
        "already_done_skipped": already_done,
        "fallbacks": sum(bool(r.fallback_reason) for r in results),
        "calls_by_model": dg.MetadataValue.json(dict(models)),
        "failed_batches": failed_table(failed),
    }


def model_usage_table(attempts) -> dg.MetadataValue:
    """Calls, tokens, 429s, fallbacks and retries per model, from attempt rows."""
    columns = {
        "calls": "calls",
        "input_tokens": "input tokens",
        "output_tokens": "output tokens",
        "rate_limited": "429s",
        "fallback_calls": "fallbacks",
        "retries": "retries",
        "errors": "errors",
        "cost_usd": "cost USD",
    }
    usage = summarize_attempts(attempts)
    lines = ["| model | " + " | ".join(columns.values()) + " |", "| --- |" + " --- |" * len(columns)]
    lines += [
        f"| {m} | " + " | ".join(str(u.get(c, 0) if u.get(c, 0) is not None else "unknown") for c in columns) + " |"
        for m, u in usage.items()
    ]
    return dg.MetadataValue.md("\n".join(lines) if usage else "No model calls.")


def mapping_markdown(report: dict) -> str:
    """Per sheet: imported or ignored (why), its header row, and each column's role with how it was decided."""
    lines = []
    for sheet in report["sheets"]:
        where = f"header on row {sheet['header_row']}" if sheet["header_row"] else "no header row"
        lines.append(
            f"**{markdown_cell(sheet['name'])}**: {sheet['status']}, {sheet['rows_read']} rows read, {where}"
            + (f"; {markdown_cell(sheet['reason'])}" if sheet["reason"] else "")
            + (f"; {markdown_cell(sheet['mapping_note'])}" if sheet["mapping_note"] else "")
        )
        if sheet["mapping"]:
            lines += ["", "| column | role | decided by |", "| --- | --- | --- |"]
            lines += [
                f"| {markdown_cell(m['column'])} | {m['role']} | {markdown_cell(m.get('why') or m['decided_by'])} |"
                for m in sheet["mapping"]
            ]
        lines.append("")
    return "\n".join(lines)


def cost_metadata(attempts) -> dg.MetadataValue:
    """The calls' cost in USD (a number, for charts), or "unknown" when a model has no price."""
    cost = total_cost_usd(summarize_attempts(attempts))
    return dg.MetadataValue.text("unknown") if cost is None else dg.MetadataValue.float(cost)


def limit_changes_table(changes: list[dict], models: list[str]) -> dg.MetadataValue:
    """The effective limits the stage's models changed to while it ran (quotas.ledger.rate_limited)."""
    mine = [c for c in changes if c["model"] in models]
    if not mine:
        return dg.MetadataValue.md("No limit changed: the effective limits held.")
    lines = ["| model | limit | old | new | why |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {c['model']} | {c['limit']} | {c['old']} | {c['new']} | {c['reason']} |" for c in mine]
    return dg.MetadataValue.md("\n".join(lines))


def unavailable_table(unavailable: dict[str, tuple[float, str]], chain: list[str]) -> dg.MetadataValue:
    """The chain's models Gemini does not serve (retired, not listed): skipped until fixed."""
    rows = [f"| {m} | {markdown_cell(why)} |" for m, (_at, why) in unavailable.items() if m in chain]
    if not rows:
        return dg.MetadataValue.md(f"every model of the chain is available ({', '.join(chain)})")
    return dg.MetadataValue.md("| model | why it is skipped |\n|---|---|\n" + "\n".join(rows))


def attention_observation(partition: str, line: str, batches) -> dg.AssetObservation:
    """What the partition page of the result workbook shows for an upload that needs attention: its one
    line and the races to fix, named as people name them (the run's failure says the same in its log)."""
    races = [(race_of(b), b.error_reason or b.status) for b in batches if b.status in ATTENTION_STATUSES]
    table = ["| race | reason |", "| --- | --- |"] + [f"| {markdown_cell(r)} | {markdown_cell(w)} |" for r, w in races]
    return dg.AssetObservation(
        asset_key="result_workbook",
        partition=partition,
        metadata={
            "needs attention": dg.MetadataValue.text(line),
            "races to fix": dg.MetadataValue.md("\n".join(table) if races else "No race to fix: see the line above."),
        },
    )
