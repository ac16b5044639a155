"""How far a model stage is: calls done out of the stage's total, and an estimate of the time left
from the pace so far. The stage logs it every few seconds (the run's log in the Dagster UI) and
`process` draws it as a live progress line."""

import time
from dataclasses import dataclass, field


@dataclass
class CallProgress:
    stage: str
    total: int
    done: int = 0
    clock: object = time.monotonic
    started: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def one_done(self) -> None:
        self.done += 1

    def seconds_left(self) -> float | None:
        """From the pace so far; None before the first call ends."""
        if not self.done:
            return None
        return (self.clock() - self.started) / self.done * (self.total - self.done)

    def line(self) -> str:
        left = self.seconds_left()
        eta = (
            "" if left is None else f", about {left / 60:.0f} min left" if left >= 90 else f", about {left:.0f} s left"
        )
        return f"{self.stage}: {self.done}/{self.total} batches answered{eta}"

    def metadata(self) -> dict:
        left = self.seconds_left()
        return {"progress_done": self.done, "progress_total": self.total, "seconds_left": round(left or 0)}
