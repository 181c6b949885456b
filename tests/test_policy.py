"""Delivery policy: what each SMTP outcome does to a letter, and when it is tried again."""

from __future__ import annotations

import datetime as dt

import pytest

from outreach.models import AttemptOutcome
from outreach.policy import SmtpOutcome, Stage, classify, is_connection_failure, next_attempt

NOW = dt.datetime(2026, 2, 10, 8, 0, tzinfo=dt.UTC)
DEADLINE = NOW + dt.timedelta(hours=72)


@pytest.mark.parametrize(
    ("stage", "code", "expected"),
    [
        (Stage.DATA, 250, AttemptOutcome.SENT),
        (Stage.ENVELOPE, 421, AttemptOutcome.DEFERRED),
        (Stage.ENVELOPE, 450, AttemptOutcome.DEFERRED),
        (Stage.ENVELOPE, 451, AttemptOutcome.DEFERRED),
        (Stage.ENVELOPE, 452, AttemptOutcome.DEFERRED),
        (Stage.DATA, 451, AttemptOutcome.DEFERRED),
        (Stage.ENVELOPE, 550, AttemptOutcome.FAILED),
        (Stage.ENVELOPE, 552, AttemptOutcome.DEFERRED),  # RFC 5321 §4.5.3.1.10
        (Stage.DATA, 552, AttemptOutcome.DEFERRED),
        (Stage.DATA, 554, AttemptOutcome.FAILED),
        (Stage.ENVELOPE, 553, AttemptOutcome.FAILED),
        (Stage.CONNECT, 535, AttemptOutcome.DEFERRED),  # AUTH refused: our settings, not the letter
        (Stage.CONNECT, 554, AttemptOutcome.DEFERRED),  # a refusing greeting
        (Stage.CONNECT, None, AttemptOutcome.DEFERRED),  # refused connection, TLS failure
        (Stage.ENVELOPE, None, AttemptOutcome.DEFERRED),  # dropped before DATA: nothing sent
        (Stage.DATA, None, AttemptOutcome.UNKNOWN),  # dropped after DATA began (RFC 1047)
    ],
)
def test_an_outcome_means(stage: Stage, code: int | None, expected: AttemptOutcome) -> None:
    assert classify(SmtpOutcome(stage, code, "")) is expected


def test_the_enhanced_code_is_read_from_the_reply() -> None:
    assert (
        SmtpOutcome(Stage.ENVELOPE, 550, "5.1.1 <a@example.org>: No such user").enhanced_code
        == "5.1.1"
    )


def test_a_reply_without_an_enhanced_code_has_none() -> None:
    assert SmtpOutcome(Stage.ENVELOPE, 550, "No such user").enhanced_code is None


@pytest.mark.parametrize(
    ("outcome", "counts"),
    [
        (SmtpOutcome(Stage.CONNECT, None, "refused"), True),
        (SmtpOutcome(Stage.CONNECT, 535, "5.7.8 bad credentials"), True),
        (SmtpOutcome(Stage.ENVELOPE, None, "reset"), True),
        (SmtpOutcome(Stage.ENVELOPE, 451, "4.3.0 later"), False),
        (SmtpOutcome(Stage.ENVELOPE, 550, "5.1.1 no such user"), False),
        (SmtpOutcome(Stage.DATA, None, "reset"), False),
        (SmtpOutcome(Stage.DATA, 250, "ok"), False),
    ],
)
def test_what_counts_towards_pausing_a_campaign(outcome: SmtpOutcome, counts: bool) -> None:
    assert is_connection_failure(outcome) is counts


@pytest.mark.parametrize(
    ("attempts", "minutes"),
    [(1, 5), (2, 15), (3, 30), (4, 60), (5, 120), (6, 240), (7, 480), (12, 480)],
)
def test_retries_back_off(attempts: int, minutes: int) -> None:
    assert next_attempt(attempts, NOW, DEADLINE, jitter=0.0) == NOW + dt.timedelta(minutes=minutes)


def test_jitter_adds_at_most_a_fifth() -> None:
    assert next_attempt(1, NOW, DEADLINE, jitter=0.5) == NOW + dt.timedelta(minutes=5.5)


def test_no_retry_after_the_deadline() -> None:
    assert next_attempt(7, NOW, NOW + dt.timedelta(hours=7), jitter=0.0) is None


def test_jitter_out_of_range_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="jitter"):
        next_attempt(1, NOW, DEADLINE, jitter=1.0)
