"""Leases: one run at a time per upload, one worker per batch, and a killed run never leaves either stuck.

A lease names its owner as `host:pid:run_id`. It can be taken over when it expired
(`ELEVRA_BATCH_LEASE_SECONDS`, default 900), when the owner's process is gone from this host,
or when the owner's Dagster run has finished (failed, cancelled or succeeded).
"""

import os
import socket
import time
from typing import Callable

import dagster as dg

WAIT_POLL_SECONDS = 5.0  # how often a run waiting for another run of its upload looks again


def owner_for(run_id: str) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{run_id}"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_is_gone(owner: str, instance: dg.DagsterInstance | None) -> bool:
    host, pid, run_id = (owner.split(":", 2) + ["", ""])[:3]
    if host == socket.gethostname() and pid.isdigit() and not _process_alive(int(pid)):
        return True
    if instance is not None and run_id:
        run = instance.get_run_by_id(run_id)
        return run is not None and run.is_finished
    return False


def run_of(owner: str) -> str:
    return owner.split(":", 2)[-1]


def hold_upload(context, repo, upload_id: int, lease_seconds: float, sleep: Callable = time.sleep) -> str:
    """Each step of a run first holds its upload (renewing the lease): a second run of a partition that
    is being processed (a re-materialization, `process` beside the daemon) waits here, says so once in
    its log and as an observation (`process` prints it), then resumes what is left: it changes nothing
    and sends no e-mail while the other runs. Returns the owner, for `release_upload`."""
    owner, said = owner_for(context.run_id), False
    while True:
        now = time.time()
        holder = repo.claim_upload_run(upload_id, owner, now, now + lease_seconds)
        if holder == owner:
            return owner
        if run_of(holder) == context.run_id or owner_is_gone(holder, context.instance):
            repo.claim_upload_run(upload_id, owner, now, now + lease_seconds, taking_over=holder)
            continue
        if not said:
            line = (
                f"upload {upload_id} is being processed by run {run_of(holder)}: this run waits for it to "
                "finish, then resumes what is left (nothing is done twice, no e-mail is sent meanwhile)"
            )
            context.log.warning(line)
            context.log_event(
                dg.AssetObservation(
                    asset_key=context.asset_key,
                    partition=context.partition_key,
                    metadata={"waiting_for_run": run_of(holder), "waiting": line},
                )
            )
            said = True
        sleep(WAIT_POLL_SECONDS)


def release_upload(repo, upload_id: int, run_id: str) -> None:
    repo.release_upload_run(upload_id, owner_for(run_id))
