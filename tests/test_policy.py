"""Delivery policy: what each SMTP outcome does to a letter, and when it is tried again."""

from __future__ import annotations

import datetime as dt

import pytest

from outreach.models import AttemptOutcome
from outreach.policy import (
    FailureKind,
    SmtpOutcome,
    Stage,
    classify,
    failure_kind,
    is_policy_rejection,
    next_attempt,
    readable,
)

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
    ("outcome", "kind"),
    [
        (SmtpOutcome(Stage.CONNECT, None, "refused"), FailureKind.CONNECTION),
        (SmtpOutcome(Stage.CONNECT, 535, "5.7.8 bad credentials"), FailureKind.CONNECTION),
        (SmtpOutcome(Stage.ENVELOPE, None, "reset"), FailureKind.CONNECTION),
        (SmtpOutcome(Stage.ENVELOPE, 554, "5.7.1 Message rejected as spam"), FailureKind.POLICY),
        (SmtpOutcome(Stage.DATA, 421, "4.7.0 rate limited"), FailureKind.POLICY),
        (SmtpOutcome(Stage.ENVELOPE, None, "not sent: bad address", local=True), FailureKind.LOCAL),
        (SmtpOutcome(Stage.ENVELOPE, 451, "4.3.0 later"), None),
        (SmtpOutcome(Stage.ENVELOPE, 550, "5.1.1 no such user"), None),
        (SmtpOutcome(Stage.DATA, None, "reset"), None),
        (SmtpOutcome(Stage.DATA, 250, "ok"), None),
    ],
)
def test_what_counts_towards_pausing_a_campaign(
    outcome: SmtpOutcome, kind: FailureKind | None
) -> None:
    assert failure_kind(outcome) is kind


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        (Stage.ENVELOPE, "554 5.7.1 Message rejected as spam"),
        (Stage.DATA, "554 5.7.1 Message rejected as spam"),
        (Stage.ENVELOPE, "550 5.7.1 Service unavailable, Client host blocked using Spamhaus"),
        (Stage.ENVELOPE, "554 5.7.1 Relay access denied"),
        (Stage.ENVELOPE, "530 5.7.0 Authentication required"),
        (Stage.DATA, "550 5.7.26 Unauthenticated email is not accepted from this domain"),
        (Stage.ENVELOPE, "421 4.7.28 Our system has detected an unusual rate of mail"),
        (Stage.ENVELOPE, "554 Service unavailable; Client host [192.0.2.1] blocked using zen"),
        (Stage.ENVELOPE, "550 SC-001 Part of their network is on our block list"),
        (Stage.DATA, "550 Message rejected: spam"),
        (Stage.ENVELOPE, "421 Too many messages, rate limited"),
        (Stage.ENVELOPE, "554 Rejected because of the sending server's poor reputation"),
    ],
)
def test_a_policy_rejection_defers_the_letter(stage: Stage, reply: str) -> None:
    outcome = SmtpOutcome(stage, int(reply[:3]), reply[4:])
    assert is_policy_rejection(outcome)
    assert classify(outcome) is AttemptOutcome.DEFERRED


@pytest.mark.parametrize(
    "reply",
    [
        "550 5.1.1 <a@example.org>: Recipient address rejected: User unknown",
        "550 5.1.1 User unknown; mail to it is blocked",  # the enhanced code speaks first
        "553 5.1.3 Bad recipient address syntax",
        "550 No such user here",
        "554 5.6.0 Content refused",
    ],
)
def test_a_mailbox_refusal_is_no_policy_rejection(reply: str) -> None:
    outcome = SmtpOutcome(Stage.ENVELOPE, int(reply[:3]), reply[4:])
    assert not is_policy_rejection(outcome)
    assert classify(outcome) is AttemptOutcome.FAILED


def test_a_refusing_greeting_is_a_connection_failure_not_a_policy_rejection() -> None:
    outcome = SmtpOutcome(Stage.CONNECT, 554, "5.7.1 blocked")
    assert not is_policy_rejection(outcome)
    assert failure_kind(outcome) is FailureKind.CONNECTION


def test_outreach_refusing_a_letter_before_data_fails_it() -> None:
    outcome = SmtpOutcome(Stage.ENVELOPE, None, "not sent: the address is invalid", local=True)
    assert classify(outcome) is AttemptOutcome.FAILED


def test_outreach_failing_after_data_began_leaves_the_letter_unknown() -> None:
    outcome = SmtpOutcome(Stage.DATA, None, "outreach failed, after DATA began", local=True)
    assert classify(outcome) is AttemptOutcome.UNKNOWN


def test_outreach_failing_to_connect_defers_the_letter() -> None:
    outcome = SmtpOutcome(Stage.CONNECT, None, "not sent: outreach failed", local=True)
    assert classify(outcome) is AttemptOutcome.DEFERRED


def test_a_stored_text_has_no_nul_and_no_undecodable_bytes() -> None:
    # aiosmtplib decodes a reply with surrogateescape: b"\xff" arrives as "\udcff".
    assert readable("bad \udcff byte\x00end") == "bad ? byte\ufffdend"


def test_a_stored_text_is_bounded() -> None:
    assert readable("x" * 3000) == "x" * 999 + "…"


@pytest.mark.parametrize(
    ("attempts", "minutes"),
    [(1, 5), (2, 15), (3, 30), (4, 60), (5, 120), (6, 240), (7, 480), (12, 480)],
)
def test_retries_back_off(attempts: int, minutes: int) -> None:
    assert next_attempt(attempts, NOW, DEADLINE, jitter=0.0) == NOW + dt.timedelta(minutes=minutes)


def test_jitter_adds_at_most_a_fifth() -> None:
    assert next_attempt(1, NOW, DEADLINE, jitter=0.5) == NOW + dt.timedelta(minutes=5.5)


def test_without_a_deadline_there_is_always_a_retry() -> None:
    assert next_attempt(7, NOW, None, jitter=0.0) == NOW + dt.timedelta(minutes=480)


def test_no_retry_after_the_deadline() -> None:
    assert next_attempt(7, NOW, NOW + dt.timedelta(hours=7), jitter=0.0) is None


def test_jitter_out_of_range_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="jitter"):
        next_attempt(1, NOW, DEADLINE, jitter=1.0)
