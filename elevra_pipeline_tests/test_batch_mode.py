"""Gemini's Batch API: jobs sent through the real SDK to the emulator, recorded before they are sent,
polled, applied once; half the price; a killed process never sends a job twice or loses one."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from elevra_pipeline.defs.batch_sensor import batch_jobs_sensor
from elevra_pipeline.defs.processing import process_file
from elevra_pipeline.defs.resources import DatabaseResource, GeminiBatchesResource
from elevra_pipeline.exceptions import ModelCallError
from elevra_pipeline.gemini import prompts
from elevra_pipeline.gemini.batch_jobs import BatchRequest, GeminiBatches, JobState, answers_by_key, read_inlined
from elevra_pipeline.gemini.client import make_client
from elevra_pipeline.gemini.emulator.server import Faults, start_in_thread
from elevra_pipeline.gemini.schemas import BatchAnalysis
from elevra_pipeline.quotas.limits import load_quotas, parse_quotas
from elevra_pipeline.quotas.planner import choose_mode
from elevra_pipeline.quotas.prices import CallMode
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.models import Candidate, Election, ModelAttempt
from elevra_pipeline.storage.repository import Repository

ROWS = [{"candidate_name": "Ann Lee", "office": "Mayor", "jurisdiction": "Springfield", "election_date": "2026-11-03"}]


def _request(key: str, name: str = "Ann Lee") -> BatchRequest:
    rows = [{**ROWS[0], "candidate_name": name}]
    return BatchRequest(key, prompts.ANALYSIS_SYSTEM, prompts.analysis_prompt(rows), BatchAnalysis)


def _wait_until_ended(batches: GeminiBatches, name: str, timeout: float = 10):
    deadline = time.time() + timeout
    while (job := batches.get(name)).state.is_open and time.time() < deadline:
        time.sleep(0.05)
    return job


def test_the_emulator_answers_batch_jobs_as_google_does_through_the_sdk():
    tight = parse_quotas({"models": {"pro": {"batch_enqueued_tokens": 1000}}})
    server = start_in_thread(quotas=tight, faults=Faults.parse("expire_jobs=1"), batch_delay_seconds=0.4)
    batches = GeminiBatches(make_client(None, server.base_url, 30))
    try:
        expiring = batches.create("pro", [_request("1")], "elevra-t-analysis-1")
        assert expiring.state == JobState.PENDING and expiring.name.startswith("batches/")
        assert batches.find("elevra-t-analysis-1").name == expiring.name  # found by its display name
        assert batches.find("never-sent") is None
        with pytest.raises(ModelCallError) as refused:  # the two jobs' tokens would exceed 1,000
            batches.create("pro", [_request(str(i), f"Name {i}") for i in range(6)], "elevra-t-analysis-2")
        assert refused.value.status_code == 429 and "BatchEnqueuedTokens" in refused.value.quota_id
        assert _wait_until_ended(batches, expiring.name).state == JobState.EXPIRED  # the first job expires

        requests = [_request("7", "Bo Diaz"), _request("8", "Cy Park")]
        done = _wait_until_ended(batches, batches.create("pro", requests, "elevra-t-analysis-3").name)
        assert done.state == JobState.SUCCEEDED
        answers = answers_by_key(requests, done.responses)
        assert set(answers) == {"7", "8"}  # matched back by the key in each request's metadata
        read = read_inlined(answers["8"], "pro", BatchAnalysis, None)
        assert read.input_tokens > 0 and read.value.can_structure

        cancelled = batches.create("pro", [_request("9")], "elevra-t-analysis-4")
        batches.cancel(cancelled.name)
        assert batches.get(cancelled.name).state == JobState.CANCELLED
        assert server.stats()["batch_jobs_created"] == {"pro": 3}
    finally:
        server.shutdown()


def test_a_request_that_failed_inside_a_job_is_a_model_call_error():
    server = start_in_thread(quotas=None, faults=Faults.parse("batch_error=1"), batch_delay_seconds=0.1)
    batches = GeminiBatches(make_client(None, server.base_url, 30))
    try:
        job = _wait_until_ended(batches, batches.create("pro", [_request("1")], "elevra-t-fail").name)
        (response,) = job.responses
        with pytest.raises(ModelCallError, match="batch request failed: 500"):
            read_inlined(response, "pro", BatchAnalysis, None)
    finally:
        server.shutdown()


NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def test_auto_stays_online_unless_online_cannot_finish_in_time_and_says_why():
    """A 300-election upload an admin expects in minutes is not sent to a job that may take 24 hours."""
    large = choose_mode("auto", 500, NOW, online_calls_left_today=9000)
    assert large.mode == CallMode.ONLINE and "--mode batch" in large.reason
    assert choose_mode("auto", 500, NOW, NOW + timedelta(days=3), online_finish=NOW + timedelta(hours=1)).mode == (
        CallMode.ONLINE
    )
    # today's online quota cannot take the upload: the Batch API has its own
    short = choose_mode("auto", 500, NOW, online_calls_left_today=300)
    assert short.mode == CallMode.BATCH and "300 of the upload's 1000 calls" in short.reason
    # online would finish after a deadline that leaves the Batch API its 24 hours
    slow = choose_mode("auto", 500, NOW, NOW + timedelta(days=2), online_finish=NOW + timedelta(days=3))
    assert slow.mode == CallMode.BATCH and "after the deadline" in slow.reason
    # a deadline too near for a batch job: online, and the reason says it will be late and why
    near = choose_mode("auto", 500, NOW, NOW + timedelta(hours=6), 300, None, NOW + timedelta(hours=8))
    assert near.mode == CallMode.ONLINE and "6 h away" in near.reason and "300 of its 1000 calls" in near.reason
    assert choose_mode("batch", 22, NOW).mode == CallMode.BATCH  # asked for: size does not matter
    assert choose_mode("online", 5000, NOW).mode == CallMode.ONLINE
    unavailable = choose_mode("batch", 500, NOW, batch_unavailable="no endpoint outlives the run")
    assert unavailable.mode == CallMode.ONLINE and "no endpoint outlives the run" in unavailable.reason


@pytest.fixture
def batch_env(local_data, monkeypatch):
    def start(db_url: str, faults: str = "", delay: float = 0.3):
        server = start_in_thread(quotas=load_quotas(), faults=Faults.parse(faults), batch_delay_seconds=delay)
        monkeypatch.setenv("ELEVRA_DATABASE_URL", db_url)
        monkeypatch.setenv("ELEVRA_GEMINI_BASE_URL", server.base_url)
        monkeypatch.setenv("ELEVRA_BATCH_POLL_SECONDS", "0.1")
        return server

    return start


def test_an_upload_in_batch_mode_survives_a_partly_failed_job_and_an_expired_one(db_url, batch_env):
    server = batch_env(db_url, "batch_error=0.25,expire_jobs=1")
    lines = []
    try:
        outcome = process_file(SAMPLE_XLSX, "ann@example.org", progress=lines.append, options={"mode": "batch"})
    finally:
        server.shutdown()
    repo = Repository(migrated_engine(db_url))
    upload = repo.get_upload_by_id(outcome["upload_id"])
    jobs = repo.batch_jobs(upload.id)
    assert outcome["status"] == "completed" and outcome["mode"] == "batch"
    assert (repo.count(Election), repo.count(Candidate)) == (22, 66)
    assert jobs[0].state == JobState.EXPIRED and len(jobs[0].batch_ids) == 22  # then sent again
    attempts = repo.attempts(upload.id)
    failed_inside = [a for a in attempts if a.status == "server_error"]
    assert failed_inside and {a.stage for a in failed_inside} <= {"analysis", "structure"}
    assert sum(a.status == "job_expired" for a in attempts) == 22
    assert {a.mode for a in attempts} == {"batch"} and sum(a.status == "ok" for a in attempts) == 44
    # every job recorded was sent once, every one ended and was applied, nothing is leased any more
    assert sum(server.stats()["batch_jobs_created"].values()) == len(jobs)
    assert all(j.applied_at and not j.state.is_open for j in map(_state, jobs))
    assert all(b.lease_owner is None for b in repo.batches(upload.id))
    assert any("waiting for 1 Batch API job(s)" in line for line in lines)


def _state(job):
    job.state = JobState(job.state)
    return job


def test_batch_mode_costs_half_of_online_for_the_same_sample(db_url, batch_env, tmp_path, monkeypatch):
    costs = {}
    for mode in ("online", "batch"):
        monkeypatch.setenv("ELEVRA_DATA_DIR", str(tmp_path / mode))
        url = db_url if mode == "batch" else f"sqlite:///{tmp_path / 'online.db'}"
        server = batch_env(url)
        try:
            outcome = process_file(SAMPLE_XLSX, progress=lambda line: None, options={"mode": mode})
        finally:
            server.shutdown()
        assert outcome["status"] == "completed" and outcome["mode"] == mode
        costs[mode] = outcome["cost_usd"]
    assert costs["batch"] == pytest.approx(costs["online"] / 2, abs=2e-6)  # each total is rounded to 1e-6


def test_the_sensor_runs_the_partition_again_once_a_job_has_ended(sqlite_url, local_data):
    server = start_in_thread(quotas=None, batch_delay_seconds=1.5)
    repo = Repository(migrated_engine(sqlite_url))
    upload = repo.add_upload(partition_key="p1", content_hash="h", original_filename="f.csv")
    job = GeminiBatches(make_client(None, server.base_url, 30)).create("pro", [_request("1")], "elevra-p1-analysis-1")
    with repo.unit_of_work() as s:
        from elevra_pipeline.storage.models import GeminiBatchJob

        s.add(
            GeminiBatchJob(
                key="elevra-p1-analysis-1",
                upload_id=upload.id,
                stage="analysis",
                model="pro",
                name=job.name,
                state="pending",
                batch_ids=[],
                estimated_tokens=10,
                submitted_at=time.time(),
            )
        )
    resources = {
        "database": DatabaseResource(url=sqlite_url),
        "gemini_batches": GeminiBatchesResource(base_url=server.base_url, poll_seconds=0.05),
    }
    try:
        with dg.instance_for_test() as instance:
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                first = batch_jobs_sensor(context)
            assert not first.run_requests  # still running at Google
            time.sleep(1.6)
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                ended = batch_jobs_sensor(context)
    finally:
        server.shutdown()
    (request,) = ended.run_requests
    assert request.partition_key == "p1" and request.run_key == "batch:elevra-p1-analysis-1"
    (recorded,) = repo.batch_jobs(upload.id)
    assert recorded.state == "succeeded" and recorded.ended_at and recorded.polls == 2


def test_a_job_whose_confirmation_was_lost_is_adopted_not_sent_again(sqlite_url, batch_env, monkeypatch):
    """Google accepted the job but its answer never came back (a timeout, or the process died): the job
    stays `submitting`, and the next look finds it by its display name instead of sending it again."""
    server = batch_env(sqlite_url)
    real_create = GeminiBatches.create

    def accepted_then_lost(self, model, requests, display_name):
        real_create(self, model, requests, display_name)
        raise ModelCallError("timeout: ReadTimeout", error_type="timeout")

    monkeypatch.setattr(GeminiBatches, "create", accepted_then_lost)
    try:
        outcome = process_file(SAMPLE_XLSX, progress=lambda line: None, options={"mode": "batch"})
    finally:
        server.shutdown()
    jobs = Repository(migrated_engine(sqlite_url)).batch_jobs(outcome["upload_id"])
    assert outcome["status"] == "completed"
    assert [(j.stage, j.error) for j in jobs] == [("analysis", None), ("structure", None)]
    assert server.stats()["batch_jobs_created"] == {"gemini-3.1-pro-preview": 1, "gemini-3.8-flash": 1}


def _process(env):
    return subprocess.Popen(
        [sys.executable, "-m", "elevra_pipeline.cli", "process", str(SAMPLE_XLSX), "--mode", "batch"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def test_kill_9_while_polling_resumes_without_sending_a_job_again(db_url, local_data):
    server = start_in_thread(quotas=load_quotas(), batch_delay_seconds=4)
    env = {
        **os.environ,
        "ELEVRA_DATA_DIR": str(local_data),
        "ELEVRA_DATABASE_URL": db_url,
        "ELEVRA_GEMINI_BASE_URL": server.base_url,
        "ELEVRA_BATCH_POLL_SECONDS": "0.2",
    }
    repo = Repository(migrated_engine(db_url))
    try:
        victim = _process(env)
        deadline = time.time() + 60
        while time.time() < deadline and not any(j.name for u in repo.list_uploads() for j in repo.batch_jobs(u.id)):
            time.sleep(0.1)
        time.sleep(0.5)  # polling now
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        (upload,) = repo.list_uploads()
        (job,) = repo.batch_jobs(upload.id)
        assert job.stage == "analysis" and job.ended_at is None and upload.status == "processing"

        survivor = _process(env)
        out, _ = survivor.communicate(timeout=120)
    finally:
        server.shutdown()
    summary = json.loads(out.strip().splitlines()[-1])
    assert survivor.returncode == 0 and summary["status"] == "completed" and summary["mode"] == "batch"
    assert server.stats()["batch_jobs_created"] == {"gemini-3.1-pro-preview": 1, "gemini-3.8-flash": 1}
    assert [j.name for j in repo.batch_jobs(upload.id)][0] == job.name  # the same job, picked up again
    assert (repo.count(Election), repo.count(Candidate), repo.count(ModelAttempt)) == (22, 66, 44)


def test_cancelling_an_upload_cancels_its_open_jobs_at_gemini_and_here(sqlite_url, batch_env):
    from elevra_pipeline.uploads.admin import cancel_upload

    server = batch_env(sqlite_url, delay=30)  # the job is still running when the admin cancels
    lines = []
    try:
        with pytest.raises(_Stop):
            process_file(SAMPLE_XLSX, progress=_stop_when_waiting(lines), options={"mode": "batch"})
        repo = Repository(migrated_engine(sqlite_url))
        (upload,) = repo.list_uploads()
        batches = GeminiBatches(make_client(None, server.base_url, 30))
        message = cancel_upload(repo, upload.id, None, None, "wrong file", batches)
        (job,) = repo.batch_jobs(upload.id)
        assert batches.get(job.name).state == JobState.CANCELLED  # at Gemini
    finally:
        server.shutdown()
    assert "1 Batch API job(s) cancelled" in message
    assert job.state == "cancelled" and job.applied_at and repo.unfinished_batch_jobs() == []
    assert all(b.lease_owner is None and b.status == "cancelled" for b in repo.batches(upload.id))


class _Stop(Exception):
    pass


def _stop_when_waiting(lines):
    def progress(line):
        lines.append(line)
        if "waiting for" in line:
            raise _Stop(line)

    return progress
