"""Which of our chain models the key can use today: `models.list`, checked before any call.

Google retires models (the source document's four are all shut down): a model that is not listed, or
does not support the method a stage uses, is marked unavailable in the shared ledger, so every process
skips it and the stage falls through to the next model of its chain; one that is listed again is
cleared. A 404 during calls marks a model the same way (quotas.engine); that mark stays (a model that is
listed but answers 404 would otherwise flap) until an admin runs `elevra-pipeline models --reset MODEL`.
"""

from dataclasses import dataclass, field

from google import genai
from google.genai import types

from elevra_pipeline.exceptions import ModelCallError
from elevra_pipeline.gemini.client import call_sdk
from elevra_pipeline.quotas.failures import CallFailure
from elevra_pipeline.quotas.ledger import QuotaLedger

ONLINE_METHOD = "generateContent"
BATCH_METHOD = "batchGenerateContent"
CHECK_PREFIX = "start-up check: "
EMULATED = "emulated"  # the description the offline emulator gives each model it lists
# listing is metadata, answered in about a second: a silent endpoint must not hold a run's start for the
# client's call timeout (120 s, meant for a model's thinking)
LIST_TIMEOUT_SECONDS = 10.0


@dataclass
class ModelCheck:
    listed: int = 0  # models the key can use
    usable: list[str] = field(default_factory=list)  # chain models that passed
    problems: dict[str, str] = field(default_factory=dict)  # chain model -> why it is skipped
    error: str | None = None  # the listing itself failed (then nothing is marked)
    emulated: bool = False  # the endpoint is our offline emulator (it says so in each model's description)

    def summary(self) -> str:
        if self.error:
            return f"could not list Gemini models: {self.error}"
        skipped = "; ".join(f"{m}: {why}" for m, why in self.problems.items())
        return f"{len(self.usable)} chain model(s) available" + (f"; skipped {skipped}" if skipped else "")


def listed_models(client: genai.Client) -> tuple[dict[str, list[str]], bool]:
    """model id -> the methods it supports, for every model the key can use; and whether it is the emulator."""
    config = types.ListModelsConfig(
        page_size=1000, http_options=types.HttpOptions(timeout=int(LIST_TIMEOUT_SECONDS * 1000))
    )
    models = call_sdk(lambda: list(client.models.list(config=config)))
    emulated = bool(models) and all(m.description == EMULATED for m in models)
    return {(m.name or "").removeprefix("models/"): list(m.supported_actions or []) for m in models}, emulated


def problem(model: str, listed: dict[str, list[str]], methods: list[str]) -> str | None:
    """Why `model` cannot be used for `methods`, or None."""
    if model not in listed:
        return "not listed by models.list (retired, misspelt or not open to this key)"
    missing = [m for m in methods if m not in listed[model]]
    return f"does not support {', '.join(missing)}" if missing else None


def check_models(client: genai.Client, ledger: QuotaLedger, models: list[str], batch: bool, now: float) -> ModelCheck:
    """List the models, mark each of `models` unavailable or available in the ledger, say what was found."""
    try:
        listed, emulated = listed_models(client)
    except Exception as e:  # an outage or a bad key shows on the calls themselves: never stop a run here
        return ModelCheck(error=f"{type(e).__name__}: {e}"[:300])
    methods = [ONLINE_METHOD] + ([BATCH_METHOD] if batch else [])
    check = ModelCheck(listed=len(listed), emulated=emulated)
    marked = ledger.unavailable_models()  # read once: most runs find nothing to change
    for model in dict.fromkeys(models):
        why = problem(model, listed, methods)
        if why is None:
            check.usable.append(model)
            if model in marked:
                ledger.mark_available(model, marked_by=CHECK_PREFIX)
        else:
            check.problems[model] = why
            if model not in marked:
                ledger.mark_unavailable(model, now, CHECK_PREFIX + why)
    return check


def probe(client: genai.Client, model: str) -> str | None:
    """One tiny call: why Gemini refuses our configuration (key, billing, request), or None when it
    answers (or fails for another reason: an outage is not a configuration problem)."""
    try:
        call_sdk(
            lambda: client.models.generate_content(
                model=model, contents="ping", config=types.GenerateContentConfig(max_output_tokens=16)
            )
        )
    except ModelCallError as e:
        return str(e) if e.error_type in (CallFailure.CONFIGURATION, CallFailure.MODEL_REFUSED) else None
    return None
