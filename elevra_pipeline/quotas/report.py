"""Each model's limits and use, from the shared ledger: the `quota` table and `quota --json` alike."""

from datetime import datetime, timezone

from elevra_pipeline.quotas.ledger import QuotaLedger
from elevra_pipeline.quotas.limits import QuotaConfig

LIMITS = ("rpm", "tpm", "rpd", "batch_enqueued_tokens")


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def quota_report(config: QuotaConfig, ledger: QuotaLedger, now: float, changes: int = 20) -> dict:
    """Per model: declared limits, share, allowed (declared x share), effective (allowed, lowered by
    Google's 429s), use now (window, today, in flight, Batch API jobs), cool-down and the latest changes."""
    models = {}
    for model in config.models:
        declared, allowed = config.limits(model), config.allowed(model)
        effective = ledger.effective_limits(model, allowed, now)
        used = ledger.usage(model, now)
        models[model] = {
            "declared": {k: getattr(declared, k) for k in LIMITS},
            "share": config.share_of(model),
            "allowed": {k: getattr(allowed, k) for k in LIMITS},
            "effective": {k: getattr(effective, k) for k in LIMITS},
            "used": {
                "requests_in_window": used["requests_in_window"],
                "tokens_in_window": used["tokens_in_window"],
                "requests_today": used["requests_today"],
                "tokens_in_flight": used["tokens_in_flight"],
                "batch_enqueued_tokens": used["batch_enqueued_tokens"],
            },
            "cooldown": {"seconds": round(used["cooldown_seconds"], 1), "reason": used["cooldown_reason"]},
            "available": used["unavailable_since"] is None,
            "unavailable": None
            if used["unavailable_since"] is None
            else {"since": iso(used["unavailable_since"]), "reason": used["unavailable_reason"]},
            "limit_changes": [
                {**{k: c[k] for k in ("limit", "old", "new", "reason")}, "at": iso(c["at"])}
                for c in ledger.limit_changes(model)[-changes:]
            ],
        }
    return {
        "generated_at": iso(now),
        "window_seconds": config.window_seconds,
        "adaptive": config.adaptive,
        "models": models,
    }
