"""Follow-ups: after N working days on each recipient's calendar, re-asking only what is open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.campaign import get_campaign
from outreach.db import session_scope
from outreach.errors import InputError
from outreach.followup import parse_after
from outreach.followup_listing import follow_up_rows
from outreach.inbox.manual import reject_match
from outreach.letter import Composer
from outreach.models import (
    AuditEvent,
    Campaign,
    CampaignState,
    LetterState,
    MatchStrength,
    Recipient,
    RecipientStatus,
    SuppressionSource,
)
from outreach.planner import create_follow_up, decisions
from outreach.reports.data import build_report, funnel, matrix, median_days_to_reply, positions
from outreach.reports.scope import Scope
from outreach.steps import approve_steps, declare_steps, rules_of, steps_of
from outreach.suppression import suppress
from tests.followup_scene import (
    DEMANDS,
    NAME,
    SENT,
    bounce,
    campaign_sent,
    code,
    follow_ups,
    letter_of,
    mark_sent,
    out_of_office,
    parsed,
    plan,
    receive,
    reply,
    settings,
)

SECOND = dt.timedelta(seconds=1)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def rows(engine: Engine, at: dt.datetime) -> list[tuple[str, int, str, str]]:
    with session_scope(engine, write=False) as session:
        campaign = get_campaign(session, NAME)
        return [
            (row.recipient_key, row.step, row.status, row.reason)
            for row in follow_up_rows(session, campaign, at)
        ]


# Sent Thursday 30 April 2026. Ten working days later, on each calendar:
# New York: no holiday → Thursday 14 May; window opens 09:00 EDT = 13:00 UTC.
# Brussels: Labour Day (1 May) and Ascension (14 May) skipped → Monday 18 May, 07:00 UTC.
# Tokyo: Greenery Day, Children's Day, the substitute holiday (4-6 May) skipped → Tuesday 19 May,
# 09:00 JST = 00:00 UTC.
@pytest.mark.parametrize(
    ("key", "local_midnight", "send_after"),
    [
        ("emb-fr-us", utc(2026, 5, 14, 4), utc(2026, 5, 14, 13)),
        ("emb-nl-be", utc(2026, 5, 17, 22), utc(2026, 5, 18, 7)),
        ("emb-de-jp", utc(2026, 5, 18, 15), utc(2026, 5, 19, 0)),
    ],
)
def test_no_reply_gets_one_follow_up_exactly_ten_working_days_later_in_its_window(
    engine: Engine, tmp_path: Path, key: str, local_midnight: dt.datetime, send_after: dt.datetime
) -> None:
    campaign_sent(engine, tmp_path)
    plan(engine, local_midnight - SECOND)
    assert key not in {letter.recipient_key for letter in follow_ups(engine)}
    plan(engine, local_midnight)
    made = [letter for letter in follow_ups(engine) if letter.recipient_key == key]
    assert [(f.step, f.state, f.send_after) for f in made] == [(1, LetterState.QUEUED, send_after)]


def test_the_follow_up_answers_the_letter_in_its_thread_with_a_re_subject(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    plan(engine, utc(2026, 5, 14, 4))
    first = letter_of(engine, "emb-fr-us")
    follow_up = letter_of(engine, "emb-fr-us", step=1)
    message = parsed(follow_up)
    assert message["Subject"] == f"Re: {first.subject}"
    assert message["In-Reply-To"] == first.message_id
    assert message["References"] == first.message_id
    assert message["Message-ID"] == follow_up.message_id != first.message_id
    assert message["X-Outreach-Ref"] == follow_up.token != first.token
    assert message["Reply-To"] == f"appeal+{follow_up.token}@outreach.example.org"
    assert (follow_up.parent_id, follow_up.thread_id) == (first.id, first.id)


def test_without_a_reply_the_follow_up_names_every_demand_asked(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    plan(engine, utc(2026, 5, 14, 4))
    follow_up = letter_of(engine, "emb-fr-us", step=1)
    assert follow_up.demand_keys == "|".join(DEMANDS)
    body = parsed(follow_up).get_body(("plain",))
    assert body is not None
    assert "our letter of 30 April 2026" in body.get_content()


def test_a_reply_coding_two_of_three_demands_gets_a_follow_up_naming_only_the_third(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-fr-us")
    answer = receive(engine, reply(first, "We support the first two points."), utc(2026, 5, 4, 8))
    assert answer.id is not None
    code(engine, answer.id, {"un-fact-finding": "supports", "icj-order": "declines"}, SENT)
    plan(engine, utc(2026, 5, 18, 4))  # ten working days after the reply of Monday 4 May
    follow_up = letter_of(engine, "emb-fr-us", step=1)
    assert follow_up.demand_keys == "accountability"
    text = parsed(follow_up).get_body(("plain",))
    assert text is not None
    content = text.get_content()
    appeal = Composer.load(settings()).appeal
    texts = {demand.key: demand.text["en"] for demand in appeal.demands}
    assert texts["accountability"] in content
    assert texts["un-fact-finding"] not in content
    assert texts["icj-order"] not in content


def test_after_a_reply_the_working_days_count_from_the_reply(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-fr-us")
    answer = receive(engine, reply(first, "We support the first point."), utc(2026, 5, 4, 8))
    assert answer.id is not None
    code(engine, answer.id, {"un-fact-finding": "supports"}, SENT)
    plan(engine, utc(2026, 5, 18, 4) - SECOND)  # 14 May would be ten days after the letter
    assert "emb-fr-us" not in {f.recipient_key for f in follow_ups(engine)}
    plan(engine, utc(2026, 5, 18, 4))  # Monday 18 May: ten working days after Monday 4 May
    assert letter_of(engine, "emb-fr-us", step=1).send_after == utc(2026, 5, 18, 13)


def test_a_noncommittal_answer_leaves_the_demand_to_be_asked_again(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-fr-us")
    answer = receive(engine, reply(first, "We have taken note."), utc(2026, 5, 1, 8))
    assert answer.id is not None
    stances = {
        "un-fact-finding": "supports",
        "icj-order": "commits",
        "accountability": "noncommittal",
    }
    code(engine, answer.id, stances, SENT)
    plan(engine, utc(2026, 5, 18, 4))
    assert letter_of(engine, "emb-fr-us", step=1).demand_keys == "accountability"


def test_a_reply_with_a_position_on_every_demand_gets_no_follow_up(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-fr-us")
    answer = receive(engine, reply(first, "We support all three."), utc(2026, 5, 4, 8))
    assert answer.id is not None
    code(engine, answer.id, dict.fromkeys(DEMANDS, "supports"), SENT)
    plan(engine, utc(2026, 6, 30))
    assert [f.recipient_key for f in follow_ups(engine)] == ["emb-de-jp", "emb-nl-be"]
    assert ("emb-fr-us", 1, "skipped", "every demand asked has a confirmed position") in rows(
        engine, utc(2026, 6, 30)
    )


def test_a_reply_not_yet_coded_holds_the_follow_up_back(engine: Engine, tmp_path: Path) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-fr-us")
    receive(engine, reply(first, "Thank you, we will reply."), utc(2026, 5, 4, 8))
    plan(engine, utc(2026, 6, 30))
    assert "emb-fr-us" not in {f.recipient_key for f in follow_ups(engine)}
    waiting = [row for row in rows(engine, utc(2026, 6, 30)) if row[0] == "emb-fr-us"]
    assert [row[:3] for row in waiting] == [("emb-fr-us", 1, "waiting")]
    assert waiting[0][3].startswith("1 reply(ies) not coded yet")


def test_a_stranger_s_reply_holds_the_follow_up_for_review_and_once_rejected_answers_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-fr-us")
    forged = reply(first, "We decline every demand.").replace(
        f"From: Ambassador <{first.to_address}>".encode(), b"From: Ministry <press@example.net>"
    )
    answer = receive(engine, forged, utc(2026, 5, 4, 8))
    assert answer.id is not None
    assert answer.match_strength is MatchStrength.FOR_REVIEW
    plan(engine, utc(2026, 6, 30))
    assert "emb-fr-us" not in {f.recipient_key for f in follow_ups(engine)}
    waiting = [row for row in rows(engine, utc(2026, 6, 30)) if row[0] == "emb-fr-us"]
    assert [row[:3] for row in waiting] == [("emb-fr-us", 1, "waiting")]
    assert waiting[0][3].startswith("1 reply(ies) matched for review: confirm or reject them")
    with session_scope(engine) as session:
        reject_match(session, answer.id, actor="staff", now=utc(2026, 6, 30))
    plan(engine, utc(2026, 6, 30))
    assert "emb-fr-us" in {f.recipient_key for f in follow_ups(engine)}


def test_a_permanent_bounce_gets_no_follow_up(engine: Engine, tmp_path: Path) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-fr-us")
    receive(engine, bounce(first), utc(2026, 4, 30, 8, 1))
    assert letter_of(engine, "emb-fr-us").state is LetterState.BOUNCED
    plan(engine, utc(2026, 6, 30))
    assert "emb-fr-us" not in {f.recipient_key for f in follow_ups(engine)}
    assert ("emb-fr-us", 1, "skipped", "the letter bounced") in rows(engine, utc(2026, 6, 30))


def test_a_suppressed_address_gets_no_follow_up(engine: Engine, tmp_path: Path) -> None:
    campaign_sent(engine, tmp_path)
    with session_scope(engine) as session:
        suppress(
            session,
            "ambassador.fr-us@example.org",
            reason="asked not to be written to",
            source=SuppressionSource.REQUEST,
            actor="staff",
        )
    plan(engine, utc(2026, 6, 30))
    assert "emb-fr-us" not in {f.recipient_key for f in follow_ups(engine)}
    assert ("emb-fr-us", 1, "skipped", "the address is suppressed") in rows(
        engine, utc(2026, 6, 30)
    )


def test_a_recipient_marked_do_not_contact_gets_no_follow_up(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    with engine.begin() as connection:
        connection.execute(
            sa.update(Recipient)
            .where(Recipient.key == "emb-fr-us")  # type: ignore[arg-type]
            .values(status=RecipientStatus.DO_NOT_CONTACT)
        )
    plan(engine, utc(2026, 6, 30))
    assert "emb-fr-us" not in {f.recipient_key for f in follow_ups(engine)}
    assert ("emb-fr-us", 1, "skipped", "the recipient is do_not_contact") in rows(
        engine, utc(2026, 6, 30)
    )


# Brussels is due on Monday 18 May; the ambassador is away until Friday 22 May. Monday 25 May
# is Whit Monday in Belgium, so the follow-up waits until Tuesday 26 May, 09:00 CEST.
def test_out_of_office_until_a_date_delays_the_follow_up_until_after_it(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-nl-be")
    away = receive(
        engine,
        out_of_office(first, "I am out of the office until 22 May 2026 with limited access."),
        utc(2026, 4, 30, 8, 5),
    )
    assert away.return_date == dt.date(2026, 5, 22)
    plan(engine, utc(2026, 5, 25, 22) - SECOND)
    assert "emb-nl-be" not in {f.recipient_key for f in follow_ups(engine)}
    plan(engine, utc(2026, 5, 25, 22))
    assert letter_of(engine, "emb-nl-be", step=1).send_after == utc(2026, 5, 26, 7)


def test_an_auto_reply_without_a_return_date_neither_answers_nor_delays(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-nl-be")
    receive(engine, out_of_office(first, "Your message has been received."), utc(2026, 4, 30, 9))
    plan(engine, utc(2026, 5, 17, 22))
    follow_up = letter_of(engine, "emb-nl-be", step=1)
    assert (follow_up.send_after, follow_up.demand_keys) == (utc(2026, 5, 18, 7), "|".join(DEMANDS))


def test_the_second_follow_up_answers_the_first_and_names_the_whole_thread(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path, steps=2, after=5)
    plan(engine, utc(2026, 5, 8, 4))  # New York's first follow-up is due from Thursday 7 May
    first, second = letter_of(engine, "emb-fr-us"), letter_of(engine, "emb-fr-us", step=1)
    mark_sent(engine, step=1, at=utc(2026, 5, 8, 13))
    plan(engine, utc(2026, 5, 15, 4))  # 5 working days after Friday 8 May
    third = letter_of(engine, "emb-fr-us", step=2)
    message = parsed(third)
    assert message["In-Reply-To"] == second.message_id
    assert message["References"] == f"{first.message_id} {second.message_id}"
    assert message["Subject"] == f"Re: {first.subject}"
    assert (third.parent_id, third.thread_id) == (second.id, first.id)


def test_the_step_limit_is_honoured(engine: Engine, tmp_path: Path) -> None:
    campaign_sent(engine, tmp_path, steps=1, after=5)
    plan(engine, utc(2026, 5, 8, 4))
    mark_sent(engine, step=1, at=utc(2026, 5, 8, 13))
    plan(engine, utc(2026, 12, 31))
    assert [(f.recipient_key, f.step) for f in follow_ups(engine)] == [
        ("emb-de-jp", 1),
        ("emb-fr-us", 1),
        ("emb-nl-be", 1),
    ]
    assert ("emb-fr-us", 2, "skipped", "step limit reached (1 follow-up(s))") in rows(
        engine, utc(2026, 12, 31)
    )


def test_running_the_planner_twice_creates_nothing_twice(engine: Engine, tmp_path: Path) -> None:
    campaign_sent(engine, tmp_path)
    at = utc(2026, 6, 1)
    first, again = plan(engine, at), plan(engine, at)
    assert (first.created, again.created) == (3, 0)
    assert len(follow_ups(engine)) == 3


def test_a_thread_takes_one_follow_up_per_letter_even_when_planners_race(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    at = utc(2026, 6, 1)
    with session_scope(engine) as session:
        campaign = get_campaign(session, NAME)
        due = [
            pair
            for pair in decisions(session, campaign, at)
            if pair[0].recipient_key == "emb-fr-us"
        ]
        rules = rules_of(steps_of(session, campaign.id))
    head, decision = due[0]
    composer = Composer.load(settings())
    made = []
    for _ in range(2):  # two planners that both saw the thread without a follow-up
        with session_scope(engine) as session:
            campaign = get_campaign(session, NAME)
            made.append(create_follow_up(session, campaign, composer, head, decision, rules, at))
    assert made == [LetterState.QUEUED, None]
    assert len(follow_ups(engine)) == 1


def test_steps_declared_after_approval_wait_for_approval(engine: Engine, tmp_path: Path) -> None:
    campaign_sent(engine, tmp_path, declare=False)
    composer = Composer.load(settings())
    with session_scope(engine) as session:
        campaign = get_campaign(session, NAME)
        declare_steps(
            session, campaign, composer, after_days=10, template="followup", count=1, actor="staff"
        )
    assert plan(engine, utc(2026, 6, 1)).created == 0
    assert (
        "emb-fr-us",
        1,
        "waiting",
        "step 1 awaits approval (`outreach campaign approve`)",
    ) in rows(engine, utc(2026, 6, 1))
    with session_scope(engine) as session:
        campaign = get_campaign(session, NAME)
        assert approve_steps(session, campaign, composer, actor="approver", now=SENT) == 1
    assert plan(engine, utc(2026, 6, 1)).created == 3


def test_a_paused_campaign_plans_no_follow_up(engine: Engine, tmp_path: Path) -> None:
    campaign_sent(engine, tmp_path)
    with engine.begin() as connection:
        connection.execute(sa.update(Campaign).values(state=CampaignState.PAUSED))
    assert plan(engine, utc(2026, 6, 1)).created == 0


def test_a_finished_campaign_runs_again_when_follow_ups_are_made(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    with engine.begin() as connection:
        connection.execute(sa.update(Campaign).values(state=CampaignState.FINISHED))
    assert plan(engine, utc(2026, 6, 1)).created == 3
    with Session(engine) as session:
        assert session.exec(select(Campaign.state)).one() is CampaignState.RUNNING
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "campaign.followups"))
        assert [(e.actor, e.subject) for e in events] == [("planner", NAME)]


def test_withdrawing_the_steps_cancels_the_follow_ups_not_yet_sent(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    plan(engine, utc(2026, 6, 1))
    composer = Composer.load(settings())
    with session_scope(engine) as session:
        campaign = get_campaign(session, NAME)
        declare_steps(
            session, campaign, composer, after_days=10, template="followup", count=0, actor="staff"
        )
    assert {(f.state, f.reason) for f in follow_ups(engine)} == {
        (LetterState.CANCELLED, "follow-ups withdrawn")
    }


@pytest.mark.parametrize(
    ("text", "days"),
    [("10 working days", 10), ("1 working day", 1), ("3", 3), (" 5 Working Days ", 5)],
)
def test_the_delay_is_read_in_working_days(text: str, days: int) -> None:
    assert parse_after(text) == days


@pytest.mark.parametrize("text", ["ten working days", "10 days", "0", "2 weeks", "261"])
def test_a_delay_that_is_not_working_days_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(
        InputError, match=r'give a number of working days from 1 to 260, e\.g\. "10'
    ):
        parse_after(text)


def test_the_report_counts_a_reply_to_a_follow_up_for_its_recipient_once(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    plan(engine, utc(2026, 5, 14, 4))
    mark_sent(engine, step=1, at=utc(2026, 5, 14, 13))
    follow_up = letter_of(engine, "emb-fr-us", step=1)
    answer = receive(engine, reply(follow_up, "We support the call."), utc(2026, 5, 15, 8))
    assert answer.id is not None
    code(engine, answer.id, {"accountability": "supports"}, utc(2026, 5, 15, 9))
    with session_scope(engine, write=False) as session:
        report = build_report(session, get_campaign(session, NAME), now=utc(2026, 5, 20))
    total = report.funnel[0].counts
    assert (total["created"], total["sent"], total["replied"]) == (3, 3, 1)
    row = next(row for row in report.matrix if row.recipient == "emb-fr-us")
    assert row.cells["accountability"].stance == "supports"
    assert row.cells["icj-order"].status == "uncoded"
    assert "emb-fr-us" not in {silent.recipient for silent in report.silent}
    assert sum(day.sent for day in report.timeline) == 4  # three letters and one follow-up


def test_without_follow_ups_the_report_reads_the_same_with_the_simpler_queries(
    engine: Engine, tmp_path: Path
) -> None:
    campaign_sent(engine, tmp_path)
    first = letter_of(engine, "emb-fr-us")
    answer = receive(engine, reply(first, "We support the first point."), utc(2026, 5, 4, 8))
    assert answer.id is not None
    code(engine, answer.id, {"un-fact-finding": "supports"}, SENT)
    receive(engine, out_of_office(letter_of(engine, "emb-nl-be"), "Away until 22 May 2026."), SENT)
    with session_scope(engine, write=False) as session:
        campaign_id = get_campaign(session, NAME).id
        assert campaign_id is not None
        figures = []
        for follow_ups in (True, False):
            scope = Scope(campaign_id, [], follow_ups=follow_ups)
            figures.append(
                (
                    funnel(session, scope),
                    positions(session, scope, list(DEMANDS)),
                    matrix(session, scope, list(DEMANDS)),
                    median_days_to_reply(session, scope),
                )
            )
    assert figures[0] == figures[1]
    assert figures[0][0][0].counts["replied"] == 1
