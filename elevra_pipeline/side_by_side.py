"""`make run`: the Dagster UI (`dg dev`) and the API (`elevra-pipeline serve`) side by side, stopped together.

    python -m elevra_pipeline.side_by_side "COMMAND 1" "COMMAND 2" ...

Each command runs in a session of its own with SIGINT at its default (a background `make run &` starts
with it ignored, and Dagster then ignores SIGTERM too). Ctrl-C, `kill PID` (SIGTERM; make passes it on
to this process), a closed terminal or one command ending: every command still running is sent SIGINT once (Dagster's
orderly stop, as Ctrl-C) and given time to end, then killed."""

import shlex
import signal
import subprocess
import sys
import time

GRACE_SECONDS = 30.0


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(commands: list[str]) -> int:
    stopping = []
    signal.signal(signal.SIGINT, lambda *_: stopping.append("SIGINT"))
    signal.signal(signal.SIGTERM, lambda *_: stopping.append("SIGTERM"))
    signal.signal(signal.SIGHUP, lambda *_: stopping.append("SIGHUP"))  # the terminal went away
    children = [subprocess.Popen(shlex.split(c), start_new_session=True, preexec_fn=_default_sigint) for c in commands]
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
    deadline = time.monotonic() + GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    ended = [child.returncode for child in children if child.returncode not in (0, -signal.SIGINT)]
    return 0 if stopping or not ended else ended[0]


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
