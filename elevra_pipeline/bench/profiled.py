"""`python -m elevra_pipeline.bench.profiled OUT MODULE ARGS...`: run MODULE as `-m` would, under cProfile
timed by the process's CPU clock (`python -m cProfile` times by the wall clock, so a profile of a run
that mostly waits for answers would count the waits and another process's use of the CPU)."""

import cProfile
import runpy
import sys
import time


def main() -> None:
    out, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    profile = cProfile.Profile(time.process_time)
    try:  # the module's exit status is kept (SystemExit passes through)
        profile.runcall(runpy.run_module, module, run_name="__main__", alter_sys=True)
    finally:
        profile.dump_stats(out)


if __name__ == "__main__":
    main()
