"""Dispatch against a real SMTP server on loopback: every outcome ends in the right state."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from outreach.db import session_scope
from outreach.models import CampaignState, Letter, LetterState, SuppressionSource
from outreach.outbox import resolve
from outreach.suppression import suppress
from tests import factory
from tests.dispatching import Clock, attempts, campaign_row, letters, run, settings_for
from tests.smtp_server import Fault, SmtpServer


def test_every_due_letter_is_sent_once(engine: Engine, server: SmtpServer, clock: Clock) -> None:
    factory.letters(engine, factory.campaign(engine), 12)
    report = run(engine, settings_for(server), clock)
    assert report.by_outcome == {"sent": 12}
    assert [letter.state for letter in letters(engine)] == [LetterState.SENT] * 12
    assert sorted(m.message_id or "" for m in server.messages) == sorted(
        letter.message_id for letter in letters(engine)
    )
    assert all(len(m.rcpt_tos) == 1 for m in server.messages)


def test_the_envelope_sender_carries_the_token(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    run(engine, settings_for(server), clock)
    [letter] = letters(engine)
    assert server.messages[0].mail_from == f"appeal+{letter.token}@outreach.example.org"


def test_the_bytes_sent_are_the_bytes_stored(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    run(engine, settings_for(server), clock)
    assert server.messages[0].data.replace(b"\r\n", b"\n") == letters(engine)[0].mime.replace(
        b"\r\n", b"\n"
    )


def test_a_run_sends_nothing_twice(engine: Engine, server: SmtpServer, clock: Clock) -> None:
    factory.letters(engine, factory.campaign(engine), 5)
    run(engine, settings_for(server), clock)
    assert run(engine, settings_for(server), clock).claimed == 0
    assert len(server.messages) == 5


def test_a_letter_not_yet_due_waits(engine: Engine, server: SmtpServer, clock: Clock) -> None:
    factory.letters(engine, factory.campaign(engine), 1, due=factory.T0 + dt.timedelta(hours=1))
    report = run(engine, settings_for(server), clock)
    assert (report.claimed, report.next_due) == (0, factory.T0 + dt.timedelta(hours=1))


def test_the_connection_is_reused(engine: Engine, server: SmtpServer, clock: Clock) -> None:
    factory.letters(engine, factory.campaign(engine), 10)
    run(engine, settings_for(server, dispatch={"connections": 1}), clock)
    assert server.counters.connections == 1
    assert len(server.messages) == 10


def test_a_4xx_defers_then_the_retry_succeeds(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    server.script(Fault("rcpt", reply="451 4.3.0 Try again later"))
    run(engine, settings_for(server), clock)
    [letter] = letters(engine)
    assert letter.state is LetterState.DEFERRED
    assert (
        clock.now + dt.timedelta(minutes=5) <= letter.due_at <= clock.now + dt.timedelta(minutes=6)
    )
    [attempt] = attempts(engine)
    assert (attempt.outcome, attempt.smtp_code, attempt.enhanced_code) == ("deferred", 451, "4.3.0")
    assert attempt.reply == "4.3.0 Try again later"
    assert run(engine, settings_for(server), clock).claimed == 0  # not before its retry time
    clock.advance(minutes=7)
    run(engine, settings_for(server), clock)
    assert letters(engine)[0].state is LetterState.SENT
    assert letters(engine)[0].attempts == 2
    assert len(server.messages) == 1


def test_a_5xx_fails_the_letter_with_the_servers_reply(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 2)
    server.fail_address("person.r0@example.org", Fault("rcpt", reply="550 5.1.1 No such user"))
    run(engine, settings_for(server), clock)
    first, second = letters(engine)
    assert (first.state, first.reason, first.last_error) == (
        LetterState.FAILED,
        "refused",
        "550 5.1.1 No such user",
    )
    assert second.state is LetterState.SENT


@pytest.mark.parametrize(
    ("fault", "state"),
    [
        (Fault("rcpt", reply="450 4.2.1 Mailbox busy"), LetterState.DEFERRED),
        (Fault("rcpt", reply="452 4.3.1 Insufficient storage"), LetterState.DEFERRED),
        (Fault("rcpt", reply="552 5.2.2 Mailbox full"), LetterState.DEFERRED),
        (Fault("rcpt", reply="554 5.7.1 Relay denied"), LetterState.DEFERRED),  # policy: held
        (Fault("rcpt", reply="550 5.1.1 No such user"), LetterState.FAILED),
        (Fault("mail", reply="421 4.7.0 Closing"), LetterState.DEFERRED),
        (Fault("data", reply="451 4.3.0 Local error"), LetterState.DEFERRED),
        (Fault("data", reply="554 5.6.0 Content refused"), LetterState.FAILED),
        (Fault("after_data", reply="451 4.3.0 Queue full"), LetterState.DEFERRED),
        (Fault("after_data", reply="552 5.3.4 Message too big"), LetterState.DEFERRED),
        (Fault("after_data", reply="554 5.7.1 Spam"), LetterState.DEFERRED),  # policy: held
        (Fault("after_data", reply="550 5.6.0 Content refused"), LetterState.FAILED),
        (Fault("rcpt", drop=True), LetterState.DEFERRED),
        (Fault("mail", drop=True), LetterState.DEFERRED),
        (Fault("connect", reply="554 5.3.2 Not accepting"), LetterState.DEFERRED),
        (Fault("connect", drop=True), LetterState.DEFERRED),
        (Fault("ehlo", drop=True), LetterState.DEFERRED),
        (Fault("data", drop=True), LetterState.UNKNOWN),
        (Fault("after_data", drop=True), LetterState.UNKNOWN),
        (Fault("after_data", delay=8), LetterState.UNKNOWN),  # a timeout after "."
    ],
    ids=lambda value: (
        str(value)
        if not isinstance(value, Fault)
        else f"{value.stage}-{value.reply or ('drop' if value.drop else 'delay')}"
    ),
)
def test_the_fault_matrix(
    engine: Engine, server: SmtpServer, clock: Clock, fault: Fault, state: LetterState
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    server.script(fault)
    run(engine, settings_for(server, smtp={"timeout": 3}), clock)
    [letter] = letters(engine)
    assert letter.state is state
    [attempt] = attempts(engine)
    assert (
        attempt.outcome
        == {
            LetterState.DEFERRED: "deferred",
            LetterState.FAILED: "failed",
            LetterState.UNKNOWN: "unknown",
        }[state]
    )


def test_an_unknown_letter_is_never_resent(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    server.script(Fault("after_data", drop=True))
    run(engine, settings_for(server), clock)
    clock.advance(days=3)
    assert run(engine, settings_for(server), clock).claimed == 0
    assert len(server.messages) == 1  # it did arrive: only evidence or a person may say so
    assert letters(engine)[0].state is LetterState.UNKNOWN


def test_an_unknown_letter_resolved_as_not_sent_goes_again(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    server.script(Fault("data", drop=True))
    run(engine, settings_for(server), clock)
    with engine.begin() as connection:
        assert resolve(
            connection, letters(engine)[0].id or 0, sent=False, actor="staff", now=clock.now
        )
    run(engine, settings_for(server), clock)
    assert letters(engine)[0].state is LetterState.SENT
    assert len(server.messages) == 1


def test_an_unknown_letter_resolved_as_sent(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    server.script(Fault("after_data", drop=True))
    run(engine, settings_for(server), clock)
    with engine.begin() as connection:
        assert resolve(
            connection, letters(engine)[0].id or 0, sent=True, actor="staff", now=clock.now
        )
    assert letters(engine)[0].state is LetterState.SENT


def test_a_suppression_after_approval_stops_the_letter(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 3)
    with session_scope(engine) as session:
        suppress(
            session,
            "person.r1@example.org",
            reason="asked",
            source=SuppressionSource.REQUEST,
            actor="t",
        )
    report = run(engine, settings_for(server), clock)
    assert report.suppressed == 1
    assert [letter.state for letter in letters(engine)] == [
        LetterState.SENT,
        LetterState.SUPPRESSED,
        LetterState.SENT,
    ]
    assert "person.r1@example.org" not in {m.rcpt_tos[0] for m in server.messages}


def test_a_paused_campaign_sends_nothing(engine: Engine, server: SmtpServer, clock: Clock) -> None:
    factory.letters(engine, factory.campaign(engine, state=CampaignState.PAUSED), 3)
    assert run(engine, settings_for(server), clock).claimed == 0
    assert server.messages == []


def test_repeated_connection_failures_pause_the_campaign(
    engine: Engine, clock: Clock, tmp_path: Path
) -> None:
    factory.letters(engine, factory.campaign(engine), 10)
    with SmtpServer() as gone:
        settings = settings_for(gone, dispatch={"max_consecutive_failures": 3, "connections": 1})
    report = run(engine, settings, clock)  # the server has stopped: connection refused
    campaign = campaign_row(engine)
    assert campaign.state is CampaignState.PAUSED
    assert campaign.pause_reason is not None
    assert campaign.pause_reason.startswith("paused after 3 connection failures in a row; last: ")
    states = [letter.state for letter in letters(engine)]
    assert states.count(LetterState.DEFERRED) == 3
    assert states.count(LetterState.QUEUED) == 7
    assert report.paused == {campaign.id}


def test_a_success_resets_the_failure_count(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 4)
    server.script(Fault("connect", drop=True), Fault("connect", drop=True))
    run(
        engine,
        settings_for(server, dispatch={"max_consecutive_failures": 3, "connections": 1}),
        clock,
    )
    assert campaign_row(engine).consecutive_failures == 0
    assert campaign_row(engine).state is not CampaignState.PAUSED


def test_the_global_rate_is_honoured_with_a_frozen_clock(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 12)
    settings = settings_for(server, dispatch={"rate_per_minute": 5})
    assert run(engine, settings, clock).claimed == 5
    assert run(engine, settings, clock).claimed == 0
    clock.advance(seconds=59)
    assert run(engine, settings, clock).claimed == 0
    clock.advance(seconds=2)
    assert run(engine, settings, clock).claimed == 5
    assert len(server.messages) == 10


def test_the_domain_rate_is_honoured_with_a_frozen_clock(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(
        engine, factory.campaign(engine), 9, domains=("example.org", "example.net", "example.com")
    )
    settings = settings_for(server, dispatch={"domain_rate_per_minute": 2})
    assert run(engine, settings, clock).claimed == 6
    domains = sorted(m.rcpt_tos[0].rsplit("@", 1)[1] for m in server.messages)
    assert domains == ["example.com"] * 2 + ["example.net"] * 2 + ["example.org"] * 2


def test_a_dead_workers_claim_is_taken_over_after_its_lease(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    ids = factory.letters(engine, factory.campaign(engine), 1)
    with engine.begin() as connection:
        connection.execute(
            Letter.__table__.update().values(
                state="claimed", claimed_by="dead", lease_until=clock.now + dt.timedelta(minutes=5)
            )  # type: ignore[attr-defined]
        )
    assert run(engine, settings_for(server), clock).claimed == 0
    clock.advance(minutes=6)
    run(engine, settings_for(server), clock)
    assert letters(engine)[0].state is LetterState.SENT
    assert ids


def test_a_dead_workers_sending_letter_becomes_unknown(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    with engine.begin() as connection:
        connection.execute(
            Letter.__table__.update().values(
                state="sending", claimed_by="dead", lease_until=clock.now + dt.timedelta(minutes=5)
            )  # type: ignore[attr-defined]
        )
    clock.advance(minutes=6)
    report = run(engine, settings_for(server), clock)
    assert report.recovered_unknown == 1
    assert letters(engine)[0].state is LetterState.UNKNOWN
    assert server.messages == []


def test_the_campaign_finishes_when_nothing_waits(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 2)
    run(engine, settings_for(server), clock)
    assert campaign_row(engine).state is CampaignState.FINISHED
