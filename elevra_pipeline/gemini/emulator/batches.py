"""The emulator's Batch API: jobs of inlined requests, answered after a delay, as Google's answers them.

Routes (under /v1beta): `POST models/{model}:batchGenerateContent`, `GET batches/{id}`, `GET batches`
(pages), `POST batches/{id}:cancel`. A job is PENDING for the first third of `delay_seconds`, RUNNING
until the delay has passed, then SUCCEEDED with one inlined response per request, in order, carrying
the request's `metadata`. A request fails on its own with probability `request_error`, decided by
the job and the request (deterministic; a resubmitted request may succeed); the first `expire_jobs`
jobs end EXPIRED with no output. Jobs waiting or running hold their input tokens against the model's
`batch_enqueued_tokens`; a job that would exceed it gets Google's 429 body.
"""

import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from elevra_pipeline.gemini.emulator.quota_window import count_tokens, rate_limit_body
from elevra_pipeline.quotas.limits import QuotaConfig

OPEN_STATES = ("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING")
PAGE_SIZE = 50


def _timestamp(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class EmulatedJob:
    name: str
    model: str
    display_name: str
    requests: list[dict]
    tokens: int
    created: float
    expires: bool
    cancelled_at: float | None = None
    output: list[dict] | None = None

    def state(self, now: float, delay: float) -> str:
        if self.cancelled_at is not None:
            return "BATCH_STATE_CANCELLED"
        if now < self.created + delay / 3:
            return "BATCH_STATE_PENDING"
        if now < self.created + delay:
            return "BATCH_STATE_RUNNING"
        return "BATCH_STATE_EXPIRED" if self.expires else "BATCH_STATE_SUCCEEDED"


@dataclass
class BatchJobs:
    quotas: QuotaConfig | None
    answer_request: Callable[[str, dict, int], dict]  # (model, request, tokens) -> a generateContent response
    delay_seconds: float = 2.0
    request_error: float = 0.0
    expire_jobs: int = 0
    created: dict[str, int] = field(default_factory=dict)  # jobs created per model, for tests and benchmarks
    _jobs: dict[str, EmulatedJob] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, model: str, payload: dict, now: float) -> tuple[int, dict]:
        batch = payload.get("batch") or {}
        requests = ((batch.get("inputConfig") or {}).get("requests") or {}).get("requests")
        if not isinstance(requests, list) or not requests:
            return 400, _error(400, "INVALID_ARGUMENT", "batch.inputConfig.requests.requests is required")
        tokens = sum(count_tokens(r.get("request") or {}) for r in requests)
        limit = self.quotas.limits(model).batch_enqueued_tokens if self.quotas else None
        with self._lock:
            enqueued = sum(
                j.tokens
                for j in self._jobs.values()
                if j.model == model and j.state(now, self.delay_seconds) in OPEN_STATES
            )
            if limit and enqueued + tokens > limit:
                return 429, rate_limit_body(model, "batch", None)
            number = next(self._ids)
            job = EmulatedJob(
                name=f"batches/emu{number:06d}",
                model=model,
                display_name=str(batch.get("displayName") or ""),
                requests=requests,
                tokens=tokens,
                created=now,
                expires=number <= self.expire_jobs,
            )
            self._jobs[job.name] = job
            self.created[model] = self.created.get(model, 0) + 1
        return 200, self._describe(job, now)

    def get(self, name: str, now: float) -> tuple[int, dict]:
        job = self._jobs.get(name)
        if job is None:
            return 404, _error(404, "NOT_FOUND", f"{name} not found")
        return 200, self._describe(job, now)

    def cancel(self, name: str, now: float) -> tuple[int, dict]:
        job = self._jobs.get(name)
        if job is None:
            return 404, _error(404, "NOT_FOUND", f"{name} not found")
        with self._lock:
            if job.state(now, self.delay_seconds) in OPEN_STATES:
                job.cancelled_at = now
        return 200, {}

    def page(self, page_token: str | None, now: float) -> tuple[int, dict]:
        names = sorted(self._jobs)
        start = int(page_token or 0)
        page = names[start : start + PAGE_SIZE]
        body = {"operations": [self._describe(self._jobs[n], now, with_output=False) for n in page]}
        if start + PAGE_SIZE < len(names):
            body["nextPageToken"] = str(start + PAGE_SIZE)
        return 200, body

    def _describe(self, job: EmulatedJob, now: float, with_output: bool = True) -> dict:
        state = job.state(now, self.delay_seconds)
        metadata = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "model": f"models/{job.model}",
            "displayName": job.display_name,
            "state": state,
            "createTime": _timestamp(job.created),
            "updateTime": _timestamp(now),
            "batchStats": {"requestCount": str(len(job.requests))},
        }
        if state not in OPEN_STATES:
            metadata["endTime"] = _timestamp(
                job.cancelled_at if job.cancelled_at is not None else job.created + self.delay_seconds
            )
        if state == "BATCH_STATE_SUCCEEDED" and with_output:
            metadata["output"] = {"inlinedResponses": {"inlinedResponses": self._output(job)}}
        return {"name": job.name, "metadata": metadata, "done": state not in OPEN_STATES}

    def _output(self, job: EmulatedJob) -> list[dict]:
        with self._lock:
            if job.output is None:
                job.output = [self._respond(job, request) for request in job.requests]
            return job.output

    def _respond(self, job: EmulatedJob, item: dict) -> dict:
        request = item.get("request") or {}
        answered = {"metadata": item["metadata"]} if "metadata" in item else {}
        if self._fails(job, request):
            return {**answered, "error": {"code": 500, "message": "Internal error while processing the request."}}
        return {**answered, "response": self.answer_request(job.model, request, count_tokens(request))}

    def _fails(self, job: EmulatedJob, request: dict) -> bool:
        if self.request_error <= 0:
            return False
        digest = hashlib.sha256(f"{job.name}\n{request.get('contents')}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.request_error


def _error(code: int, status: str, message: str) -> dict:
    return {"error": {"code": code, "status": status, "message": message}}
