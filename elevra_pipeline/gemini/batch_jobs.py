"""Gemini's Batch API through the real SDK: `client.batches.create` with inlined requests, `get` to poll,
`list` to find a job by its display name (so a job is never submitted twice), `cancel`.

Requests go inline: a job is kept under `MAX_INLINE_BYTES` by the caller splitting its work into
several jobs rather than uploading a JSONL file through `client.files` (our requests are a few KB each).
"""

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable

from google import genai
from google.genai import types
from pydantic import BaseModel

from elevra_pipeline.exceptions import ModelCallError
from elevra_pipeline.gemini.client import call_sdk, http_failure, read_answer, stage_config
from elevra_pipeline.quotas.engine import CallResult
from elevra_pipeline.quotas.limits import StageSettings

MAX_INLINE_BYTES = 20_000_000  # Google's limit for a job's inlined requests
INLINE_BUDGET_BYTES = 15_000_000  # what we put in one job, leaving room for the request envelope


class JobState(StrEnum):
    """A job as we record it: `submitting` until Google has confirmed it, then Google's own state. A
    state this version does not know is `unknown` (Google's word kept in `RemoteJob.reported`): the
    job is polled again, never a crash."""

    SUBMITTING = "submitting"
    PENDING = "pending"
    RUNNING = "running"
    CANCELLING = "cancelling"
    PAUSED = "paused"
    UPDATING = "updating"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # PARTIALLY_SUCCEEDED: some requests answered, each failure in its response
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"

    @classmethod
    def from_sdk(cls, state: types.JobState | str | None) -> "JobState":
        name = str(getattr(state, "value", state) or "")
        for prefix in ("JOB_STATE_", "BATCH_STATE_"):
            name = name.removeprefix(prefix)
        known = {"QUEUED": cls.PENDING, "UNSPECIFIED": cls.PENDING, "PARTIALLY_SUCCEEDED": cls.PARTIAL}
        return known.get(name) or next((s for s in cls if s.value == name.lower()), cls.UNKNOWN)

    @property
    def is_open(self) -> bool:
        """Still at Google: polled again (an unknown state too, until it turns into one we know)."""
        return self not in (JobState.SUCCEEDED, JobState.PARTIAL, JobState.FAILED, JobState.CANCELLED, JobState.EXPIRED)

    @property
    def has_answers(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.PARTIAL)


@dataclass(frozen=True)
class BatchRequest:
    key: str  # echoed back in the response's metadata: how an answer finds its batch
    system: str
    prompt: str
    schema: type[BaseModel]
    settings: StageSettings = field(default_factory=StageSettings)  # the stage's: sent as online calls send them

    @property
    def size(self) -> int:
        return len(self.system) + len(self.prompt) + 2_000  # the schema and the envelope, generously


@dataclass
class RemoteJob:
    name: str
    state: JobState
    responses: list[types.InlinedResponse] | None = None  # once SUCCEEDED (or PARTIALLY_SUCCEEDED)
    reported: str = ""  # Google's own word for the state

    @classmethod
    def of(cls, job: types.BatchJob, responses=None) -> "RemoteJob":
        reported = str(getattr(job.state, "value", job.state) or "")
        return cls(job.name or "", JobState.from_sdk(job.state), responses, reported)

    @property
    def unknown_state(self) -> str | None:
        """What to report of a state this version does not know, else None."""
        if self.state != JobState.UNKNOWN:
            return None
        said = self.reported or "no state"
        return f"Gemini reports the job as '{said}', a state this version does not know: polled again"


class GeminiBatches:
    def __init__(self, client: genai.Client):
        self.client = client

    def create(self, model: str, requests: list[BatchRequest], display_name: str) -> RemoteJob:
        inlined = [
            types.InlinedRequest(
                contents=r.prompt, config=stage_config(r.system, r.schema, r.settings, model), metadata={"key": r.key}
            )
            for r in requests
        ]
        job = call_sdk(
            lambda: self.client.batches.create(model=model, src=inlined, config={"display_name": display_name})
        )
        return RemoteJob.of(job)

    def get(self, name: str) -> RemoteJob:
        job = call_sdk(lambda: self.client.batches.get(name=name))
        responses = job.dest.inlined_responses if job.dest else None
        return RemoteJob.of(job, responses)

    def find(self, display_name: str) -> RemoteJob | None:
        """The job submitted under `display_name`, if Google has it (after a crash before we recorded it)."""
        for job in call_sdk(lambda: list(self.client.batches.list(config={"page_size": 100}))):
            if job.display_name == display_name:
                return RemoteJob.of(job)
        return None

    def cancel(self, name: str) -> None:
        call_sdk(lambda: self.client.batches.cancel(name=name))


def answers_by_key(requests: list[BatchRequest], responses: list[types.InlinedResponse]) -> dict[str, Any]:
    """Each request's inlined response, by the key in its metadata, else by position (Google keeps the
    order of the requests). A request without a response gets None."""
    by_key: dict[str, Any] = {}
    for index, response in enumerate(responses):
        key = (response.metadata or {}).get("key")
        if key is None and index < len(requests):
            key = requests[index].key
        if key is not None:
            by_key[key] = response
    return {r.key: by_key.get(r.key) for r in requests}


def read_inlined(
    response: types.InlinedResponse | None, model: str, schema: type[BaseModel], check: Callable[[Any], Any] | None
) -> CallResult:
    """One request's outcome in a finished job: the checked answer, or a ModelCallError like an online failure."""
    if response is None:
        raise ModelCallError(f"{model}: the batch job returned no response for this request", error_type="server_error")
    if response.error is not None:
        code = response.error.code or 500
        raise ModelCallError(
            f"{model}: batch request failed: {code} {response.error.message or ''}".strip(),
            error_type=http_failure(code, response.error.message or ""),
            status_code=code,
            retryable=True,
        )
    if response.response is None:
        raise ModelCallError(f"{model}: the batch job's response is empty", error_type="server_error")
    return read_answer(response.response, model, schema, check)
