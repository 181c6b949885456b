"""Sign-in throttling: too many failures for a name or from an address lock it out a while."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class Throttle:
    """Failed attempts per key over a sliding window; thread-safe, held in memory.

    In memory is enough here: it slows guessing against one server, and argon2 makes each
    guess expensive anyway. A restart forgets the failures, which only helps the staff.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self.failures: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        with self.lock:
            recent = self._recent(key)
            if len(recent) < self.limit:
                return 0.0
            return max(0.0, recent[0] + self.window - self.clock())

    def fail(self, key: str) -> None:
        """Count a failed attempt."""
        with self.lock:
            if key not in self.failures and len(self.failures) >= self.max_keys:
                self._prune()
            self._recent(key).append(self.clock())

    def forget(self, key: str) -> None:
        """A success clears the key's failures."""
        with self.lock:
            self.failures.pop(key, None)

    def _recent(self, key: str) -> deque[float]:
        """The key's failures inside the window (older ones dropped)."""
        entries = self.failures.setdefault(key, deque(maxlen=self.limit))
        horizon = self.clock() - self.window
        while entries and entries[0] <= horizon:
            entries.popleft()
        return entries

    def _prune(self) -> None:
        """Drop keys without recent failures; if none, the oldest half (bounded memory)."""
        horizon = self.clock() - self.window
        stale = [
            key for key, entries in self.failures.items() if not entries or entries[-1] <= horizon
        ]
        if not stale:
            stale = list(self.failures)[: len(self.failures) // 2]
        for key in stale:
            del self.failures[key]
