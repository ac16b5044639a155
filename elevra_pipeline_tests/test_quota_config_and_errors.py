"""Quotas files are validated up front, and Gemini's 429 bodies are read as Google writes them."""

import pytest

from elevra_pipeline.exceptions import QuotaConfigError
from elevra_pipeline.gemini.emulator.quota_window import rate_limit_body
from elevra_pipeline.quotas.limits import load_quotas, parse_quotas
from elevra_pipeline.quotas.server_errors import parse_rate_limit

REAL_429 = {
    "error": {
        "code": 429,
        "status": "RESOURCE_EXHAUSTED",
        "message": "quota",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count",
                        "quotaId": "GenerateContentPaidTierInputTokensPerModelPerMinute",
                        "quotaDimensions": {"model": "gemini-3.1-pro-preview", "location": "global"},
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"},
        ],
    }
}


def test_the_default_quotas_are_the_source_documents():
    config = load_quotas()
    pro = config.limits("gemini-3.1-pro-preview")
    assert (pro.rpm, pro.tpm, pro.rpd, pro.batch_enqueued_tokens) == (150, 2_000_000, 10_000, 5_000_000)
    assert config.limits("gemini-3-flash-preview").rpd is None
    assert config.chain("analysis") == ["gemini-3.1-pro-preview", "gemini-3-flash-preview"]
    assert config.chain("structure") == ["gemini-3.8-flash", "gemini-3.5-flash-lite"]
    assert config.window_seconds == 60 and config.day_seconds is None


@pytest.mark.parametrize(
    "data, field",
    [
        ({"models": {"gemini-3.1-pro-preview": {"rpm": -1}}}, "models.gemini-3.1-pro-preview.rpm"),
        ({"models": {"gemini-3.1-pro-preview": {"rpmm": 5}}}, "models.gemini-3.1-pro-preview.rpmm"),
        ({"models": {"a": {}}, "chains": {"analysis": ["b"]}}, "chains.analysis names 'b'"),
        ({"models": {"a": {}}, "window_seconds": 0}, "window_seconds"),
        ({}, "models"),
    ],
)
def test_invalid_quotas_name_the_bad_field(data, field):
    with pytest.raises(QuotaConfigError, match=field.replace(".", r"\.")):
        parse_quotas(data, "test.yaml")


def test_quotas_file_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "q.yaml"
    path.write_text("window_seconds: 5\nmodels: {x: {rpm: 1}}\nchains: {analysis: [x]}\n")
    monkeypatch.setenv("ELEVRA_QUOTAS_FILE", str(path))
    assert load_quotas().window_seconds == 5


def test_per_minute_429_gives_quota_id_and_delay():
    info = parse_rate_limit(REAL_429)
    assert (info.scope, info.quota_id, info.retry_delay) == (
        "minute",
        "GenerateContentPaidTierInputTokensPerModelPerMinute",
        37.0,
    )


def test_per_day_429_is_read_as_daily():
    body = rate_limit_body("gemini-3.1-pro-preview", "rpd", 3600)
    assert parse_rate_limit(body).scope == "day"


@pytest.mark.parametrize("body", [{"error": {"code": 429, "message": "Resource exhausted"}}, {}, "not json", None])
def test_429_without_details_leaves_the_wait_to_our_backoff(body):
    info = parse_rate_limit(body)
    assert (info.scope, info.quota_id, info.retry_delay) == (None, None, None)


def test_emulator_429_bodies_have_the_real_shape():
    info = parse_rate_limit(rate_limit_body("gemini-3.8-flash", "rpm", 1.25))
    assert (info.scope, info.retry_delay) == ("minute", 1.25)


def test_a_quotas_file_without_chains_uses_the_default_chains(tmp_path):
    from elevra_pipeline.quotas.limits import load_quotas

    path = tmp_path / "quotas.yaml"
    path.write_text("models:\n  gemini-3.1-pro-preview: {rpm: 5}\n")
    quotas = load_quotas(path)
    assert quotas.chain("analysis") == ["gemini-3.1-pro-preview", "gemini-3-flash-preview"]
    assert quotas.chain("structure") == ["gemini-3.8-flash", "gemini-3.5-flash-lite"]
    assert quotas.limits("gemini-3.1-pro-preview").rpm == 5 and quotas.limits("gemini-3.8-flash").rpm == 1000
