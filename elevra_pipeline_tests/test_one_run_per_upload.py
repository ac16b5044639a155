"""One run at a time per upload: a second run of a partition that is being processed waits for the
first, changes nothing and sends no e-mail meanwhile, then resumes what is left (issue 26, item 4)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

import dagster as dg

from elevra_pipeline.defs import leases
from elevra_pipeline.gemini.emulator.server import start_in_thread
from elevra_pipeline.samples import SAMPLE_XLSX
from elevra_pipeline.storage.database import migrated_engine
from elevra_pipeline.storage.models import Candidate, Election, ModelAttempt
from elevra_pipeline.storage.repository import Repository
from elevra_pipeline_tests.helpers import materialize_upload, process_command, register

UPLOADER_EMAILS = ["analysis_complete", "final", "queued", "structure_complete"]


def _waits(result) -> list[dict]:
    """The observations a run made while it waited for another run of its upload."""
    observed = [
        e.event_specific_data.asset_observation.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
    ]
    return [m for m in observed if "waiting_for_run" in m]


def test_a_run_waits_while_another_live_run_holds_its_upload(repo, instance, resources, monkeypatch):
    monkeypatch.setattr(leases, "WAIT_POLL_SECONDS", 0.2)
    upload = register(repo, SAMPLE_XLSX, instance, "ann@example.org")
    other = f"{socket.gethostname()}:{os.getpid()}:a-run-of-another-process"  # alive: this very process
    now = time.time()
    assert repo.claim_upload_run(upload.id, other, now, now + 600) == other
    seen_while_waiting = {}

    def waiting_said() -> bool:
        records = instance.fetch_observations(dg.AssetKey("upload_batches"), limit=20).records
        return any("waiting_for_run" in r.asset_observation.metadata for r in records)

    def the_other_run_ends():  # once the run has said it waits (whatever the machine's load), and a while after
        deadline = time.time() + 120
        while not waiting_said() and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        seen_while_waiting["batches"] = len(repo.batches(upload.id))
        seen_while_waiting["e-mails"] = len(repo.notifications(upload.id))
        repo.release_upload_run(upload.id, other)

    ender = threading.Thread(target=the_other_run_ends)
    ender.start()
    result = materialize_upload(upload, instance, resources)
    ender.join()

    assert seen_while_waiting == {"batches": 0, "e-mails": 0}  # nothing done while the other run held it
    waits = _waits(result)
    assert [m["waiting_for_run"].value for m in waits] == ["a-run-of-another-process"]
    assert "waits for it to finish" in waits[0]["waiting"].value
    assert repo.get_upload_by_id(upload.id).status == "completed"
    assert repo.get_upload_by_id(upload.id).run_owner is None  # released by the run's last step


def test_a_lease_left_by_a_dead_process_or_a_finished_run_is_taken_over_at_once(repo, instance, resources):
    upload = register(repo, SAMPLE_XLSX, instance)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = time.time()
    repo.claim_upload_run(upload.id, f"{socket.gethostname()}:{dead.pid}:killed-run", now, now + 600)
    result = materialize_upload(upload, instance, resources)
    assert _waits(result) == []  # taken over at once: it never waited
    assert repo.get_upload_by_id(upload.id).status == "completed"


def test_two_process_commands_on_one_file_do_it_once_and_send_each_email_once(sqlite_url, local_data):
    slow = start_in_thread(
        latency_seconds=1.0
    )  # ~22 s of calls: the second command starts meanwhile, even on a busy machine
    env = {
        **os.environ,
        "ELEVRA_DATA_DIR": str(local_data),
        "ELEVRA_DATABASE_URL": sqlite_url,
        "ELEVRA_GEMINI_BASE_URL": slow.base_url,
        "ELEVRA_MAX_IN_FLIGHT": "2",
    }
    repo = Repository(migrated_engine(sqlite_url))
    try:
        first = process_command(env, SAMPLE_XLSX)
        deadline = time.time() + 60
        while repo.count(ModelAttempt) < 2 and time.time() < deadline:  # the first is in its analysis stage
            time.sleep(0.05)
        second = process_command(env, SAMPLE_XLSX)
        first_out, _ = first.communicate(timeout=180)
        second_out, _ = second.communicate(timeout=180)
    finally:
        slow.shutdown()
        slow.server_close()
    outcomes = [json.loads(out.strip().splitlines()[-1]) for out in (first_out, second_out)]
    assert [p.returncode for p in (first, second)] == [0, 0], second_out + first_out
    assert [o["status"] for o in outcomes] == ["completed", "completed"]
    assert [(o["elections"], o["candidates"]) for o in outcomes] == [(22, 66), (22, 66)]  # no "Done: 0"
    assert "is being processed by run" in second_out, second_out + first_out
    assert (repo.count(Election), repo.count(Candidate), repo.count(ModelAttempt)) == (22, 66, 44)  # once
    (upload,) = repo.list_uploads()
    kinds = [n.kind for n in repo.notifications(upload.id) if n.recipients != ["team@elevracommunity.com"]]
    assert sorted(kinds) == UPLOADER_EMAILS
