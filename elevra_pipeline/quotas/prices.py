"""What a call costs: USD per million input and output tokens, per model, online and through the Batch API.

The defaults in `default_quotas.yaml` are Google's published paid-tier prices for prompts up to
200k tokens (ours are a few thousand); the Batch API costs half, unless the file says otherwise.
Google changes prices on dates, so a model's price is a list of entries, each in force `from` a day
(Pacific time, the day Google's billing and daily quotas use) until the next entry's day; a call is
charged at the entry in force on the day it was sent.
"""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, NonNegativeFloat, RootModel, model_validator

from elevra_pipeline.quotas.windows import PACIFIC


class CallMode(StrEnum):
    ONLINE = "online"
    BATCH = "batch"


def _a_day(value: object) -> object:
    """A calendar day written YYYY-MM-DD (YAML's own dates included), nothing looser: not a number."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a calendar date") from None
    raise ValueError(f"{value!r} is not a date written YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_a_day)]


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    since: Day | None = Field(default=None, alias="from")  # in force from this day; None: from the start
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


def _entries(value: object) -> object:
    """One price (`{input, output}`) is a list of one entry, in force from the start."""
    return [value] if isinstance(value, dict) else value


def price_day(at: float) -> date:
    """The day a call sent at `at` (epoch seconds) is billed on."""
    return datetime.fromtimestamp(at, PACIFIC).date()


class PriceTable(RootModel[Annotated[list[ModelPrice], BeforeValidator(_entries), Field(min_length=1)]]):
    """One model's prices over time, earliest first; two entries in force on the same day are refused."""

    @model_validator(mode="after")
    def _no_overlap(self):
        self.root.sort(key=lambda p: p.since or date.min)
        for earlier, later in zip(self.root, self.root[1:]):
            if (earlier.since or date.min) == (later.since or date.min):
                since = f"from {later.since}" if later.since else "without a `from` date"
                raise ValueError(f"two entries {since} overlap: give each entry its own `from` day")
        return self

    def at(self, day: date) -> ModelPrice | None:
        """The entry in force on `day`; None before the first one."""
        current = None
        for entry in self.root:
            if entry.since is None or entry.since <= day:
                current = entry
        return current

    def cost_usd(
        self, input_tokens: int, output_tokens: int, mode: CallMode = CallMode.ONLINE, at: float | None = None
    ) -> float | None:
        """USD for a call sent at `at` (epoch seconds; now when not given); None when no entry was in force."""
        price = self.at(price_day(datetime.now().timestamp() if at is None else at))
        return price.cost_usd(input_tokens, output_tokens, mode) if price else None


def format_cost(usd: float | None) -> str:
    """`$0.0123` for people; `unknown` when some model had no price."""
    return "unknown" if usd is None else f"${usd:,.4f}"
