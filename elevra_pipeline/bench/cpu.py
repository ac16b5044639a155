"""Where the CPU went during a benchmark: the whole machine, and named processes, sampled over time.

Read from /proc (Linux); elsewhere every figure is None. psutil would do the same per process but
is not a dependency of the pipeline, and the two files read here are all that is needed.
"""

import os
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat, else None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def process_seconds(pid: int) -> float | None:
    """User + system CPU seconds of `pid` so far (its threads included), None once it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


@dataclass
class _Sample:
    at: float
    machine: tuple[int, int] | None
    processes: dict[str, float]


@dataclass
class CpuSampler:
    """Samples every `interval` seconds in a thread; `between(a, b)` tells what was used in that span."""

    interval: float = 0.2
    pids: dict[str, list[int]] = field(default_factory=dict)  # a name -> its processes
    samples: list[_Sample] = field(default_factory=list)

    def __post_init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._baseline: dict[int, float] = {}

    def watch(self, name: str, pid: int, from_now: bool = False) -> None:
        """Count `pid`'s CPU under `name`: from its start, or (`from_now`, for a process that was running
        before the benchmark began, e.g. a database server) from this moment."""
        if from_now:
            self._baseline[pid] = process_seconds(pid) or 0.0
        self.pids.setdefault(name, []).append(pid)

    def __enter__(self) -> "CpuSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        last: dict[int, float] = {}  # a process that has exited keeps its last reading
        while True:
            readings = {}
            for name, pids in list(self.pids.items()):
                total = 0.0
                for pid in pids:
                    seconds = process_seconds(pid)
                    last[pid] = seconds if seconds is not None else last.get(pid, 0.0)
                    total += last[pid] - self._baseline.get(pid, 0.0)
                readings[name] = total
            self.samples.append(_Sample(time.time(), machine_ticks(), readings))
            if self._stop.wait(self.interval):
                return

    def between(self, start: float, end: float) -> dict:
        """Machine CPU busy (0-1, all cores) and each name's CPU seconds from `start` to `end`."""
        times = [s.at for s in self.samples]
        if len(times) < 2:
            return {}
        first = self.samples[min(bisect_left(times, start), len(times) - 1)]
        last = self.samples[min(bisect_left(times, end), len(times) - 1)]
        out: dict = {"seconds": round(last.at - first.at, 2)}
        if first.machine and last.machine:
            busy, total = (b - a for a, b in zip(first.machine, last.machine))
            out["machine_busy"] = round(busy / max(1, total), 3)
        for name in last.processes:
            out[f"{name}_cpu_seconds"] = round(last.processes[name] - first.processes.get(name, 0.0), 2)
        return out
