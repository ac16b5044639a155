"""Identical reads that arrive together share one trip to the database, and none sees data older than
its own request: a request joins the read that will start next (never one already running, which may
have begun before the request came), or makes it. So 200 clients polling the same page at once cost two
queries, not 200, and a client that has just sent a file still sees it listed."""

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

from fastapi.concurrency import run_in_threadpool


class SharedReads:
    def __init__(self):
        self._next: dict[Hashable, asyncio.Future] = {}  # the read of each key that starts next
        self._running: dict[Hashable, asyncio.Task] = {}  # the read of each key running now

    async def read(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """`read()` (blocking: run in a thread) as of after this call, shared with the same key's callers."""
        future = self._next.get(key)
        if future is None:
            future = self._next[key] = asyncio.get_running_loop().create_future()
            asyncio.create_task(self._start(key, future, read))
        return await asyncio.shield(future)  # a caller that goes away does not stop the others' read

    async def _start(self, key: Hashable, future: asyncio.Future, read: Callable[[], Any]) -> None:
        if (running := self._running.get(key)) is not None:
            await asyncio.wait([running])  # it began before some of this read's callers came: wait it out
        del self._next[key]  # from here on, a new caller makes the read after this one
        self._running[key] = asyncio.current_task()
        try:
            future.set_result(await run_in_threadpool(read))
        except Exception as error:  # every caller of this read gets it
            future.set_exception(error)
        finally:
            del self._running[key]
