"""The project's error tree: every error a person may see says what went wrong in plain words."""


class ElevraError(Exception):
    """Base of every error raised on purpose by elevra_pipeline."""


class UnusableUploadError(ElevraError):
    """The uploaded file cannot be turned into election batches (corrupt, empty, missing columns)."""


class QuotaConfigError(ElevraError):
    """The quotas file is invalid; the message names the bad field."""


class ModelCallError(ElevraError):
    """One model call failed; carries what the attempt row records."""

    def __init__(
        self,
        message: str,
        *,
        error_type: str,
        status_code: int | None = None,
        retryable: bool = True,
        quota_id: str | None = None,
        retry_delay: float | None = None,
        body: str | None = None,
        scope: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        model_version: str | None = None,
        in_the_rows: bool = False,
    ):
        super().__init__(message)
        self.error_type = error_type
        self.status_code = status_code
        self.retryable = retryable
        self.quota_id = quota_id
        self.retry_delay = retry_delay
        self.body = body
        self.scope = scope
        # an answer that came back and was rejected was still billed for these
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.model_version = model_version  # the model that answered, when an answer came
        self.in_the_rows = in_the_rows  # the rows themselves make every answer fail (quotas.failures.fault_of)


class InvalidModelOutput(ElevraError):
    """The model's answer says what its input does not support; the message is the reason. `in_the_rows`:
    the rows themselves fail the check, so no answer could pass it (the uploader must fix them)."""

    def __init__(self, message: str, *, in_the_rows: bool = False):
        super().__init__(message)
        self.in_the_rows = in_the_rows


class QuotaExhaustedError(ElevraError):
    """No model in the stage's chain can take the call within the allowed wait."""


class BatchFailedError(ElevraError):
    """A batch used up its attempts for a stage. `fault` (quotas.failures.Fault) says who must act: the
    data (needs re-upload); the model's answers, an outage or our configuration (the batch waits)."""

    def __init__(self, message: str, *, fault: str = "model"):
        super().__init__(message)
        self.fault = fault

    @property
    def model_unavailable(self) -> bool:
        """The batch waits (answers that kept failing the checks on every model, outage, quota, retired
        model, our configuration): nobody re-uploads."""
        return self.fault in ("model", "outage", "configuration")


class GeminiEndpointError(ElevraError):
    """The Gemini endpoint may not be used here: production talking to the emulator."""


class DeliveryError(ElevraError):
    """An e-mail could not be handed over; `retryable` says whether to try again later."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
