"""Every way a model call can fail, and whose problem it is.

Only the data can be the uploader's fault: content Gemini blocks because of what the rows say, rows
more than the model's input or one answer can hold, or rows that themselves fail a check of the answer.
Answers that kept failing our checks on every model of the chain are the model's fault; a retired
model, a bad key, billing or a request Gemini rejects is ours to fix (in both the team is told and the
upload waits); an outage or a quota waits on its own. A 499 CANCELLED (Google drops calls so under
load) is an outage, retried like a 503.
"""

from enum import StrEnum

from elevra_pipeline.storage.batch_rules import Fault  # stored as a batch's failure_kind


class CallFailure(StrEnum):
    """What one attempt ran into (the attempt row's `error_type`)."""

    RATE_LIMITED = "rate_limited"  # 429: the model cools down; wait for it or fall back
    SERVER_ERROR = "server_error"  # 5xx
    CANCELLED = "cancelled"  # 499 CANCELLED: Google dropped the call under load; retried
    TIMEOUT = "timeout"
    NETWORK = "network"
    MODEL_NOT_FOUND = "model_not_found"  # 404: retired or unknown model: marked unavailable, next model
    CONFIGURATION = "configuration"  # 401/403/400 on our request: key, billing, project, request shape
    MODEL_REFUSED = "model_refused"  # 403 naming no key or project: maybe this model's; the next is tried
    CLIENT_ERROR = "client_error"  # any other 4xx (408/409 retried)
    INVALID_OUTPUT = "invalid_output"  # the answer failed our checks against the rows
    MAX_TOKENS = "max_tokens"  # the answer was cut at max_output_tokens: retried with more room
    BLOCKED = "blocked"  # safety / recitation / blocked prompt: the rows' content
    INPUT_TOO_LARGE = "input_too_large"  # the batch's rows exceed the model's input


OUTAGES = frozenset({CallFailure.SERVER_ERROR, CallFailure.CANCELLED, CallFailure.TIMEOUT, CallFailure.NETWORK})
IN_THE_ROWS = frozenset({CallFailure.BLOCKED, CallFailure.INPUT_TOO_LARGE})
# Gemini did not count these against the quota (it refused the request): they leave our windows too.
NOT_COUNTED = frozenset(
    {CallFailure.RATE_LIMITED, CallFailure.MODEL_NOT_FOUND, CallFailure.CONFIGURATION, CallFailure.MODEL_REFUSED}
)


def is_outage(error_type: str) -> bool:
    """The model could not answer (5xx, 499, timeout, network): nothing the batch's data can fix."""
    return error_type in OUTAGES


def fault_of(error_type: str, in_the_rows: bool = False) -> Fault:
    """Who must act when a batch's last attempt failed this way. `in_the_rows`: the rows explain the
    failure (an answer cut at the model's output limit: too many rows; rows that fail the check
    themselves); else an answer that kept failing our checks is the model's, never the uploader's."""
    if error_type in OUTAGES or error_type in (CallFailure.RATE_LIMITED, CallFailure.MODEL_NOT_FOUND):
        return Fault.OUTAGE
    if error_type in (CallFailure.CONFIGURATION, CallFailure.MODEL_REFUSED):
        return Fault.CONFIGURATION
    if error_type in IN_THE_ROWS or in_the_rows:
        return Fault.DATA
    return Fault.MODEL


def waits(fault: Fault) -> bool:
    """The batch waits (retried without the uploader) rather than needing a re-upload."""
    return fault != Fault.DATA
