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
    told: tuple[int, float] = (-1, 0.0)  # `done` when last told, and when
    quiet_seconds: float = 60.0  # told at least this often when nothing moves (the stage is alive)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def one_done(self) -> None:
        self.done += 1

    def worth_telling(self) -> bool:
        """Whether a report now says anything new: calls were answered since the last one, or it has
        been quiet for `quiet_seconds`. Each report is a log line and an event in Dagster's storage
        (tens of ms of the run's CPU); while a stage waits for Pro's answers nothing changes."""
        now = self.clock()
        if self.done == self.told[0] and now - self.told[1] < self.quiet_seconds:
            return False
        self.told = (self.done, now)
        return True

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
