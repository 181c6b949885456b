"""The one source of time: every instant is UTC; tests freeze it with time-machine."""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    """The current instant, timezone-aware, in UTC."""
    return dt.datetime.now(dt.UTC)
