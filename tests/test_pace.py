"""Pace: the per-minute limits, overall and per recipient domain, across workers."""

from __future__ import annotations

from outreach.pace import Pace, admit

CANDIDATES = [
    (1, "example.org"),
    (2, "example.org"),
    (3, "example.net"),
    (4, "example.org"),
    (5, "example.com"),
]


def test_no_limits_admit_everything_in_order() -> None:
    assert admit(CANDIDATES, Pace(0, 0), 0, {}) == [1, 2, 3, 4, 5]


def test_the_global_limit_counts_what_was_sent_this_minute() -> None:
    assert admit(CANDIDATES, Pace(10, 0), 8, {}) == [1, 2]


def test_the_global_limit_reached_admits_nothing() -> None:
    assert admit(CANDIDATES, Pace(10, 0), 10, {}) == []


def test_the_domain_limit_skips_a_busy_domain_but_not_the_others() -> None:
    assert admit(CANDIDATES, Pace(0, 2), 0, {"example.org": 1}) == [1, 3, 5]


def test_both_limits_together() -> None:
    assert admit(CANDIDATES, Pace(2, 1), 0, {}) == [1, 3]
