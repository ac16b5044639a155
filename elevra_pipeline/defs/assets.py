"""Per-upload assets: batches -> analysis -> structured output -> inserted records -> workbook."""

import asyncio
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from elevra_pipeline.defs.checks import RESULT_CHECKS, result_checks
from elevra_pipeline.defs.cleanup import purge_raw_file
from elevra_pipeline.defs.leases import hold_upload, owner_for, owner_is_gone, release_upload
from elevra_pipeline.defs.metadata import (
    attention_observation,
    cost_metadata,
    failed_table,
    limit_changes_table,
    mapping_markdown,
    model_usage_table,
    stage_metadata,
    unavailable_table,
)
from elevra_pipeline.defs.partitions import uploads_partitions
from elevra_pipeline.defs.resources import AppResource, DatabaseResource, GeminiResource
from elevra_pipeline.exceptions import BatchFailedError, UnusableUploadError
from elevra_pipeline.intake.batching import group_rows
from elevra_pipeline.intake.options import UploadOptions
from elevra_pipeline.intake.reader import read_upload
from elevra_pipeline.notifications.webhook import queue_changes
from elevra_pipeline.quotas.in_flight import run_paced
from elevra_pipeline.quotas.planner import BATCH_ETA, ModePlan, choose_mode, parse_deadline, planned_mode
from elevra_pipeline.quotas.prices import CallMode
from elevra_pipeline.records.changes import change_line
from elevra_pipeline.records.insert import Source, insert_structured
from elevra_pipeline.records.withdrawn import mark_not_on_ballot
from elevra_pipeline.storage.batch_rules import (
    BatchStatus,
    FailureKind,
    UploadStatus,
    needs_analysis,
    needs_structure,
    upload_status,
)
from elevra_pipeline.storage.coalesce import Coalescer
from elevra_pipeline.storage.files import WORKBOOKS, is_object_ref
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.attention import UNUSABLE, attention_line
from elevra_pipeline.uploads.batch_stage import BatchStage
from elevra_pipeline.uploads.progress import CallProgress
from elevra_pipeline.uploads.prompt_budget import refuse_oversized
from elevra_pipeline.uploads.queue import queue_snapshot
from elevra_pipeline.uploads.review import in_review, preview_changes
from elevra_pipeline.uploads.revision import (
    earlier_upload,
    regroup,
    reopened_fields,
    superseded_fields,
    take_back,
)
from elevra_pipeline.uploads.stages import MODEL_STAGES, column_mapper, run_online, stage_summary
from elevra_pipeline.uploads.status import batches_markdown
from elevra_pipeline.workbook.builder import build_workbook
from elevra_pipeline.workbook.summary import build_summary

PACIFIC = ZoneInfo("America/Los_Angeles")
# Every upload asset: one partition per upload, owned by the data team; `code_version` is raised when
# a change makes earlier results worth redoing (the UI then marks them stale).
UPLOAD_ASSET = {
    "partitions_def": uploads_partitions,
    "group_name": "uploads",
    "owners": ["team:elevra-data"],
    "code_version": "2026-12-01",
}


def _upload(context: dg.AssetExecutionContext, database: DatabaseResource, app: AppResource):
    """The partition's upload, once this run holds it (a second run of it waits: `hold_upload`)."""
    repo = database.repository()
    upload = repo.get_upload(context.partition_key)
    if upload is None:
        raise dg.Failure(f"No upload is registered for partition '{context.partition_key}'.")
    hold_upload(context, repo, upload.id, app.batch_lease_seconds)
    return repo, repo.get_upload_by_id(upload.id)  # as the run that held it last left it


@dg.asset(**UPLOAD_ASSET, kinds={"python", "pandas"}, output_required=False)
def upload_batches(
    context: dg.AssetExecutionContext, database: DatabaseResource, gemini: GeminiResource, app: AppResource
):
    """The upload's rows, cleaned and grouped into election batches."""
    repo, upload = _upload(context, database, app)
    if upload.status == UploadStatus.CANCELLED:
        context.log.warning(f"upload {upload.id} is cancelled: nothing to do")
        return
    known = repo.batches(upload.id)
    files = app.files()
    is_stored = files.exists(upload.stored_path)  # one look (a request, on object storage)
    if known and not is_stored:
        context.log.info("the raw file was purged after completion; re-using the stored batches")
        yield dg.MaterializeResult(metadata={"batches": len(known), "raw_file": "purged"})
        return
    try:
        if upload.status == UploadStatus.REJECTED:
            raise UnusableUploadError(upload.failure_reason)
        if not is_stored:
            raise UnusableUploadError(
                f"the uploaded file '{upload.original_filename}' is no longer stored; upload it again"
            )
        options = UploadOptions.model_validate(upload.options_json or {})
        model_columns = dict((upload.intake_json or {}).get("model_columns", {}))
        with files.local_path(upload.stored_path) as stored:  # object storage: a scratch copy, removed after
            ask = column_mapper(gemini, upload.id, model_columns, app.max_prompt_tokens)
            parsed = read_upload(stored, options, app.intake_limits(), ask)
    except UnusableUploadError as e:  # said once, by the result workbook's failure: no stack trace, no red checks
        if upload.status != UploadStatus.REJECTED:
            repo.update_upload(upload.id, status=UploadStatus.FAILED, failure_reason=str(e))
        context.log.warning(f"'{upload.original_filename}' cannot be used: {e}")
        yield dg.MaterializeResult(metadata={"batches": 0, "unusable": str(e)})
        return
    drafts = refuse_oversized(group_rows(parsed.rows), app.max_prompt_tokens)  # no prompt above the budget
    regrouped = regroup(repo.batches(upload.id, superseded=True), drafts)
    revision = len((upload.summary_json or {}).get("revisions", [])) + 1
    repo.update_batches(
        [(b.id, superseded_fields(revision)) for b in regrouped.superseded]
        + [(b.id, reopened_fields(d)) for b, d in regrouped.reopened]
    )
    new = repo.save_batches(upload.id, regrouped.drafts)
    earlier, how = earlier_upload(repo, upload, parsed.report.returned_from)
    if earlier is not None and not (upload.summary_json or {}).get("replaces"):
        context.log.info(take_back(repo, upload, earlier, parsed.rows, how))
    batches = repo.batches(upload.id)
    report = {**parsed.report.to_json(), "model_columns": model_columns}
    repo.update_upload(upload.id, status=UploadStatus.PROCESSING, failure_reason=None, intake_json=report)
    queue = queue_snapshot(repo, upload, gemini.quotas, gemini.in_flight("analysis"), zone=app.timezone)
    summary = repo.get_upload_by_id(upload.id).summary_json or {}
    plan = summary.get("plan")
    if not plan or plan.get("requested") != options.mode:  # decided once, unless the admin asks again
        plan = plan_mode(options, len(batches), gemini, queue).to_json()
    if plan["mode"] == CallMode.BATCH:
        queue["eta"] = BATCH_ETA
    stages = summary.get("stages", {})
    problems = [d for d in batches if d.failure_kind == FailureKind.DATA and d.status == BatchStatus.NEEDS_REUPLOAD]
    stages["intake"] = {"failed_batches": [{"batch": d.batch_key, "reason": d.error_reason} for d in problems]}
    repo.merge_summary(
        upload.id,
        queue={**queue, "rows": len(parsed.rows), "needs_reupload": len(stages["intake"]["failed_batches"])},
        stages=stages,
        **({"emulated": True} if gemini.emulated else {}),
        plan=plan,
    )
    context.log.info(f"model calls: {plan['reason']}")
    data_problems = len(problems)
    context.log.info(
        f"{upload.original_filename}: {report['rows_read']} rows read, {len(parsed.rows)} candidate rows "
        f"in {len(batches)} election batches ({data_problems} need re-upload for their data)"
    )
    yield dg.MaterializeResult(
        metadata={
            "rows_read": report["rows_read"],
            "candidate_rows": len(parsed.rows),
            "dropped_rows": sum(report["dropped_by_reason"].values()),
            "dropped_by_reason": dg.MetadataValue.json(report["dropped_by_reason"]),
            "sheets": ", ".join(parsed.sheets),
            "batches": len(batches),
            "new_batches": new,
            "superseded_batches": len(regrouped.superseded),
            "batches_needing_reupload_for_data": data_problems,
            "column_mapping": dg.MetadataValue.md(mapping_markdown(report)),
            "mode": plan["mode"],
            "mode_reason": plan["reason"],
        }
    )


def plan_mode(options: UploadOptions, batches: int, gemini: GeminiResource, queue: dict) -> ModePlan:
    now = datetime.now(PACIFIC)
    eta = queue.get("eta_seconds")
    first = gemini.chain("analysis")[0]
    rpd = gemini.quotas.limits(first).rpd
    left = None
    if rpd:
        left = max(0, rpd - gemini.caller.engine.ledger.usage(first, now.timestamp())["requests_today"])
    return choose_mode(
        options.mode,
        batches,
        now,
        parse_deadline(options.deadline, PACIFIC),
        left,
        gemini.batch_unavailable,
        None if eta is None else now + timedelta(seconds=eta),
    )


def _halted(context, repo, upload) -> bool:
    """Cancelled or paused uploads do no model work; the step is skipped, and so are the ones after it."""
    if upload.status == UploadStatus.CANCELLED:
        context.log.warning(f"upload {upload.id} is cancelled: nothing to do")
        return True
    if repo.is_paused(upload):
        context.log.warning(
            f"model work is paused ({'this upload' if upload.paused else 'all uploads'}); "
            "resume with `elevra-pipeline resume` and materialize again"
        )
        return True
    return False


def _lease(repo: Repository, upload_id: int, todo: list, owner: str, lease_seconds: float) -> list:
    """The stage's batches leased to this run in one statement (where free, expired or already ours),
    as they are now: one another run finished meanwhile is left out by the caller's `eligible`."""
    now = time.time()
    ids = set(repo.lease_batches([b.id for b in todo], owner, now, now + lease_seconds, owner))
    return [b for b in repo.batches(upload_id) if b.id in ids]


async def _run_online(
    repo, gemini, stage, eligible, upload_id: int, leased: list, owner: str, app, report=lambda progress: None
) -> list:
    """Every leased batch's call on one event loop, as many in flight as the quotas admit; the leases
    are renewed while the stage runs (a stage held back by its quotas can outlast one lease), and
    `report(progress)` is told how far the stage is every `app.progress_seconds` when it moved."""
    todo = [b for b in leased if eligible(b)]
    progress = CallProgress(stage.name, len(todo))

    async def renew() -> None:
        while True:
            await asyncio.sleep(app.batch_lease_seconds / 3)
            now = time.time()
            repo.lease_batches([b.id for b in leased], owner, now, now + app.batch_lease_seconds, owner)
            repo.claim_upload_run(upload_id, owner, now, now + app.batch_lease_seconds)

    async def tell() -> None:
        while True:
            await asyncio.sleep(app.progress_seconds)
            if progress.worth_telling():
                report(progress)

    async def counted(batch):
        try:
            return await run_online(stage, gemini, batch, keep)
        finally:
            progress.one_done()

    keep = Coalescer(repo.update_batches)
    renewing, telling = asyncio.create_task(renew()), asyncio.create_task(tell())
    try:
        async with gemini.caller.async_session():
            return await run_paced(counted, todo, lambda: gemini.in_flight(stage.name), gemini.max_in_flight)
    finally:
        renewing.cancel()
        telling.cancel()


def _reporter(context):
    """A stage's progress in the run's log, and as an observation `process` draws as a progress bar."""

    def report(progress: CallProgress) -> None:
        context.log.info(progress.line())
        context.log_event(
            dg.AssetObservation(
                asset_key=context.asset_key, partition=context.partition_key, metadata=progress.metadata()
            )
        )

    return report


def _model_stage(context, database, gemini, app, stage: str, eligible):
    repo, upload = _upload(context, database, app)
    if _halted(context, repo, upload):
        return
    if upload.status in UNUSABLE:  # the result workbook says why, once
        yield dg.MaterializeResult(metadata={"batches": 0, "unusable": upload.failure_reason or ""})
        return
    if gemini.emulated and not (upload.summary_json or {}).get("emulated"):
        repo.merge_summary(upload.id, emulated=True)  # shown in status, the workbook and every e-mail
    started = time.time()
    batches = repo.batches(upload.id)
    for stale in [b for b in batches if b.lease_owner and owner_is_gone(b.lease_owner, context.instance)]:
        repo.release_batch(stale.id, stale.lease_owner)  # left by a killed run
    owner = owner_for(context.run_id)
    mode, applied = planned_mode(upload.summary_json), []
    if mode == CallMode.BATCH:
        report = BatchStage(
            repo,
            gemini.batches,
            gemini.caller.engine,
            gemini.chain(stage),
            gemini.max_attempts,
            gemini.batch_poll_seconds,
        ).run(upload, MODEL_STAGES[stage], eligible, owner)
        applied = report.results
        if report.submitted:
            context.log.info(f"{stage}: sent {len(report.submitted)} Batch API job(s): {', '.join(report.submitted)}")
        if applied:
            context.log.info(f"{stage}: applied the answers of {len(applied)} batch(es) from Batch API jobs")
        if report.open_jobs:
            context.log.info(
                f"{stage}: {report.open_jobs} Batch API job(s) still at Gemini; the batch_jobs sensor (or "
                "`process`) runs this partition again when they end"
            )
            stages = (repo.get_upload_by_id(upload.id).summary_json or {}).get("stages", {})
            stages[stage] = stage_summary(repo.batches(upload.id), stage)
            repo.merge_summary(upload.id, stages=stages)
            open_jobs = [j for j in repo.batch_jobs(upload.id, stage) if j.ended_at is None]
            context.log_event(
                dg.AssetObservation(
                    asset_key=context.asset_key,
                    partition=context.partition_key,
                    metadata={
                        "waiting_for_batch_jobs": len(open_jobs),
                        "batch_jobs": ", ".join(f"{j.key} ({j.state})" for j in open_jobs),
                    },
                )
            )
            return  # not materialized: the steps after it are skipped until the answers are in
        batches = repo.batches(upload.id)  # what no job could take goes online below
    todo = [b for b in batches if eligible(b)]
    context.log.info(f"{stage}: {len(todo)} batch(es) to process, {len(batches) - len(todo)} done or not eligible")

    leased = _lease(repo, upload.id, todo, owner, app.batch_lease_seconds)
    leased_ids = {b.id for b in leased}
    leased_elsewhere = [b.batch_key for b in todo if b.id not in leased_ids]
    calls_began = time.time()
    try:
        paced = asyncio.run(
            _run_online(repo, gemini, MODEL_STAGES[stage], eligible, upload.id, leased, owner, app, _reporter(context))
        )
    finally:  # one statement for the stage: each batch's lease is held until the stage ends
        repo.release_batches([b.id for b in todo], owner)
    context.log.info(f"{stage}: the model calls of {len(paced)} batch(es) took {time.time() - calls_began:.1f}s")
    results = applied + [r for r in paced if r is not None]
    for r in results:
        if not r.ok:
            context.log.warning(
                f"{stage}: batch {r.batch.batch_key} "
                f"{'waits for the model' if r.waiting else 'needs re-upload'}: {r.error}"
            )
    if leased_elsewhere:
        context.log.warning(f"{stage}: {len(leased_elsewhere)} batch(es) are being processed by another run")
    attempts, batches_now = repo.attempts(upload.id), repo.batches(upload.id)  # read once for the reports
    stage_attempts = [a for a in attempts if a.stage == stage]
    stages = (repo.get_upload_by_id(upload.id).summary_json or {}).get("stages", {})
    stages[stage] = stage_summary(batches_now, stage)
    repo.merge_summary(upload.id, stages=stages)
    yield dg.MaterializeResult(
        metadata={
            **stage_metadata(results, len(batches) - len(todo) - len(applied)),
            "leased_by_another_run": len(leased_elsewhere),
            "model_usage": model_usage_table(stage_attempts),
            "limit_changes": limit_changes_table(
                gemini.caller.engine.ledger.limit_changes(since=started), gemini.chain(stage)
            ),
            "mode": str(mode),
            "gemini_endpoint": "EMULATOR (offline: the records are not real Gemini answers)"
            if gemini.emulated
            else "Gemini API",
            "models_unavailable": unavailable_table(
                gemini.caller.engine.ledger.unavailable_models(), gemini.chain(stage)
            ),
            "cost_usd": cost_metadata(stage_attempts),
            "upload_status": dg.MetadataValue.md(batches_markdown(repo, upload, gemini.quotas, batches_now, attempts)),
        }
    )


@dg.asset(**UPLOAD_ASSET, kinds={"gemini"}, deps=[upload_batches], pool="gemini", output_required=False)
def batch_analysis(
    context: dg.AssetExecutionContext, database: DatabaseResource, gemini: GeminiResource, app: AppResource
):
    """Gemini's reading of each election batch (what the messy rows mean)."""
    yield from _model_stage(context, database, gemini, app, "analysis", needs_analysis)


@dg.asset(**UPLOAD_ASSET, kinds={"gemini"}, deps=[batch_analysis], pool="gemini", output_required=False)
def structured_output(
    context: dg.AssetExecutionContext, database: DatabaseResource, gemini: GeminiResource, app: AppResource
):
    """Strict election and candidate records from Gemini for each analysed batch."""
    yield from _model_stage(context, database, gemini, app, "structure", needs_structure)


def primary_party_of(rows: list[dict]) -> str:
    """The party whose primary the batch is (the rows group by it, so they share it)."""
    return next((r["primary_party"] for r in rows if r.get("primary_party")), "")


@dg.asset(**UPLOAD_ASSET, kinds={"sqlalchemy"}, deps=[structured_output])
def inserted_records(
    context: dg.AssetExecutionContext, database: DatabaseResource, app: AppResource
) -> dg.MaterializeResult:
    """Elections, candidates, candidate links and election links upserted for the upload."""
    repo, upload = _upload(context, database, app)
    base_url = app.base_url
    if in_review(upload, app.review) and (staged := repo.batches(upload.id, (BatchStatus.STRUCTURED,))):
        report = preview_changes(repo, upload, staged, base_url, primary_party_of)
        repo.update_upload(upload.id, status=UploadStatus.AWAITING_APPROVAL)
        repo.merge_summary(upload.id, preview=report)
        context.log.warning(f"upload {upload.id} is in review: nothing inserted; `elevra-pipeline approve {upload.id}`")
        return dg.MaterializeResult(
            metadata={"batches_inserted": 0, "awaiting_approval": len(staged), "changes": change_line(report)}
        )
    inserted, failed = 0, []
    for batch in repo.batches(upload.id, (BatchStatus.STRUCTURED,)):
        try:
            ids = insert_structured(
                repo, batch.structured_json, base_url, primary_party_of(batch.rows_json), Source.of(upload)
            )
        except BatchFailedError as e:
            repo.update_batch(batch.id, status=BatchStatus.NEEDS_REUPLOAD, error_reason=str(e))
            failed.append((batch.batch_key, str(e)))
            continue
        repo.update_batch(batch.id, status=BatchStatus.INSERTED, inserted_json=ids)
        inserted += 1
    marked = mark_not_on_ballot(repo, (upload.intake_json or {}).get("not_on_ballot", []), Source.of(upload))
    for line in marked.marked:
        context.log.info(f"not on the ballot any more: {line}")
    for line in marked.not_stored + marked.unclear:
        context.log.info(f"not on the ballot, no stored candidacy of that race changed: {line}")
    repo.merge_summary(upload.id, not_on_ballot=marked.model_dump())
    if (inserted or marked.marked) and queue_changes(
        repo, upload, app.webhook_url, repo.changes_of_upload(upload.id), "changes"
    ):
        context.log.info(f"the change set of upload {upload.id} is queued for {app.webhook_url}")
    return dg.MaterializeResult(
        metadata={
            "batches_inserted": inserted,
            "failed": len(failed),
            "failed_batches": failed_table(failed),
            "marked_not_on_ballot": len(marked.marked),
            "not_on_ballot_race_not_stored": len(marked.not_stored) + len(marked.unclear),
        }
    )


@dg.asset(**UPLOAD_ASSET, kinds={"excel"}, deps=[inserted_records], check_specs=RESULT_CHECKS)
def result_workbook(context: dg.AssetExecutionContext, database: DatabaseResource, app: AppResource):
    """The result workbook for the uploader: elections, candidates, re-uploads and model usage."""
    repo, upload = _upload(context, database, app)
    batches = repo.batches(upload.id)
    status = str(upload_status(upload, batches))
    repo.update_upload(upload.id, status=status)
    upload = repo.get_upload_by_id(upload.id)
    summary = build_summary(repo, upload, app.base_url)
    files = app.files()
    with files.writing_folder(WORKBOOKS) as folder:  # object storage: built in a scratch folder, then stored
        path = build_workbook(repo, upload, summary, app.base_url, folder / f"{upload.partition_key}.xlsx")
        ref = files.put(WORKBOOKS, path.name, path)
        checks = result_checks(repo.batches(upload.id), summary, str(path))
    summary["workbook_path"] = ref
    repo.update_upload(upload.id, workbook_path=ref, summary_json={**(upload.summary_json or {}), **summary})
    if purge_raw_file(repo, repo.get_upload_by_id(upload.id), files):
        context.log.info('raw upload file purged (set keep_raw_file / "debug": true to keep it)')
    b = summary["batches"]
    batches = repo.batches(upload.id)
    yield from checks
    metadata = {
        "path": dg.MetadataValue.path(ref) if not is_object_ref(ref) else dg.MetadataValue.url(ref),
        "status": status,
        "batches": b["total"],
        "inserted": b["inserted"],
        "needs_reupload": b["needs_reupload"],
        "elections": len(summary["elections"]),
        "candidates": len(summary["candidates"]),
        "needs_reupload_batches": failed_table([(r["batch"], r["reason"]) for r in summary["needs_reupload"]]),
        "upload_status": dg.MetadataValue.md(batches_markdown(repo, repo.get_upload_by_id(upload.id))),
    }
    release_upload(repo, upload.id, context.run_id)  # the run's last step: the next run need not wait
    if line := attention_line(repo.get_upload_by_id(upload.id), batches):
        # the workbook is written and e-mailed; the partition shows red until the upload is fixed, and its
        # page says why (an observation: a failed step's own metadata shows only in the run's log)
        context.log_event(attention_observation(context.partition_key, line, batches))
        raise dg.Failure(description=line, metadata=metadata, allow_retries=False)
    yield dg.MaterializeResult(metadata=metadata)


upload_assets = [upload_batches, batch_analysis, structured_output, inserted_records, result_workbook]
