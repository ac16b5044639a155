"""Batch leases: one worker per batch at a time, and a killed worker never leaves a batch stuck.

A lease names its owner as `host:pid:run_id`. It can be taken over when it expired
(`ELEVRA_BATCH_LEASE_SECONDS`, default 900), when the owner's process is gone from this host,
or when the owner's Dagster run has finished (failed, cancelled or succeeded).
"""

import os
import socket

import dagster as dg


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
