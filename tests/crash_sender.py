"""A sender process for the crash test: one dispatch run, killed at a named point or from outside.

python -m tests.crash_sender DATABASE_URL PORT OFFSET_SECONDS
"""

from __future__ import annotations

import datetime as dt
import sys

from outreach import clock
from outreach.config import Settings
from outreach.db import make_engine
from outreach.dispatch import Dispatcher


def main() -> None:
    """Dispatch what is due at now + offset (so that retries come due without waiting)."""
    url, port, offset = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    settings = Settings(
        smtp={"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5},
        sender={"address": "appeal@outreach.example.org"},
        dispatch={
            "rate_per_minute": 0,
            "domain_rate_per_minute": 0,
            "connections": 4,
            "batch": 50,
            "lease_seconds": 30,
            "retry_hours": 1000,
        },
    )
    shift = dt.timedelta(seconds=offset)
    Dispatcher(make_engine(url), settings, now=lambda: clock.now() + shift).run_once()


if __name__ == "__main__":
    main()
