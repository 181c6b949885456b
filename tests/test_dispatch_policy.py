"""Policy rejections (RFC 3463 x.7.x, "spam", "blocked") hold letters and pause the campaign."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy.engine import Engine

from outreach.campaign import get_campaign, set_state
from outreach.db import session_scope
from outreach.models import CampaignState, LetterState
from tests import factory
from tests.dispatching import Clock, attempts, campaign_row, letters, run, settings_for
from tests.smtp_server import Fault, SmtpServer, Stage

SPAM = "554 5.7.1 Message rejected as spam"


def resume(engine: Engine) -> None:
    """`outreach campaign resume test`, as staff would after settling it with the provider."""
    with session_scope(engine) as session:
        set_state(
            session,
            get_campaign(session, "test"),
            CampaignState.RUNNING,
            actor="staff",
            reason=None,
        )


@pytest.mark.parametrize("stage", ["rcpt", "after_data"])
def test_spam_rejections_pause_the_campaign_and_resume_sends_every_held_letter(
    engine: Engine, server: SmtpServer, clock: Clock, stage: Stage
) -> None:
    factory.letters(engine, factory.campaign(engine), 39)
    server.always(Fault(stage, reply=SPAM))
    settings = settings_for(server)  # two connections; dispatch.max_policy_rejections = 5
    report = run(engine, settings, clock)
    campaign = campaign_row(engine)
    assert campaign.state is CampaignState.PAUSED
    assert report.paused == {campaign.id}
    assert campaign.pause_reason == (
        "paused after 5 policy rejections in a row (the server refuses our mail, not these "
        "recipients: settle it with the relay or the receiving provider, then resume the "
        "campaign; the held letters go then); last: 554 5.7.1 Message rejected as spam"
    )
    assert len(attempts(engine)) == 5
    assert Counter(letter.state for letter in letters(engine)) == {
        LetterState.DEFERRED: 5,
        LetterState.QUEUED: 34,
    }
    assert server.messages == []
    server.recover()
    clock.advance(hours=1)
    resume(engine)
    run(engine, settings, clock)
    assert [letter.state for letter in letters(engine)] == [LetterState.SENT] * 39
    received = [m.message_id for m in server.messages]
    assert sorted(received) == sorted(letter.message_id for letter in letters(engine))
    assert campaign_row(engine).state is CampaignState.FINISHED


def test_a_policy_rejection_neither_starts_nor_spends_the_retry_deadline(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 1)
    server.script(Fault("rcpt", reply=SPAM), Fault("rcpt", reply="451 4.3.0 Try again later"))
    run(engine, settings_for(server), clock)
    [held] = letters(engine)
    assert (held.state, held.deadline, held.last_error) == (LetterState.DEFERRED, None, SPAM)
    clock.advance(days=4)  # past dispatch.retry_hours (72) after that first attempt
    run(engine, settings_for(server), clock)
    [retried] = letters(engine)
    assert retried.state is LetterState.DEFERRED  # a temporary failure now starts the deadline
    assert retried.deadline == clock.now + dt.timedelta(hours=72)


def test_policy_rejections_pause_at_their_own_limit(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 10)
    server.always(Fault("rcpt", reply="550 Rejected: sending host is on our block list"))
    run(engine, settings_for(server, dispatch={"max_policy_rejections": 2}), clock)
    assert campaign_row(engine).state is CampaignState.PAUSED
    assert len(attempts(engine)) == 2


def test_a_mailbox_refusal_between_policy_rejections_starts_the_run_again(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 4)
    server.script(
        Fault("rcpt", reply=SPAM),
        Fault("rcpt", reply="550 5.1.1 No such user"),
        Fault("rcpt", reply=SPAM),
    )
    settings = settings_for(server, dispatch={"max_policy_rejections": 2, "connections": 1})
    run(engine, settings, clock)
    assert [letter.state for letter in letters(engine)] == [
        LetterState.DEFERRED,
        LetterState.FAILED,  # 5.1.1 stays the recipient's: failed, as before
        LetterState.DEFERRED,
        LetterState.SENT,
    ]
    assert campaign_row(engine).state is CampaignState.RUNNING


def test_a_letter_refused_for_policy_again_and_again_while_others_go_fails_in_the_end(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(engine, factory.campaign(engine), 3)
    denied = "550 5.7.1 <person.r0@example.org>: Recipient address rejected: Access denied"
    server.fail_address("person.r0@example.org", Fault("rcpt", reply=denied))
    settings = settings_for(server, dispatch={"max_policy_rejections": 2, "connections": 1})
    run(engine, settings, clock)
    assert [letter.state for letter in letters(engine)] == [
        LetterState.DEFERRED,
        LetterState.SENT,
        LetterState.SENT,
    ]
    clock.advance(hours=1)
    run(engine, settings, clock)
    [refused, *_] = letters(engine)
    assert (refused.state, refused.reason) == (
        LetterState.FAILED,
        f"refused 2 times, the last for a policy reason: {denied[4:]}",
    )
    assert campaign_row(engine).state is CampaignState.FINISHED
