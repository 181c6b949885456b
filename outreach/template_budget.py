"""What one letter's templates may spend (loop iterations, sizes, numbers, time) and the running
account of one render against those limits, which every hook of the sandbox charges."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from jinja2.exceptions import SecurityError
from jinja2.runtime import Undefined
from jinja2.utils import Namespace

T = TypeVar("T")
DOCS = 'see "Template limits" in docs/appeals.md'


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """The bounds of one letter: its subject, text and HTML templates rendered together.

    Each is far above what a letter needs and far below what would exhaust the machine (the
    measured figures are in docs/appeals.md, "Template limits").
    """

    iterations: int = 100_000  # loop iterations, all loops of the letter together
    range_items: int = 100_000  # items of one range(): Jinja2's own bound (sandbox.MAX_RANGE)
    value_length: int = 500_000  # characters or items of one value: the default letters.max_bytes
    memory: int = 50_000_000  # bytes of values the templates build, in total
    number_bits: int = 128  # bits of one integer (38 decimal digits)
    seconds: float = 2.0  # wall-clock time of the whole letter

    def for_letters(self, max_bytes: int) -> TemplateLimits:
        """These limits, with room for one value as large as a letter of letters.max_bytes."""
        scale = max(1, -(-max_bytes // self.value_length))  # rounded up
        return dataclasses.replace(
            self, value_length=self.value_length * scale, memory=self.memory * scale
        )


UNITS = {
    "iterations": "loop iterations per letter",
    "range_items": "items in one range()",
    "value_length": "characters or items in one value",
    "memory": "bytes of values built per letter",
    "number_bits": "bits in one number",
    "seconds": "seconds per letter",
}


class LimitExceeded(SecurityError):
    """A template went over one of its limits; render.py adds the template and the line."""

    def __init__(self, limits: TemplateLimits, limit: str, happened: str) -> None:
        self.limit = limit
        self.value: int | float = getattr(limits, limit)
        value = f"{self.value:g}" if isinstance(self.value, float) else f"{self.value:,}"
        super().__init__(f"{happened}, over the limit of {value} {UNITS[limit]} ({limit}; {DOCS})")


class Budget:
    """What one letter's render has left; a fresh one for each letter."""

    __slots__ = ("deadline", "iterations", "limits", "memory")

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.iterations = limits.iterations
        self.memory = limits.memory
        # A clock read in the hooks, not a signal: signals reach only the main thread, and the
        # web renders in worker threads.
        self.deadline = time.monotonic() + limits.seconds

    def refuse(self, limit: str, happened: str) -> NoReturn:
        """Stop the render: `happened` went over `limit`."""
        raise LimitExceeded(self.limits, limit, happened)

    def tick(self) -> None:
        """Stop the render once its time is up."""
        if time.monotonic() > self.deadline:
            self.refuse("seconds", "the letter took too long to render")

    def loop(self, count: int) -> None:
        """Charge `count` loop iterations."""
        self.tick()
        self.iterations -= count
        if self.iterations < 0:
            self.refuse("iterations", "the loops ran too many times")

    def expect(self, length: int, what: str) -> None:
        """Refuse, before it is built, a value of `length` characters or items."""
        if length > self.limits.value_length:
            self.refuse("value_length", f"{what} would make {length:,} characters or items")

    def weigh(self, value: object, what: str) -> None:
        """Refuse a value whose text, through its lists and mappings, would be too long."""
        length = weight(value, self.limits.value_length)
        if length > self.limits.value_length:
            self.refuse("value_length", f"{what} was given {length:,} characters or items")

    def built(self, value: T) -> T:
        """Charge a value just built; refuse one too long, too big or over the memory left."""
        if isinstance(value, int):
            bits = value.bit_length()
            if bits > self.limits.number_bits:
                self.refuse("number_bits", f"a number of {bits:,} bits")
        elif isinstance(value, str | bytes | bytearray | list | tuple | dict | set | frozenset):
            if len(value) > self.limits.value_length:
                self.refuse("value_length", f"a value of {len(value):,} characters or items")
            self.memory -= footprint(value)
            if self.memory < 0:
                self.refuse("memory", "the templates built too much")
        return value


def weight(value: object, cap: int) -> int:
    """Characters and items of `value`, counted through its containers; stops just above `cap`.

    A list of a thousand references to one long string costs little memory, but its text (what
    printing, joining or formatting it makes) is a thousand times the string: this counts that.
    """
    total = 0
    pending: list[object] = [value]
    while pending and total <= cap:
        item = pending.pop()
        if isinstance(item, str | bytes | bytearray):
            total += len(item)
        elif isinstance(item, Undefined):  # looks like a collection, and fails when used as one
            total += 1
        elif isinstance(item, Namespace):
            pending.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, Mapping | Collection):
            total += len(item) + 1
            if total <= cap:
                pending.extend(item)
                if isinstance(item, Mapping):
                    pending.extend(item.values())
        else:
            total += 1
    return total


def footprint(value: Collection[Any]) -> int:
    """Bytes of a value just built: itself and, for a container, what it holds (one level)."""
    size = sys.getsizeof(value)
    if isinstance(value, str | bytes | bytearray):
        return size
    items = [*value, *value.values()] if isinstance(value, Mapping) else value
    return size + sum(sys.getsizeof(item) for item in items)


_ACTIVE: ContextVar[Budget | None] = ContextVar("outreach_template_budget", default=None)


def active() -> Budget:
    """The budget of the render in progress, or, outside one (Jinja2 folding constants while it
    compiles a template), a fresh one, so that each single operation stays bounded."""
    return _ACTIVE.get() or Budget(TemplateLimits())


@contextmanager
def spending(budget: Budget) -> Iterator[Budget]:
    """Charge every hook of the sandbox to `budget` in this thread until the block ends."""
    token = _ACTIVE.set(budget)
    try:
        yield budget
    finally:
        _ACTIVE.reset(token)
