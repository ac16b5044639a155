"""Benchmark worker processes that start measuring together, however long each took to start up."""

import time


def start_together(workers: list, ready, go, start_at, lead: float = 0.5) -> float:
    """Start `workers`, wait until each has put a message on `ready` (imported, connected, warm), then
    set the shared start time `start_at` a little ahead and release them all with `go`. On a loaded
    machine spawning takes seconds; a fixed head start let a slow process lose the first window."""
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=300)
    start_at.value = time.time() + lead
    go.set()
    return start_at.value
