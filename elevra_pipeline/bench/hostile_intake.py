"""`elevra-pipeline bench intake --hostile`: each bomb of `bench.bombs` read in a process of its own.

A child process per file, so its peak memory is its own (the child's high-water mark, or `os.wait4`'s
account of a child that died); the child runs the pipeline's `read_upload` under an address-space
cap, so a bomb that gets through takes a MemoryError instead of the shared machine. A file read whole is
also grouped into races as the pipeline does: a race whose prompt would pass the token budget for one
model call is refused there, before any call (uploads.prompt_budget). The target: every file refused
within seconds, under 500 MB.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from elevra_pipeline.bench import bombs
from elevra_pipeline.intake.limits import IntakeLimits

TARGET_MB, TARGET_SECONDS = 500, 10
# name, what it is (as the issue that found it measured it on the reader before), how it is built
BOMBS = [
    ("many_sheets", "500 sheets, one cell at row 249,999 each, no dimension", bombs.many_sheets, ".xlsx"),
    ("far_column", "2 sheets x 250,000 rows, one cell in column 999", bombs.far_column, ".xlsx"),
    ("false_dimension", "declares A1:D3, holds 300,000 rows to column 999", bombs.false_dimension, ".xlsx"),
    ("shared_strings", "22,000,000 shared strings no cell uses", bombs.shared_strings, ".xlsx"),
    ("merged_range", "one merged range A1:ALL250000 over a value", bombs.merged_range, ".xlsx"),
    ("styles", "4,000,000 cell formats in the styles part", bombs.styles, ".xlsx"),
    ("wide_row", "one row of 10,000,000 empty cells", bombs.wide_row, ".xlsx"),
    ("long_text", "one cell of 300 MB of text", bombs.long_text, ".xlsx"),
    ("csv_cells", "CSV of 250,000 rows x 96 columns (24 M cells)", bombs.csv_cells, ".csv"),
    ("long_cells", "CSV of 3 names of 120,000 characters (4 model calls of ~90k tokens)", bombs.long_cells, ".csv"),
    ("long_cell_xlsx", "one candidate name of 30,000 characters", bombs.long_cell_xlsx, ".xlsx"),
    ("long_race", "one race of 80 rows with 1,900-character notes: a prompt above the budget", bombs.long_race, ".csv"),
]
_CHILD = """
import json, resource, sys, time
from pathlib import Path
cap = int(sys.argv[2]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
from elevra_pipeline.exceptions import UnusableUploadError
from elevra_pipeline.intake.batching import group_rows
from elevra_pipeline.intake.reader import read_upload
from elevra_pipeline.uploads.prompt_budget import refuse_oversized
started = time.perf_counter()
try:
    rows = read_upload(Path(sys.argv[1])).rows
    too_large = [d.problem for d in refuse_oversized(group_rows(rows)) if (d.problem or "").startswith("prompt too")]
    result = {"outcome": "refused", "reason": too_large[0]} if too_large else {"outcome": "accepted", "rows": len(rows)}
except UnusableUploadError as e:
    result = {"outcome": "refused", "reason": str(e)}
except MemoryError:
    result = {"outcome": "MemoryError", "reason": f"ran out of the {sys.argv[2]} MB address-space cap"}
result["seconds"] = round(time.perf_counter() - started, 2)
with open("/proc/self/status") as status:  # VmHWM: this process's own peak since exec
    peak = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
result["peak_mb"] = round(peak[0] / 1024, 1) if peak else None
print(json.dumps(result))
"""


def read_in_child(path: Path, cap_mb: int, timeout: float) -> dict:
    """Outcome, read time and peak resident memory as the child tells them (its VmHWM); for a child that
    died before telling, the kernel's account of it (`os.wait4`)."""
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(cap_mb)], stdout=subprocess.PIPE, text=True)
    started = time.monotonic()
    while (done := os.wait4(child.pid, os.WNOHANG))[0] == 0:
        if time.monotonic() - started > timeout:
            child.kill()
            done = os.wait4(child.pid, 0)
            break
        time.sleep(0.05)
    _, status, usage = done
    child.returncode = os.waitstatus_to_exitcode(status)
    output = child.stdout.read().strip().splitlines() if child.stdout else []
    result = json.loads(output[-1]) if output else {}
    if not result:
        killed = time.monotonic() - started > timeout
        result = {"outcome": "killed" if killed else f"exit {child.returncode}", "seconds": time.monotonic() - started}
    if not result.get("peak_mb"):  # the kernel's figure counts the parent's pages the child started from too
        result["peak_mb"] = round(usage.ru_maxrss / 1024, 1)  # kilobytes on Linux
    return result


def held(result: dict) -> bool:
    return result["outcome"] == "refused" and result["peak_mb"] < TARGET_MB and result["seconds"] < TARGET_SECONDS


def run(say=print, cap_mb: int = 3072, timeout: float = 300.0) -> dict:
    results = {}
    limit_mb = IntakeLimits().max_file_bytes / 1024 / 1024
    say(f"Each file is under the {limit_mb:.0f} MB upload limit and read in its own process (capped at {cap_mb:,} MB).")
    with tempfile.TemporaryDirectory() as folder:
        for name, what, build, suffix in BOMBS:
            path = build(Path(folder) / f"{name}{suffix}")
            size = round(path.stat().st_size / 1024)
            results[name] = result = {"file_kb": size, "what": what, **read_in_child(path, cap_mb, timeout)}
            path.unlink()
            say(
                f"{name:16} {size:>8,} KB  {result['outcome']:11} {result['seconds']:7.2f} s  "
                f"peak {result['peak_mb']:8.1f} MB  {'ok' if held(result) else 'MISSED'}  {result.get('reason', '')}"
            )
    say(f"{sum(map(held, results.values()))} of {len(results)} refused within {TARGET_SECONDS} s under {TARGET_MB} MB")
    say(json.dumps(results))
    return results
