"""A model endpoint that never answers is found out in about half a minute, not after 5 x 120 s per call.

Each call has its stage's timeout (a slow model is allowed its thinking time: Gemini Pro takes 10-30 s,
sometimes much more). But when a call has had no answer for `probe_after` seconds and nothing at all
came back from the endpoint since it was sent, one probe (`GET models/{model}`, which answers at once
whether or not the model is busy thinking) is sent, shared by every call waiting: any HTTP answer means
the endpoint is alive and the calls wait on; no answer within `probe_timeout` means it is silent. Then
every call in flight, and every new one for `quiet_seconds`, fails as a timeout that is not retried:
the batches wait for the model (`waiting_for_model`) and the recovery sensor resumes them later.

asyncio has timeouts but no such shared liveness check, and the SDK has neither: hence this module.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from elevra_pipeline.exceptions import ModelCallError
from elevra_pipeline.quotas.failures import CallFailure


@dataclass
class SilenceWatch:
    probe: Callable[[], Awaitable[bool]]  # True when the endpoint answered at all
    probe_after: float = 20.0
    probe_timeout: float = 10.0
    quiet_seconds: float = 60.0
    clock: Callable[[], float] = time.monotonic
    last_answer: float = field(default=float("-inf"))
    silent_at: float | None = None
    _probing: asyncio.Future | None = field(default=None, repr=False)

    def _silent_error(self, waited: float | None = None) -> ModelCallError:
        said = f"no answer in {waited:.0f} s, and " if waited is not None else ""
        return ModelCallError(
            f"timeout: the Gemini endpoint is silent ({said}a probe got no answer in {self.probe_timeout:.0f} s); "
            "the batch waits for the model and is resumed automatically",
            error_type=CallFailure.TIMEOUT,
            retryable=False,
        )

    async def _alive(self) -> bool:
        """One probe at a time, shared by every call that asks meanwhile."""
        if self._probing is None or self._probing.done():
            self._probing = asyncio.ensure_future(self._probe_once())
        return await asyncio.shield(self._probing)

    async def _probe_once(self) -> bool:
        try:
            alive = await asyncio.wait_for(self.probe(), self.probe_timeout)
        except (asyncio.TimeoutError, OSError, ModelCallError):
            alive = False
        if alive:
            self.last_answer, self.silent_at = self.clock(), None
        else:
            self.silent_at = self.clock()
        return alive

    async def call(self, request: Callable[[], Awaitable], timeout: float):
        """`request()` within `timeout`, failing early (not retried) when the endpoint is silent."""
        if self.silent_at is not None and self.clock() - self.silent_at < self.quiet_seconds:
            raise self._silent_error()
        started = self.clock()
        task = asyncio.ensure_future(request())
        try:
            while True:
                left = started + timeout - self.clock()
                done, _ = await asyncio.wait({task}, timeout=max(0.0, min(self.probe_after, left)))
                if done:
                    self.last_answer, self.silent_at = self.clock(), None
                    return task.result()
                if self.clock() - started >= timeout:
                    raise ModelCallError(
                        f"timeout: no answer within the stage's {timeout:.0f} s", error_type=CallFailure.TIMEOUT
                    )
                if self.last_answer < started and not await self._alive():
                    raise self._silent_error(self.clock() - started)
        finally:
            if not task.done():
                task.cancel()
