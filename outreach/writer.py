"""The dispatcher's database thread: state changes from many SMTP connections, group-committed.

Connections submit changes and await their futures. The thread takes every change waiting at
that moment and applies them in ONE transaction; changes of the same kind (`each`) become one
statement for the whole group. While one commit (an fsync) runs, the next changes queue up and
share the next one. Durability is unchanged — a connection sends DATA only after the commit
holding its `sending` mark — but statements and commits per letter fall to a fraction of one.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741
MAX_GROUP = 512


@dataclass(frozen=True, slots=True)
class Request:
    """One submitted change: a call, or one item of a batched kind."""

    function: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    batched: bool


class Writer:
    """One thread, one connection, group commit."""

    def __init__(self, engine: Engine, loop: asyncio.AbstractEventLoop) -> None:
        self.engine = engine
        self.loop = loop
        self.requests: queue.SimpleQueue[Request | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self.serve, name="outreach-writer", daemon=True)
        self.thread.start()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(connection, *args)` in the next group transaction; its result."""
        result: T = await self.submit(function, args, batched=False)
        return result

    async def each(self, function: Callable[[Connection, list[I]], list[T]], item: I) -> T:
        """Add `item` to the next group's batch for `function(connection, items) -> results`."""
        result: T = await self.submit(function, (item,), batched=True)
        return result

    async def submit(
        self, function: Callable[..., Any], args: tuple[Any, ...], *, batched: bool
    ) -> Any:
        """Queue a request and wait for its result."""
        future: asyncio.Future[Any] = self.loop.create_future()
        self.requests.put(Request(function, args, future, batched))
        return await future

    def close(self) -> None:
        """Finish what was submitted, then stop the thread."""
        self.requests.put(None)
        self.thread.join()

    def serve(self) -> None:
        """Apply waiting requests, a group per transaction, until told to stop."""
        with self.engine.connect() as connection:
            while True:
                first = self.requests.get()
                if first is None:
                    return
                group = [first]
                stop = False
                while len(group) < MAX_GROUP:
                    try:
                        item = self.requests.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    group.append(item)
                self.apply(connection, group)
                if stop:
                    return

    def apply(self, connection: Connection, group: list[Request]) -> None:
        """One transaction for the whole group; every future gets its result or the error."""
        results: list[tuple[Request, Any]] = []
        try:
            with connection.begin():
                batches: dict[Callable[..., Any], list[Request]] = {}
                for request in group:
                    if request.batched:
                        batches.setdefault(request.function, []).append(request)
                    else:
                        results.append((request, request.function(connection, *request.args)))
                for function, requests in batches.items():
                    values = function(connection, [request.args[0] for request in requests])
                    results.extend(zip(requests, values, strict=True))
        except Exception as error:  # rolled back: no change of the group holds
            for request in group:
                self.loop.call_soon_threadsafe(settle_error, request.future, error)
            return
        for request, value in results:
            self.loop.call_soon_threadsafe(settle, request.future, value)


def settle(future: asyncio.Future[Any], result: Any) -> None:
    """Resolve a future unless its waiter gave up."""
    if not future.done():
        future.set_result(result)


def settle_error(future: asyncio.Future[Any], error: Exception) -> None:
    """Fail a future unless its waiter gave up."""
    if not future.done():
        future.set_exception(error)
