"""A run killed with SIGKILL mid-stage leaves nothing stuck: the next run resumes without duplicates."""

import json
import os
import signal
import time

from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.models import Candidate, Election, ModelAttempt
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline_tests.helpers import process_command


def test_kill_9_mid_stage_then_rerun_finishes_without_duplicates(db_url, local_data):
    slow = start_in_thread(latency_seconds=0.25)  # a slow model, so the kill lands mid-stage
    env = {
        **os.environ,
        "ELEVRA_DATA_DIR": str(local_data),
        "ELEVRA_DATABASE_URL": db_url,
        "ELEVRA_GEMINI_BASE_URL": slow.base_url,
        "ELEVRA_MAX_IN_FLIGHT": "4",  # else all 22 calls of a stage are sent at once and answered together
    }
    repo = Repository(migrated_engine(db_url))
    try:
        victim = process_command(env, SAMPLE_XLSX)
        deadline = time.time() + 60
        while repo.count(ModelAttempt) < 30 and time.time() < deadline:  # inside structured output
            time.sleep(0.1)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        attempts_at_kill = repo.count(ModelAttempt)
        (upload,) = repo.list_uploads()
        assert 22 <= attempts_at_kill < 44 and upload.status == "processing"

        survivor = process_command(env, SAMPLE_XLSX)
        out, _ = survivor.communicate(timeout=120)
    finally:
        slow.shutdown()
    summary = json.loads(out.strip().splitlines()[-1])
    assert survivor.returncode == 0 and summary["status"] == "completed"
    assert (repo.count(Election), repo.count(Candidate)) == (22, 66)
    assert {b.status for b in repo.batches(upload.id)} == {"inserted"}
    assert all(b.lease_owner is None for b in repo.batches(upload.id))
    # only calls in flight at the kill are made again
    assert 44 <= repo.count(ModelAttempt) <= 44 + 4
    kinds = [n.kind for n in repo.notifications(upload.id) if n.recipients != ["team@elevracommunity.com"]]
    assert sorted(kinds) == ["analysis_complete", "final", "queued", "structure_complete"]
    assert len(list((local_data / "outbox").rglob("*.eml"))) == 8  # the uploader's and the team's copies
