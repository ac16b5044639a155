"""One summary per upload, computed once from the database and stored on the upload."""

from collections import Counter
from collections.abc import Iterable

from sqlalchemy.orm import Session

from elevra_pipeline.quotas.planner import planned_mode
from elevra_pipeline.records.changes import change_report
from elevra_pipeline.records.insert import candidate_url, election_url
from elevra_pipeline.storage.batch_rules import BatchStatus, UploadStatus
from elevra_pipeline.storage.models import Candidate, Election, ModelAttempt, Upload
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.workbook.row_accounting import account_rows


def model_usage(repo: Repository, upload_id: int) -> dict[str, dict]:
    return summarize_attempts(repo.attempts(upload_id))


def summarize_attempts(attempts: Iterable[ModelAttempt]) -> dict[str, dict]:
    """Calls, outcomes, fallbacks, retries, tokens and cost (USD, None if the model has no price) per model
    that answered (the model asked, for a call without an answer), from attempt rows."""
    usage: dict[str, Counter] = {}
    costs: dict[str, float | None] = {}
    for a in attempts:
        model = getattr(a, "model_version", None) or a.model
        if a.cost_usd is not None:
            costs[model] = (costs.get(model) or 0.0) + a.cost_usd
        else:
            costs.setdefault(model, None)
        row = usage.setdefault(model, Counter())
        row["calls"] += 1
        row["ok"] += a.status == "ok"
        row["rate_limited"] += a.status == "rate_limited"
        row["errors"] += a.status not in ("ok", "rate_limited")
        row["fallback_calls"] += bool(a.is_fallback)
        row["retries"] += a.attempt_no > 1
        row["input_tokens"] += a.input_tokens or 0
        row["output_tokens"] += a.output_tokens or 0
    return {
        model: {**counts, "cost_usd": None if (cost := costs[model]) is None else round(cost, 6)}
        for model, counts in sorted(usage.items())
    }


def total_cost_usd(usage: dict[str, dict]) -> float | None:
    """The upload's cost: the sum over models, None if no model's cost is known."""
    known = [u["cost_usd"] for u in usage.values() if u.get("cost_usd") is not None]
    return round(sum(known), 6) if known else None if usage else 0.0


def build_summary(repo: Repository, upload: Upload, base_url: str) -> dict:
    batches = repo.batches(upload.id)
    election_ids = sorted({b.inserted_json["election_id"] for b in batches if b.inserted_json})
    candidate_ids = sorted({c for b in batches if b.inserted_json for c in b.inserted_json["candidate_ids"]})
    elections = repo.rows_by_ids(Election, election_ids)
    candidates = repo.rows_by_ids(Candidate, candidate_ids)
    by_id = {e.id: e for e in elections}
    statuses = Counter(b.status for b in batches)
    rows, dropped = account_rows(repo, upload, batches)
    intake = upload.intake_json or {}
    return {
        "rows": rows,
        "dropped_rows": dropped,
        "sheets": [
            {
                k: s[k]
                for k in (
                    "name",
                    "status",
                    "reason",
                    "header_row",
                    "mapping",
                    "mapping_note",
                    "defaults_used",
                    "warnings",
                    "rows_read",
                )
            }
            for s in intake.get("sheets", [])
        ],
        "source": intake.get("source", {}),
        "options_note": (upload.options_json or {}).get("sidecar_error"),
        "upload_id": upload.id,
        "partition_key": upload.partition_key,
        "filename": upload.original_filename,
        "batches": {
            "total": len(batches),
            "inserted": statuses.get("inserted", 0),
            "needs_reupload": statuses.get("needs_reupload", 0),
            "skipped": statuses.get("skipped", 0),
            "waiting_for_model": statuses.get("waiting_for_model", 0),
            "by_status": dict(statuses),
        },
        "elections": [
            {"id": e.id, "name": e.name, "date": e.election_date, "url": election_url(base_url, e.slug)}
            for e in elections
        ],
        "candidates": [
            {
                "id": c.id,
                "name": c.name,
                "party": c.party,
                "election": by_id[c.election_id].name,
                "url": candidate_url(base_url, c.slug),
            }
            for c in candidates
        ],
        "needs_reupload": [
            {
                "batch": b.batch_key,
                "jurisdiction": b.jurisdiction,
                "office": b.office,
                "district": b.district,
                "date": b.election_date,
                "reason": b.error_reason,
                "rows": b.row_count,
            }
            for b in batches
            if b.status == BatchStatus.NEEDS_REUPLOAD
        ],
        "fallbacks": [{"batch": b.batch_key, "note": b.fallback_note} for b in batches if b.fallback_note],
        "output_notes": [{"batch": b.batch_key, "note": note} for b in batches for note in b.output_notes or []],
        "model_usage": (usage := model_usage(repo, upload.id)),
        "mode": str(planned_mode(upload.summary_json)),
        "emulated": bool((upload.summary_json or {}).get("emulated")),
        "cost_usd": total_cost_usd(usage),
        "not_on_ballot": (upload.summary_json or {}).get("not_on_ballot") or {},
        "changes": (upload.summary_json or {}).get("preview", {})
        if upload.status == UploadStatus.AWAITING_APPROVAL
        else upload_changes(repo, upload.id),
    }


def upload_changes(repo: Repository, upload_id: int, session: Session | None = None) -> dict:
    """What the upload did to the records (records.changes), with the records named as a person would
    (`session`: inside the transaction of a preview, which is rolled back after)."""
    sources = repo.sources_of_upload(upload_id, session)
    ids = {kind: [s.record_id for s in sources if s.record_type == kind] for kind in ("election", "candidate")}
    candidates = repo.rows_by_ids(Candidate, ids["candidate"], session)
    election_ids = ids["election"] + [c.election_id for c in candidates]
    elections = {e.id: e for e in repo.rows_by_ids(Election, election_ids, session)}
    names = {("election", i): e.name for i, e in elections.items()}
    names |= {("candidate", c.id): f"{c.name}, {elections[c.election_id].name}" for c in candidates}
    return change_report(repo.changes_of_upload(upload_id, session), sources, names)
