"""Declared limits: a YAML quotas file (`ELEVRA_QUOTAS_FILE`) or the built-in default table."""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    model_validator,
)

from elevra_pipeline.exceptions import QuotaConfigError
from elevra_pipeline.quotas.prices import CallMode, PriceTable

DEFAULT_QUOTAS_FILE = Path(__file__).parent / "default_quotas.yaml"


STRATEGIES = {"conservative": 0.5, "balanced": 0.8, "aggressive": 1.0}


def _share(value):
    """A fraction in (0, 1], or one of the named strategies."""
    return STRATEGIES.get(value, value) if isinstance(value, str) else value


Share = Annotated[float, BeforeValidator(_share), Field(gt=0, le=1)]


class ModelLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rpm: PositiveInt | None = None
    tpm: PositiveInt | None = None
    rpd: PositiveInt | None = None
    batch_enqueued_tokens: PositiveInt | None = None
    share: Share | None = None  # this model's share, instead of the file's
    output_tokens: PositiveInt = 65536  # the model's output limit: max_output_tokens never grows past it

    def scaled(self, share: float) -> "ModelLimits":
        """The limits the pipeline may use: each declared one times `share` (at least 1)."""
        scale = lambda limit: max(1, int(limit * share)) if limit else limit  # noqa: E731
        return ModelLimits(
            rpm=scale(self.rpm),
            tpm=scale(self.tpm),
            rpd=scale(self.rpd),
            batch_enqueued_tokens=scale(self.batch_enqueued_tokens),
            share=share,
            output_tokens=self.output_tokens,
        )


_GENERATION = re.compile(r"gemini-(\d+)")


def takes_thinking_level(model: str) -> bool:
    """Gemini 3 and later take `thinking_level`; earlier thinking models take `thinking_budget`."""
    match = _GENERATION.search(model)
    return match is not None and int(match.group(1)) >= 3


class StageSettings(BaseModel):
    """How a stage asks: its first max_output_tokens, how much the model thinks and, only when set, how
    it samples (Gemini 3 wants its default temperature 1.0: lower values can make it loop)."""

    model_config = ConfigDict(extra="forbid")
    max_output_tokens: PositiveInt | None = None  # None: the model's own default
    thinking_level: Literal["minimal", "low", "medium", "high"] | None = None  # for Gemini 3 and later
    thinking_budget: int | None = Field(default=None, ge=-1)  # for earlier thinking models (-1: dynamic)
    temperature: float | None = Field(default=None, ge=0, le=2)  # None: not sent
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: PositiveInt | None = None

    def sampling(self) -> dict:
        """The sampling settings given, and only those."""
        return {k: v for k in ("temperature", "top_p", "top_k") if (v := getattr(self, k)) is not None}

    def thinking_for(self, model: str) -> dict:
        """The one thinking setting `model` takes (never both: Gemini answers 400 to both)."""
        if takes_thinking_level(model):
            return {"thinking_level": self.thinking_level} if self.thinking_level else {}
        return {"thinking_budget": self.thinking_budget} if self.thinking_budget is not None else {}


class QuotaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window_seconds: PositiveFloat = 60.0
    day_seconds: PositiveFloat | None = None
    fallback_after_seconds: float = Field(default=5.0, ge=0)
    max_wait_seconds: float = Field(default=900.0, ge=0)
    in_flight_lease_seconds: PositiveFloat = 600.0
    # The latest, after sending, that the server can have counted a call (it counts on arrival).
    arrival_margin_seconds: float = Field(default=2.0, ge=0)
    share: Share = 1.0  # of every declared limit the pipeline may take (a model's own `share` wins)
    adaptive: bool = True  # lower a limit when Google's 429s say others use the quota (quotas.adaptive)
    models: dict[str, ModelLimits]
    chains: dict[str, list[str]] = Field(default_factory=dict)
    prices: dict[str, PriceTable] = Field(default_factory=dict)  # a model without a price has no known cost
    stages: dict[str, StageSettings] = Field(default_factory=dict)

    def stage(self, stage: str) -> StageSettings:
        return self.stages.get(stage) or StageSettings()

    @model_validator(mode="after")
    def _chains_name_declared_models(self):
        for stage, chain in self.chains.items():
            if not chain:
                raise ValueError(f"chains.{stage} is empty")
            for model in chain:
                if model not in self.models:
                    raise ValueError(f"chains.{stage} names '{model}', which is not under models")
        return self

    def chain(self, stage: str, override: list[str] | None = None) -> list[str]:
        chain = override or self.chains.get(stage)
        if not chain:
            raise QuotaConfigError(f"no model chain for stage '{stage}'")
        return chain

    def limits(self, model: str) -> ModelLimits:
        """The declared limits."""
        return self.models.get(model) or ModelLimits()

    def share_of(self, model: str) -> float:
        declared = self.limits(model)
        return declared.share if declared.share is not None else self.share

    def allowed(self, model: str) -> ModelLimits:
        """Declared x share: the most the pipeline may take of the model (before adaptation)."""
        return self.limits(model).scaled(self.share_of(model))

    def cost_usd(
        self,
        model: str,
        input_tokens: int,
        output_tokens: int,
        mode: CallMode = CallMode.ONLINE,
        *,
        answered_by: str | None = None,
        at: float | None = None,
    ) -> float | None:
        """USD for one call's tokens at the price in force when it was sent (`at`, epoch seconds; now when
        not given) of the model that answered (Google may route a retired id to a newer model), else of
        the model asked; None when the file prices neither."""
        price = self.prices.get(answered_by or "") or self.prices.get(model)
        return price.cost_usd(input_tokens, output_tokens, mode, at) if price else None


def _field_path(error: Mapping[str, Any]) -> str:
    return ".".join(str(p) for p in error["loc"]) or "(top level)"


def parse_quotas(data: object, source: str = "quotas") -> QuotaConfig:
    try:
        return QuotaConfig.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{_field_path(err)}: {err['msg']}" for err in e.errors())
        raise QuotaConfigError(f"invalid quotas file {source}: {problems}") from e


class _Loader(yaml.SafeLoader):
    """YAML without its own dates: a `from: 2027-02-30` reaches the price's check as written."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def _read(path: Path) -> object:
    try:
        return yaml.load(path.read_text(), Loader=_Loader)  # a SafeLoader
    except (OSError, yaml.YAMLError) as e:
        raise QuotaConfigError(f"cannot read quotas file {path}: {e}") from e


def with_defaults(data: object) -> object:
    """A file that declares no `chains` uses the built-in ones; their models keep the built-in limits
    unless the file declares them. A file without `prices` takes the built-in price of each model."""
    if not isinstance(data, dict):
        return data
    defaults: Any = _read(DEFAULT_QUOTAS_FILE)  # the built-in file: a mapping
    if "prices" not in data:
        data = {**data, "prices": defaults["prices"]}
    if "stages" not in data:
        data = {**data, "stages": defaults["stages"]}
    if data.get("chains"):
        return data
    models = data.get("models") if isinstance(data.get("models"), dict) else {}
    needed = {m for chain in defaults["chains"].values() for m in chain}
    return {
        **data,
        "chains": defaults["chains"],
        "models": {**{m: defaults["models"][m] for m in needed if m not in models}, **models},
    }


def load_quotas(path: str | Path | None = None) -> QuotaConfig:
    path = Path(path or os.environ.get("ELEVRA_QUOTAS_FILE") or DEFAULT_QUOTAS_FILE)
    return parse_quotas(with_defaults(_read(path)), str(path))
