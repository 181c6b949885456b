"""Sign-in throttling: exponential backoff per key (an account, a client address), in memory.

A few failures are free (typing errors); after them each further failure doubles the wait,
up to a cap (OWASP Authentication Cheat Sheet: slow guessing down rather than lock an account
for good, which would hand anyone a way to lock staff out). Attempts refused while waiting are
not counted, so neither the attacker nor the owner prolongs the wait by trying; a success
clears the account's count. Keys are separate: a storm against one account slows that
account only, and a storm from one address slows that address only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_DOUBLINGS = 30  # far beyond any cap: keeps 2**n a small number


@dataclass(frozen=True, slots=True)
class Policy:
    """How a key is slowed: `free` failures without a wait, then `first` seconds, doubling
    with each further failure up to `cap`; forgotten `forget_after` seconds after the last."""

    free: int
    first: float
    cap: float
    forget_after: float

    def delay(self, failures: int) -> float:
        """Seconds to wait after the last of `failures` failed attempts."""
        if failures < self.free:
            return 0.0
        doublings = min(failures - self.free, MAX_DOUBLINGS)
        return min(self.cap, self.first * float(2**doublings))


# Per account: five tries free, then 1, 2, 4, 8 minutes, then 15 at most (about four guesses
# an hour). Per client address: twenty, then the same; a whole office behind one address (a
# NAT, or a proxy not listed in web.trusted_proxies) shares this one.
ACCOUNT = Policy(free=5, first=60, cap=15 * 60, forget_after=60 * 60)
ADDRESS = Policy(free=20, first=60, cap=15 * 60, forget_after=60 * 60)


class Backoff:
    """Failed attempts per key, with the wait they cost; thread-safe, held in memory.

    In memory is enough here: it slows guessing against one server, and argon2 makes each
    guess expensive anyway. A restart forgets the failures, which only helps the staff.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self.max_keys = max_keys
        self.failures: dict[str, tuple[int, float]] = {}  # key: (count, time of the last)
        self.lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        with self.lock:
            count, last = self._current(key)
            if not count:
                return 0.0
            return max(0.0, last + self.policy.delay(count) - self.clock())

    def fail(self, key: str) -> None:
        """Count a failed attempt."""
        with self.lock:
            if key not in self.failures and len(self.failures) >= self.max_keys:
                self._prune()
            count, _ = self._current(key)
            self.failures[key] = (count + 1, self.clock())

    def forget(self, key: str) -> None:
        """A success clears the key's failures."""
        with self.lock:
            self.failures.pop(key, None)

    def _current(self, key: str) -> tuple[int, float]:
        """The key's count and last failure; (0, 0) once forgotten."""
        count, last = self.failures.get(key, (0, 0.0))
        if count and self.clock() - last >= self.policy.forget_after:
            del self.failures[key]
            return 0, 0.0
        return count, last

    def _prune(self) -> None:
        """Drop keys whose failures are forgotten; if none, the older half (bounded memory)."""
        horizon = self.clock() - self.policy.forget_after
        stale = [key for key, (_, last) in self.failures.items() if last <= horizon]
        if not stale:
            by_age = sorted(self.failures, key=lambda key: self.failures[key][1])
            stale = by_age[: len(by_age) // 2]
        for key in stale:
            del self.failures[key]
