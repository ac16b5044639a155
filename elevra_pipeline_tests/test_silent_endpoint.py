"""A model endpoint that accepts connections and never answers: the batches wait for the model after
one probe, instead of each call waiting out its timeout five times (issue 26, item 5)."""

import asyncio
import socket
import threading

import pytest

from elevra_pipeline.defs.resources import GeminiResource
from elevra_pipeline.exceptions import ModelCallError
from elevra_pipeline.gemini.silence import SilenceWatch
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.models import ModelAttempt
from elevra_pipeline_tests.helpers import attention, materialize_upload, register


@pytest.fixture
def silent_endpoint():
    """Accepts every connection, reads what is sent, never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(512)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_silent_endpoint_leaves_every_batch_waiting_for_the_model_after_one_probe(
    repo, instance, resources, silent_endpoint
):
    upload = register(repo, SAMPLE_XLSX, instance, "ann@example.org")
    gemini = GeminiResource(
        base_url=silent_endpoint,
        database_url=resources["database"].url,
        timeout_seconds=3.0,  # the start-up model check gives up after this
        analysis_timeout_seconds=60.0,  # a call alone would wait this long, five times over
        probe_after_seconds=0.5,
    )
    result = materialize_upload(upload, instance, {**resources, "gemini": gemini})

    batches = repo.batches(upload.id)
    assert {b.status for b in batches} == {"waiting_for_model"} and len(batches) == 22
    assert all("endpoint is silent" in b.error_reason for b in batches)
    assert repo.get_upload_by_id(upload.id).status == "waiting_for_model"
    assert repo.count(ModelAttempt) == 22  # one attempt each: a silent endpoint is not retried
    assert attention(result) is None or "wait" in attention(result)


def test_a_slow_but_alive_endpoint_is_given_the_stages_whole_timeout():
    answered = []

    async def probe():
        return True  # the endpoint answers a probe at once: the model is thinking

    async def slow_call():
        await asyncio.sleep(0.6)
        answered.append(True)
        return "answer"

    watch = SilenceWatch(probe, probe_after=0.1, probe_timeout=0.1)
    assert asyncio.run(watch.call(slow_call, timeout=5)) == "answer" and answered


def test_a_call_past_its_stages_timeout_fails_as_a_retryable_timeout():
    async def probe():
        return True

    async def endless():
        await asyncio.sleep(30)

    watch = SilenceWatch(probe, probe_after=0.1, probe_timeout=0.1)
    with pytest.raises(ModelCallError) as failed:
        asyncio.run(watch.call(endless, timeout=0.4))
    assert failed.value.error_type == "timeout" and failed.value.retryable


def test_the_start_up_model_listing_gives_up_on_a_silent_endpoint_long_before_a_calls_timeout(
    silent_endpoint, monkeypatch
):
    from elevra_pipeline.gemini import model_check
    from elevra_pipeline.gemini.client import make_client

    monkeypatch.setattr(model_check, "LIST_TIMEOUT_SECONDS", 0.5)
    client = make_client("key", silent_endpoint, timeout_seconds=600.0)  # a call may think for 10 minutes
    outcome = []

    def listing():
        try:
            model_check.listed_models(client)
        except ModelCallError as e:
            outcome.append(e)

    thread = threading.Thread(target=listing, daemon=True)
    thread.start()
    thread.join(timeout=60)  # generous: the listing's own limit is 0.5 s, the client's 600 s
    assert not thread.is_alive() and len(outcome) == 1
