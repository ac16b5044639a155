"""The benchmarks' CPU accounting: a busy process is seen busy, in the span it was busy."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from elevra_pipeline.bench.cpu import CpuSampler

pytestmark = pytest.mark.skipif(not Path("/proc/stat").exists(), reason="CPU accounting reads /proc (Linux only)")

BURN = "import time\nend = time.process_time() + 0.8\nwhile time.process_time() < end: pass\ntime.sleep(0.6)"


def test_a_process_burning_cpu_is_charged_for_it_and_an_idle_span_is_not():
    with CpuSampler(interval=0.05) as cpu:
        started = time.time()
        burner = subprocess.Popen([sys.executable, "-c", BURN])
        cpu.watch("burner", burner.pid)
        burner.wait()
        ended = time.time()
        time.sleep(0.3)
    busy = cpu.between(started, ended)
    assert 0.6 <= busy["burner_cpu_seconds"] <= 1.2
    assert 0 < busy["machine_busy"] <= 1
    assert cpu.between(ended + 0.05, ended + 0.3)["burner_cpu_seconds"] == 0  # it had exited: nothing more
