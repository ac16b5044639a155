"""Dagster processes for the system tests (the daemon, the webserver) on the project's workspace, and the
small quotas they share."""

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

QUOTAS = {
    "window_seconds": 60,
    "fallback_after_seconds": 1,
    "max_wait_seconds": 120,
    "models": {
        "gemini-3.1-pro-preview": {"rpm": 10},
        "gemini-3-flash-preview": {"rpm": 1000},
        "gemini-3.8-flash": {"rpm": 1000},
        "gemini-3.5-flash-lite": {"rpm": 1000},
    },
    "chains": {
        "analysis": ["gemini-3.1-pro-preview", "gemini-3-flash-preview"],
        "structure": ["gemini-3.8-flash", "gemini-3.5-flash-lite"],
    },
}


def dagster_process(command: list[str], env: dict, logs) -> subprocess.Popen:
    """A Dagster command of this environment on the project's workspace, in a session of its own (what
    it starts, `stop_processes` stops too)."""
    program = str(Path(sys.executable).parent / command[0])
    return subprocess.Popen(
        [program, *command[1:], "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=env,
        stdout=logs,
        stderr=logs,
        start_new_session=True,
    )


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """Stop the daemon and webserver, then whatever they started (code servers, run workers) in their
    process groups, so no process outlives the test."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
