"""Database work asked for by many coroutines in one turn of the event loop, done in one transaction.

A model stage keeps hundreds of calls on one event loop; each call reserves quota, settles it and
stores its batch's answer. One transaction each would cost more CPU than the call itself, so the
requests made while the loop runs its ready callbacks are handed together to one function that does
them all in one transaction, and each caller awaits its own result. (Async drivers such as aiosqlite
or asyncpg would still take one transaction per request; no library groups them, hence this class.)
"""

import asyncio
from typing import Callable, Generic, TypeVar

Q = TypeVar("Q")
R = TypeVar("R")


class Coalescer(Generic[Q, R]):
    """`await coalescer(request)`: the request's result from `run_all(requests)`, which is given every
    request made in the same turn of the loop, in order, and returns one result per request. If
    `run_all` raises, every caller of that turn gets the error. Belongs to the loop it is first used on."""

    def __init__(self, run_all: Callable[[list[Q]], list[R]]):
        self.run_all = run_all
        self._pending: list[tuple[Q, asyncio.Future]] = []
        self.turns = 0  # how many times run_all ran (for tests and benchmarks)

    def __call__(self, request: Q) -> "asyncio.Future[R]":
        future = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if len(self._pending) == 1:  # after the callbacks already ready: they may add theirs
            future.get_loop().call_soon(self._flush)
        return future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self.turns += 1
        try:
            results = self.run_all([request for request, _ in batch])
        except Exception as e:
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a caller cancelled meanwhile
                future.set_result(result)
