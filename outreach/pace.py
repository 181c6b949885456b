"""Pace, pure: how many due letters may be claimed now under the per-minute limits."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WINDOW = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Pace:
    """Letters per minute overall and per recipient domain; 0 means no limit."""

    per_minute: int
    per_domain: int


def admit(
    candidates: Sequence[tuple[int, str]],
    pace: Pace,
    recent_total: int,
    recent_by_domain: Mapping[str, int],
) -> list[int]:
    """The candidates (id, domain), in order, that fit in what is left of this minute.

    `recent_*` count the letters attempted in the last minute or in flight now, by every worker:
    the limits hold across workers because the database, not a process, keeps the count.
    """
    total_left = pace.per_minute - recent_total if pace.per_minute else len(candidates)
    used: Counter[str] = Counter(recent_by_domain)
    chosen: list[int] = []
    for letter_id, domain in candidates:
        if len(chosen) >= total_left:
            break
        if pace.per_domain and used[domain] >= pace.per_domain:
            continue
        used[domain] += 1
        chosen.append(letter_id)
    return chosen
