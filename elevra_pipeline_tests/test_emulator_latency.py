"""The emulator thinks per model, as long as its profile says, the same for the same request."""

import statistics
import time

import pytest
from google import genai
from google.genai import types

from elevra_pipeline.gemini.emulator.latency import Distribution, LatencyProfile
from elevra_pipeline.gemini.emulator.server import start_in_thread


def test_a_profile_names_a_time_per_model_and_a_default():
    profile = LatencyProfile.parse("gemini-3.1-pro-preview=lognormal:15s:0.5,gemini-3.8-flash=3s,*=250ms")
    assert profile.distribution("gemini-3.1-pro-preview") == Distribution("lognormal", 15.0, 0.5)
    assert profile.seconds("gemini-3.8-flash", "any prompt") == 3.0
    assert profile.seconds("gemini-3.5-flash-lite", "any prompt") == 0.25
    assert LatencyProfile.fixed(0.05).seconds("gemini-3.1-pro-preview", "x") == 0.05  # --latency-ms: every model


def test_draws_follow_the_distribution_and_repeat_for_the_same_request():
    profile = LatencyProfile.parse("gemini-3.1-pro-preview=lognormal:15s:0.5,gemini-3.8-flash=uniform:2s:5s")
    pro = [profile.seconds("gemini-3.1-pro-preview", f"batch {i}") for i in range(2000)]
    flash = [profile.seconds("gemini-3.8-flash", f"batch {i}") for i in range(2000)]
    assert 13.5 < statistics.median(pro) < 16.5 and min(pro) > 2 and max(pro) < 120
    assert 2 <= min(flash) and max(flash) <= 5
    assert profile.seconds("gemini-3.1-pro-preview", "batch 7") == pro[7]  # deterministic, whatever the load
    assert profile.scaled(10).distribution("gemini-3.1-pro-preview") == Distribution("lognormal", 1.5, 0.5)


@pytest.mark.parametrize("text", ["pro=soon", "pro=lognormal:15s", "pro=uniform:5s:2s", "pro=3 s"])
def test_a_profile_that_cannot_be_read_says_why(text):
    with pytest.raises(ValueError):
        LatencyProfile.parse(text)


def test_the_server_thinks_per_model_after_counting_the_arrival():
    server = start_in_thread(latency=LatencyProfile.parse("gemini-3.1-pro-preview=300ms,*=0ms"))
    client = genai.Client(api_key="emulator", http_options=types.HttpOptions(base_url=server.base_url))
    try:
        took = {}
        for model in ("gemini-3.8-flash", "gemini-3.1-pro-preview"):
            started = time.monotonic()
            client.models.generate_content(model=model, contents="TASK: analyze-election-batch\n<rows>[]</rows>")
            took[model] = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert took["gemini-3.1-pro-preview"] >= 0.3 and server.calls == {
        "gemini-3.8-flash": 1,
        "gemini-3.1-pro-preview": 1,
    }
