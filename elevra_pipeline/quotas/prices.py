"""What a call costs: USD per million input and output tokens, per model, online and through the Batch API.

The defaults in `default_quotas.yaml` are Google's published paid-tier prices for prompts up to
200k tokens (ours are a few thousand); the Batch API costs half, unless the file says otherwise.
"""

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, NonNegativeFloat, model_validator


class CallMode(StrEnum):
    ONLINE = "online"
    BATCH = "batch"


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: NonNegativeFloat  # USD per 1M input tokens, online
    output: NonNegativeFloat  # USD per 1M output tokens (thinking included), online
    batch_input: NonNegativeFloat | None = None  # Batch API; half of online when not given
    batch_output: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _batch_is_half_unless_given(self):
        if self.batch_input is None:
            self.batch_input = self.input / 2
        if self.batch_output is None:
            self.batch_output = self.output / 2
        return self

    def cost_usd(self, input_tokens: int, output_tokens: int, mode: CallMode = CallMode.ONLINE) -> float:
        if mode == CallMode.ONLINE:
            rate_in, rate_out = self.input, self.output
        else:  # set by the validator: half of online unless given
            rate_in = self.input / 2 if self.batch_input is None else self.batch_input
            rate_out = self.output / 2 if self.batch_output is None else self.batch_output
        return (input_tokens * rate_in + output_tokens * rate_out) / 1_000_000


def format_cost(usd: float | None) -> str:
    """`$0.0123` for people; `unknown` when some model had no price."""
    return "unknown" if usd is None else f"${usd:,.4f}"
