"""A model stage through Gemini's Batch API: submit the batches as jobs, record them, end. A later run
(requested by `batch_jobs_sensor`, or by `process --mode batch` as it polls) applies the answers.

Each job is written to `gemini_batch_jobs` (state `submitting`, its key as Google's display name)
in the transaction that reserves its input tokens against the model's `batch_enqueued_tokens`, and
before it is sent; its batches are leased to it. So a crash anywhere leaves a record: a job still
`submitting` is looked up by its display name and adopted, or sent if Google never got it, and a job's
answers are applied batch by batch only while the job still holds the batch. Nothing is sent twice or lost.
"""

import time
from dataclasses import dataclass, field
from typing import Callable

from elevra_pipeline.exceptions import BatchFailedError, ModelCallError
from elevra_pipeline.gemini.batch_jobs import (
    INLINE_BUDGET_BYTES,
    BatchRequest,
    GeminiBatches,
    JobState,
    answers_by_key,
    read_inlined,
)
from elevra_pipeline.quotas.engine import Outcome, QuotaEngine
from elevra_pipeline.quotas.failures import CallFailure, is_outage
from elevra_pipeline.quotas.prices import CallMode
from elevra_pipeline.storage.models import ElectionBatch, GeminiBatchJob, Upload
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline.uploads.stages import BatchResult, ModelStage, give_up

JOB_LEASE_SECONDS = 49 * 3600  # Google expires a job that has not ended within 48 hours
MAX_POLL_SECONDS = 600.0


def job_owner(key: str) -> str:
    """The lease owner of a job's batches (never mistaken for a dead run: see pipeline.leases)."""
    return f"batch-job:{key}"


def next_poll(now: float, polls: int, poll_seconds: float) -> float:
    """Back off 1.5x per poll, from `poll_seconds` up to ten minutes."""
    return now + min(poll_seconds * 1.5**polls, max(poll_seconds, MAX_POLL_SECONDS))


def refresh_job(repo: Repository, client: GeminiBatches, job: GeminiBatchJob, poll_seconds: float, now: float):
    """Ask Google how the job stands; record it (and when it ended). Returns the new state, or None when
    Google could not be asked (the next poll tries again)."""
    try:
        remote = client.get(job.name)
    except ModelCallError as e:
        repo.update_batch_job(
            job.id, polls=job.polls + 1, next_poll_at=next_poll(now, job.polls, poll_seconds), error=str(e)[:500]
        )
        return None
    fields = dict(
        state=remote.state,
        polls=job.polls + 1,
        next_poll_at=next_poll(now, job.polls, poll_seconds),
        error=remote.unknown_state,
    )
    if not remote.state.is_open:
        fields["ended_at"] = now
    repo.update_batch_job(job.id, **fields)
    return remote.state


@dataclass
class BatchStageReport:
    results: list[BatchResult] = field(default_factory=list)  # answers applied by this run
    submitted: list[str] = field(default_factory=list)  # jobs sent by this run
    open_jobs: int = 0  # still at Google: the stage is not done
    unplaced: int = 0  # batches no model's batch_enqueued_tokens could take now


class BatchStage:
    def __init__(
        self,
        repo: Repository,
        client: GeminiBatches,
        engine: QuotaEngine,
        chain: list[str],
        max_attempts: int,
        poll_seconds: float,
        clock: Callable[[], float] = time.time,
    ):
        self.repo, self.client, self.engine, self.chain = repo, client, engine, chain
        self.max_attempts, self.poll_seconds, self.clock = max_attempts, poll_seconds, clock

    def run(self, upload: Upload, stage: ModelStage, eligible, run_owner: str) -> BatchStageReport:
        report = BatchStageReport()
        for job in self.repo.batch_jobs(upload.id, stage.name):
            if job.applied_at is not None:
                continue
            if job.state == JobState.SUBMITTING:
                self._confirm(job, stage)
            elif job.ended_at is None:
                refresh_job(self.repo, self.client, job, self.poll_seconds, self.clock())
        for job in self.repo.batch_jobs(upload.id, stage.name):
            if job.ended_at is not None and job.applied_at is None:
                report.results += self._apply(job, stage)
        held = {i for j in self.repo.batch_jobs(upload.id, stage.name) if j.ended_at is None for i in j.batch_ids}
        todo = [b for b in self.repo.batches(upload.id) if eligible(b) and b.id not in held]
        report.submitted, report.unplaced = self._submit(upload, stage, todo, run_owner)
        report.open_jobs = sum(j.ended_at is None for j in self.repo.batch_jobs(upload.id, stage.name))
        return report

    # -- sending ---------------------------------------------------------------------------
    def _request(self, stage: ModelStage, batch: ElectionBatch) -> BatchRequest:
        settings = self.engine.config.stage(stage.name)
        return BatchRequest(str(batch.id), stage.system, stage.prompt(batch), stage.schema, settings)

    def _tokens(self, request: BatchRequest) -> int:
        return self.engine.estimator.estimate(len(request.system) + len(request.prompt))

    def _submit(self, upload: Upload, stage: ModelStage, todo: list[ElectionBatch], run_owner: str):
        """Fill jobs model by model along the chain, each within the model's free enqueued tokens and the
        inline size; what no model can take now waits for a job to end."""
        pending = [self._request(stage, b) for b in todo]
        number = len(self.repo.batch_jobs(upload.id, stage.name)) + 1
        submitted, passed_over = [], []
        for model in self.chain:
            limits = self.engine.config.allowed(model)
            while pending:
                capacity = self.engine.ledger.batch_capacity(model, limits)
                chunk, tokens, size = [], 0, 0
                for request in pending:
                    cost = self._tokens(request)
                    if tokens + cost > capacity or (chunk and size + request.size > INLINE_BUDGET_BYTES):
                        break
                    chunk, tokens, size = chunk + [request], tokens + cost, size + request.size
                if not chunk:
                    passed_over.append(f"{model}: batch enqueued tokens limit reached")
                    break
                pending = pending[len(chunk) :]
                key = f"elevra-{upload.partition_key}-{stage.name}-{number}"
                number += 1
                if self._open(upload, stage, model, key, chunk, run_owner, "; ".join(passed_over) or None):
                    submitted.append(key)
        return submitted, len(pending)

    def _open(self, upload, stage, model, key, chunk, run_owner, fallback_reason) -> bool:
        now, owner = self.clock(), job_owner(key)
        ids = self.repo.lease_batches([int(r.key) for r in chunk], owner, now, now + JOB_LEASE_SECONDS, run_owner)
        chunk = [r for r in chunk if int(r.key) in ids]  # another run may hold some
        if not chunk:
            return False
        job_id = self.engine.ledger.open_batch_job(
            model,
            self.engine.config.allowed(model),
            sum(self._tokens(r) for r in chunk),
            dict(
                key=key,
                upload_id=upload.id,
                stage=stage.name,
                state=JobState.SUBMITTING,
                batch_ids=ids,
                fallback_reason=fallback_reason,
                submitted_at=now,
                next_poll_at=next_poll(now, 0, self.poll_seconds),
            ),
        )
        if job_id is None:  # another process took the capacity meanwhile
            self.repo.release_batches(ids, owner)
            return False
        self._send(job_id, key, model, chunk)
        return True

    def _send(self, job_id: int, key: str, model: str, requests: list[BatchRequest]) -> None:
        try:
            remote = self.client.create(model, requests, key)
        except ModelCallError as e:
            if e.status_code and e.status_code < 500 and not is_outage(e.error_type):
                # refused (e.g. 429: Google's enqueued tokens are full): the job does not exist
                now = self.clock()
                if e.error_type == CallFailure.MODEL_NOT_FOUND:  # retired: no more jobs go to it
                    self.engine.ledger.mark_unavailable(model, now, str(e)[:500])
                self.repo.update_batch_job(
                    job_id, state=JobState.FAILED, ended_at=now, applied_at=now, error=str(e)[:500]
                )
                self.repo.release_batches([int(r.key) for r in requests], job_owner(key))
                return
            # no answer: Google may have the job; the next run looks it up by its display name
            self.repo.update_batch_job(job_id, error=str(e)[:500])
            return
        self.repo.update_batch_job(job_id, name=remote.name, state=remote.state, error=remote.unknown_state)

    def _confirm(self, job: GeminiBatchJob, stage: ModelStage) -> None:
        """A job recorded but never confirmed (the process died while sending): adopt it if Google has
        it, else send it now."""
        try:
            remote = self.client.find(job.key)
        except ModelCallError:
            return  # ask again on the next run
        if remote is not None:
            self.repo.update_batch_job(job.id, name=remote.name, state=remote.state, error=remote.unknown_state)
            return
        batches = {b.id: b for b in self.repo.batches(job.upload_id)}
        self._send(job.id, job.key, job.model, [self._request(stage, batches[i]) for i in job.batch_ids])

    # -- applying ------------------------------------------------------------------------
    def _apply(self, job: GeminiBatchJob, stage: ModelStage) -> list[BatchResult]:
        """Store each answer as the online path would, with an attempt row (`mode` batch, Batch API price);
        a failed request, or a job that failed or expired, sends its batches to the next job, until
        `max_attempts` failures make the batch need re-upload."""
        batches = {b.id: b for b in self.repo.batches(job.upload_id)}
        answers = {}
        if JobState(job.state).has_answers:
            try:
                remote = self.client.get(job.name)
            except ModelCallError:
                return []  # the answers are still at Google: the next run applies them
            keys = [BatchRequest(str(i), "", "", stage.schema) for i in job.batch_ids]
            answers = answers_by_key(keys, remote.responses or [])
        results, owner = [], job_owner(job.key)
        waited_ms = ((job.ended_at or self.clock()) - job.submitted_at) * 1000
        for batch_id in job.batch_ids:
            batch = batches[batch_id]
            row = dict(
                upload_id=job.upload_id,
                batch_id=batch_id,
                stage=stage.name,
                model=job.model,
                attempt_no=self.repo.failed_attempts(batch_id, stage.name) + 1,
                is_fallback=job.model != self.chain[0],
                fallback_reason=job.fallback_reason,
                mode=CallMode.BATCH,
                latency_ms=waited_ms,
            )
            try:
                if not JobState(job.state).has_answers:
                    raise ModelCallError(f"batch job {job.name or job.key} {job.state}", error_type=f"job_{job.state}")
                answer = read_inlined(answers.get(str(batch_id)), job.model, stage.schema, stage.check(batch))
            except ModelCallError as e:
                fields, result = self._failed(batch, stage, row["attempt_no"], e)
                row.update(
                    status=e.error_type,
                    status_code=e.status_code,
                    error_type=e.error_type,
                    error_message=str(e)[:2000],
                    response_excerpt=(e.body or str(e))[:500],
                    input_tokens=e.input_tokens or None,
                    output_tokens=e.output_tokens or None,
                    model_version=e.model_version,
                    cost_usd=self.engine.config.cost_usd(
                        job.model,
                        e.input_tokens,
                        e.output_tokens,
                        CallMode.BATCH,
                        answered_by=e.model_version,
                        at=job.submitted_at,
                    ),
                )
            else:
                outcome = Outcome(answer.value, job.model, job.fallback_reason, row["attempt_no"])
                fields, result = stage.fields(batch, outcome)
                row.update(
                    status="ok",
                    status_code=200,
                    input_tokens=answer.input_tokens,
                    output_tokens=answer.output_tokens,
                    response_excerpt=answer.excerpt[:500],
                    model_version=answer.model_version,
                    cost_usd=self.engine.config.cost_usd(
                        job.model,
                        answer.input_tokens,
                        answer.output_tokens,
                        CallMode.BATCH,
                        answered_by=answer.model_version,
                        at=job.submitted_at,  # Google bills a job's calls as of when it was sent
                    ),
                )
            if self.repo.apply_job_answer(batch_id, owner, fields, row) and result is not None:
                results.append(result)
        self.repo.update_batch_job(job.id, applied_at=self.clock())
        return results

    def _failed(self, batch: ElectionBatch, stage: ModelStage, attempt_no: int, error: ModelCallError):
        if attempt_no < self.max_attempts:
            return {}, None  # back to the pool: the next job takes it
        return give_up(batch, BatchFailedError(f"{stage.name} failed after {attempt_no} batch attempt(s): {error}"))
