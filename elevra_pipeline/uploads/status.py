"""`elevra-pipeline status`: uploads at a glance, or one upload's batches and model usage."""

from collections import Counter
from datetime import datetime, timezone

from elevra_pipeline.notifications.templates import EMULATED_NOTE, mapping_lines, rows_line
from elevra_pipeline.quotas.limits import QuotaConfig, load_quotas
from elevra_pipeline.quotas.planner import BATCH_ETA, planned_mode
from elevra_pipeline.quotas.prices import CallMode, format_cost
from elevra_pipeline.records.changes import change_line
from elevra_pipeline.records.withdrawn import report_lines
from elevra_pipeline.storage.batch_rules import BatchStatus
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.storage.shown_state import skipped_by, upload_state
from elevra_pipeline.uploads.attention import attention_line
from elevra_pipeline.uploads.queue import DONE_BATCHES, OPEN_UPLOADS, queue_snapshot
from elevra_pipeline.uploads.record_counts import race_records, upload_records
from elevra_pipeline.uploads.stages import race_of
from elevra_pipeline.workbook.row_accounting import account_rows
from elevra_pipeline.workbook.summary import model_usage, summarize_attempts, total_cost_usd


def markdown_cell(text: object, limit: int = 300) -> str:
    """Text that stays inside one cell of a markdown table."""
    return str(text or "").replace("|", "\\|").replace("\n", " ")[:limit]


def attempts_per_batch(repo: Repository, upload_id: int) -> Counter:
    return Counter(a.batch_id for a in repo.attempts(upload_id))


def upload_glance(repo: Repository, upload, quotas: QuotaConfig | None = None, batches=None, attempts=None) -> dict:
    """`quotas` (read from the quotas file when needed and not given) only matter for the ETA; `batches`
    and `attempts`, the upload's, when the caller has them already."""
    batches = repo.batches(upload.id) if batches is None else batches
    usage = summarize_attempts(repo.attempts(upload.id) if attempts is None else attempts)
    done = sum(b.status in DONE_BATCHES for b in batches)
    if done == len(batches) or upload.status not in OPEN_UPLOADS:
        eta = "-"
    elif planned_mode(upload.summary_json) == CallMode.BATCH:
        eta = BATCH_ETA
    else:
        eta = queue_snapshot(repo, upload, quotas or load_quotas())["eta"]
    return {
        "progress": f"{sum(b.status == BatchStatus.INSERTED for b in batches)}/{len(batches)}",  # races inserted
        "eta": eta,
        "calls": sum(u.get("calls", 0) for u in usage.values()),
        "tokens": sum(u.get("input_tokens", 0) + u.get("output_tokens", 0) for u in usage.values()),
        "429s": sum(u.get("rate_limited", 0) for u in usage.values()),
        "fallbacks": sum(u.get("fallback_calls", 0) for u in usage.values()),
        "emails": len(repo.notifications(upload.id)),
        "mode": str(planned_mode(upload.summary_json)),
        "cost_usd": total_cost_usd(usage),
    }


def _upload_json(repo: Repository, upload, quotas: QuotaConfig, detail: bool) -> dict:
    glance = upload_glance(repo, upload, quotas)
    batches = repo.batches(upload.id)
    usage = model_usage(repo, upload.id)
    done = sum(b.status in DONE_BATCHES for b in batches)
    plan = (upload.summary_json or {}).get("plan") or {}
    state = upload_state(upload, batches)
    document = {
        "id": upload.id,
        "partition_key": upload.partition_key,
        "file": upload.original_filename,
        "status": upload.status,
        "state": state.state,  # what every view shows (storage.shown_state)
        "state_label": state.label,
        "state_tone": state.tone,
        "paused": bool(upload.paused),
        "reason": upload.failure_reason,
        "created_at": iso_utc(upload.created_at),
        "progress": {
            "batches_done": done,
            "batches_total": len(batches),
            "percent": round(100 * done / len(batches), 1) if batches else 0.0,
            "by_status": dict(Counter(b.status for b in batches)),
        },
        "eta": glance["eta"],
        "mode": glance["mode"],
        "mode_reason": plan.get("reason"),
        "emulated": bool((upload.summary_json or {}).get("emulated")),
        "model_calls": glance["calls"],
        "tokens": {
            "input": sum(u.get("input_tokens", 0) for u in usage.values()),
            "output": sum(u.get("output_tokens", 0) for u in usage.values()),
        },
        "rate_limited": glance["429s"],
        "fallbacks": glance["fallbacks"],
        "cost_usd": glance["cost_usd"],
        "emails": glance["emails"],
        "workbook": upload.workbook_path,
        "results_url": (upload.summary_json or {}).get("results_url"),
        "models": usage,
        "records": upload_records(upload.status, upload.summary_json).model_dump(
            mode="json"
        ),  # elections, candidates: new, updated, ...
        "needs_attention": attention_line(upload, batches),
        "revisions": (upload.summary_json or {}).get("revisions", []),  # the same file re-sent with new settings
        "replaces": (upload.summary_json or {}).get("replaces"),  # {upload_id, file, how}: returned or replaced
        "replaced_by": (upload.summary_json or {}).get("replaced_by"),
    }
    if detail:
        document["superseded_batches"] = [
            {"key": b.batch_key, "reason": b.error_reason}
            for b in repo.batches(upload.id, superseded=True)
            if b.status == BatchStatus.SUPERSEDED
        ]
        attempts = attempts_per_batch(repo, upload.id)
        races = race_records(repo, upload, batches)
        document["batches"] = [
            {
                "key": b.batch_key,
                "race": race_of(b),
                "status": b.status,
                "attempts": attempts[b.id],
                "error": b.error_reason,
                "fallback": b.fallback_note,
                "admin_note": b.admin_note,
                "skipped_by": skipped_by(b),
                "records": races[b.id].model_dump(mode="json") if b.id in races else None,
            }
            for b in batches
        ]
        document["batch_jobs"] = [
            {
                "key": j.key,
                "stage": j.stage,
                "model": j.model,
                "state": j.state,
                "applied": j.applied_at is not None,
                "batches": len(j.batch_ids),
                "error": j.error,
            }
            for j in repo.batch_jobs(upload.id)
        ]
        document["email_log"] = [
            {"kind": n.kind, "status": n.status, "to": n.recipients, "subject": n.subject, "error": n.error}
            for n in repo.notifications(upload.id)
        ]
    return document


def upload_document(repo: Repository, upload, quotas: QuotaConfig, detail: bool = False) -> dict:
    """One upload as `status --json` shows it (`detail`: with its batches, jobs and e-mails); the HTTP API's too."""
    return _upload_json(repo, upload, quotas, detail)


def iso_utc(moment: datetime | None) -> str | None:
    """UTC, `Z`-suffixed (SQLite hands back naive datetimes: they were written in UTC)."""
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def status_document(repo: Repository, upload_id: int | None = None, quotas: QuotaConfig | None = None) -> dict:
    """`status --json`: every upload (or one, with its batches, Batch API jobs and e-mails) as one JSON
    document; the contract the admin app polls. `uploads` is empty when the id is unknown."""
    quotas = quotas or load_quotas()
    if upload_id is None:
        uploads = repo.list_uploads()
    else:
        uploads = [u for u in [repo.get_upload_by_id(upload_id)] if u is not None]
    return {
        "generated_at": iso_utc(datetime.now(timezone.utc)),
        "paused_all": repo.control("pause_all") is not None,
        "uploads": [_upload_json(repo, u, quotas, detail=upload_id is not None) for u in uploads],
    }


def batches_markdown(repo: Repository, upload, quotas: QuotaConfig | None = None, batches=None, attempts=None) -> str:
    """Per batch: status, attempts, last error — for Dagster metadata. (`batches`, `attempts`: the
    upload's, when the caller has them already.)"""
    batches = repo.batches(upload.id) if batches is None else batches
    attempts = repo.attempts(upload.id) if attempts is None else attempts
    glance = upload_glance(repo, upload, quotas, batches, attempts)
    per_batch = Counter(a.batch_id for a in attempts)
    lines = [
        *([f"**{EMULATED_NOTE}**", ""] if (upload.summary_json or {}).get("emulated") else []),
        f"**{upload.original_filename}** — {upload.status}, races inserted {glance['progress']}, ETA {glance['eta']}, "
        f"{glance['calls']} model calls, {glance['429s']} 429s, {glance['fallbacks']} fallbacks, "
        f"{glance['emails']} e-mails, cost {format_cost(glance['cost_usd'])}",
        "",
        "| batch | status | attempts | last error |",
        "| --- | --- | --- | --- |",
    ]
    for b in batches:
        lines.append(f"| {b.batch_key} | {b.status} | {per_batch[b.id]} | {markdown_cell(b.error_reason, 200)} |")
    return "\n".join(lines)


def _status_label(repo: Repository, upload) -> str:
    """The state every view shows (storage.shown_state), and whether the records are emulated."""
    label = upload_state(upload, repo.batches(upload.id)).label
    return label + (" EMULATED" if (upload.summary_json or {}).get("emulated") else "")


def print_status(repo: Repository, upload_id: int | None) -> int:
    if upload_id is None:
        uploads = repo.list_uploads()
        if not uploads:
            print("No uploads yet. Drop a spreadsheet in the upload folder or run `elevra-pipeline process FILE`.")
            return 0
        labels = {u.id: _status_label(repo, u) for u in uploads}
        width = max(24, *(len(label) for label in labels.values()))  # the columns stay aligned
        print(
            f"{'id':>4}  {'status':{width}} {'inserted':>9}  {'ETA':28} {'calls':>6} {'tokens':>8} {'429s':>5} "
            f"{'fallback':>8} {'e-mails':>7} {'cost USD':>9}  file"
        )
        quotas = load_quotas()
        for u in uploads:
            g = upload_glance(repo, u, quotas)
            print(
                f"{u.id:>4}  {labels[u.id]:{width}} {g['progress']:>9}  {g['eta']:28} "
                f"{g['calls']:>6} {g['tokens']:>8} {g['429s']:>5} {g['fallbacks']:>8} "
                f"{g['emails']:>7} {format_cost(g['cost_usd']).lstrip('$'):>9}  {u.original_filename}"
            )
        if repo.control("pause_all"):
            print("\nModel work is PAUSED for all uploads (`elevra-pipeline resume --all`).")
        if failed := repo.count_notifications("failed"):
            print(
                f"\n{failed} e-mail(s) FAILED for good (the team was alerted); `status ID` shows each with its error."
            )
        return 0
    upload = repo.get_upload_by_id(upload_id)
    if upload is None:
        print(f"No upload with id {upload_id}.")
        return 1
    print(
        f"Upload {upload.id}: {upload.original_filename} [{upload_state(upload, repo.batches(upload.id)).label}] "
        f"partition {upload.partition_key}"
    )
    if (upload.summary_json or {}).get("emulated"):
        print(f"  {EMULATED_NOTE}")
    if upload.failure_reason:
        print(f"  reason: {upload.failure_reason}")
    if line := attention_line(upload, repo.batches(upload.id)):
        print(f"  NEEDS ATTENTION: {line}")
    for revision in (upload.summary_json or {}).get("revisions", []):
        changed = ", ".join(f"{k} {v}" for k, v in revision.items() if k not in ("revision", "at", "by"))
        print(f"  revision {revision['revision']} ({revision['at']}, by {revision['by']}): {changed}")
    for key, label in (("replaces", "replaces"), ("replaced_by", "replaced by")):
        if link := (upload.summary_json or {}).get(key):
            print(f"  {label} upload {link['upload_id']} ({link['file']}, {link['how']})")
    if upload.workbook_path:
        print(f"  workbook: {upload.workbook_path}")
    if reverted := (upload.summary_json or {}).get("reverted"):
        print(
            f"  records: REVERTED: {reverted['restored']} value(s) restored, {reverted['removed']} record(s) removed, "
            f"{reverted['kept_later_value']} left as later uploads changed them (what it had done follows)"
        )
    if changes := (upload.summary_json or {}).get("changes"):
        print(f"  records: {change_line(changes)}")
        for c in [c for c in changes.get("rows", []) if c["action"] not in ("set", "new")][:10]:
            print(f"    {c['action']:8} {c['record']}: {c['field']} '{c['old']}' -> '{c['new']}'")
    for line in report_lines((upload.summary_json or {}).get("not_on_ballot") or {}):
        print(f"  not on the ballot: {line}")
    if upload.intake_json:
        rows, _ = account_rows(repo, upload, repo.batches(upload.id))
        print(f"  {rows_line(rows)}")
        for line in mapping_lines(upload.intake_json):
            print(f"  columns: {line}")
        for reason, count in upload.intake_json.get("dropped_by_reason", {}).items():
            print(f"  dropped: {reason}: {count}")
    if plan := (upload.summary_json or {}).get("plan"):
        print(f"  model calls: {plan['reason']}")
    if (upload.options_json or {}).get("sidecar_error"):
        print(f"  warning: {upload.options_json['sidecar_error']}")
    per_batch = attempts_per_batch(repo, upload.id)
    print(f"\n  {'status':16} {'attempts':>8}  batch / last error")
    for b in repo.batches(upload.id):
        print(f"  {b.status:16} {per_batch[b.id]:>8}  {b.batch_key}")
        if b.error_reason:
            print(f"  {'':16} {'':>8}  ! {b.error_reason}")
        if b.admin_note:
            print(f"  {'':16} {'':>8}  @ admin: {b.admin_note}")
        if b.fallback_note:
            print(f"  {'':16} {'':>8}  ~ {b.fallback_note}")
    history = [b for b in repo.batches(upload.id, superseded=True) if b.status == BatchStatus.SUPERSEDED]
    if history:
        print(f"\n  superseded (history: their rows are in other batches or uploads now): {len(history)}")
        for b in history:
            print(f"  {'superseded':16} {per_batch[b.id]:>8}  {b.batch_key}: {b.error_reason}")
    notifications = repo.notifications(upload.id)
    print(f"\n  e-mails ({len(notifications)}):")
    for n in notifications:
        print(f"  {n.status:9} {n.kind:19} attempts {n.attempts}  {n.provider_id or n.error or ''}  | {n.subject}")
    print(
        f"\n  {'model':18} {'calls':>6} {'ok':>5} {'429s':>5} {'errors':>6} {'fallback':>8} "
        f"{'tokens in':>10} {'tokens out':>10} {'cost USD':>9}"
    )
    usage = model_usage(repo, upload.id)
    for model, u in usage.items():
        print(
            f"  {model:18} {u.get('calls', 0):>6} {u.get('ok', 0):>5} {u.get('rate_limited', 0):>5} "
            f"{u.get('errors', 0):>6} {u.get('fallback_calls', 0):>8} "
            f"{u.get('input_tokens', 0):>10} {u.get('output_tokens', 0):>10} "
            f"{format_cost(u.get('cost_usd')).lstrip('$'):>9}"
        )
    print(f"\n  cost: {format_cost(total_cost_usd(usage))} ({planned_mode(upload.summary_json)} calls)")
    for job in repo.batch_jobs(upload.id):
        print(
            f"  Batch API job {job.key}: {job.state}{', applied' if job.applied_at else ''}, {job.model}, "
            f"{len(job.batch_ids)} batch(es), {job.estimated_tokens} tokens{f' ({job.error})' if job.error else ''}"
        )
    return 0


def digest_lines(repo: Repository, uploads: list) -> list[str]:
    """One line per upload for the team's daily digest: those that need attention first."""
    lines = []
    for upload in uploads:
        summary = upload.summary_json or {}
        done = f"{len(summary.get('elections', []))} elections, {len(summary.get('candidates', []))} candidates"
        line = attention_line(upload, repo.batches(upload.id))
        label = upload_state(upload, repo.batches(upload.id)).label
        lines.append((line is None, f"upload {upload.id} {upload.original_filename} [{label}]: {line or done}"))
    return [text for _, text in sorted(lines, key=lambda pair: pair[0])]
