"""The follow-up planner: reads each thread's state, applies the rule, creates follow-up letters."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from outreach.audit import record_event
from outreach.calendar import CalendarError, RecipientCalendar, parse_window
from outreach.campaign import closed_of
from outreach.config import Settings
from outreach.db import session_scope
from outreach.errors import InputError, LetterError, OutreachError
from outreach.followup import (
    ANSWERABLE,
    CONFIRMED,
    Answers,
    Decision,
    Head,
    StepRule,
    Verdict,
    decide,
)
from outreach.letter import Composer, FollowUp
from outreach.message import domain_of, new_message_id, new_token
from outreach.models import (
    EFFECTIVE,
    Campaign,
    CampaignState,
    InboundKind,
    InboundMessage,
    LetterState,
    MatchStrength,
    Position,
    Recipient,
    Suppression,
)
from outreach.models import Letter as LetterRow
from outreach.recipients.table import to_record
from outreach.steps import rules_of, steps_of
from outreach.suppression import address_hash

log = logging.getLogger(__name__)

ACTOR = "planner"
# Campaigns whose threads may still take follow-ups (a finished one reopens when one is made).
PLANNED_STATES = (CampaignState.APPROVED, CampaignState.RUNNING, CampaignState.FINISHED)
L = LetterRow.__table__  # type: ignore[attr-defined]
THREAD = sa.func.coalesce(L.c.thread_id, L.c.id)


@dataclass(frozen=True, slots=True)
class PlanReport:
    """What one planner run over a campaign did."""

    created: int = 0
    skipped: int = 0  # follow-ups that could not be made (recorded as skipped letters)


def gather_answers(session: Session, campaign_id: int) -> dict[int, Answers]:
    """Per thread of the campaign: replies, their coding and out-of-office dates (one pass each)."""
    inbound = InboundMessage.__table__  # type: ignore[attr-defined]
    position = Position.__table__  # type: ignore[attr-defined]
    joined = inbound.join(L, L.c.id == inbound.c.letter_id)
    coded = sa.exists().where(position.c.inbound_id == inbound.c.id)
    counted = inbound.c.match_strength.in_([strength.value for strength in EFFECTIVE])
    replies = session.execute(
        sa.select(
            THREAD.label("thread"),
            sa.func.count(),
            sa.func.sum(sa.case((coded, 0), else_=1)),
            sa.func.max(inbound.c.received_at),
        )
        .select_from(joined)
        .where(
            L.c.campaign_id == campaign_id,
            inbound.c.kind == InboundKind.REPLY.value,
            inbound.c.quarantined.is_(False),
            counted,
        )
        .group_by(THREAD)
    ).all()
    # Mail matched for review has no effect, but a person should look before a follow-up goes:
    # it may be the recipient's answer from an address not yet trusted.
    unconfirmed: dict[int, int] = {
        thread: int(number)
        for thread, number in session.execute(
            sa.select(THREAD, sa.func.count())
            .select_from(joined)
            .where(
                L.c.campaign_id == campaign_id,
                inbound.c.match_strength == MatchStrength.FOR_REVIEW.value,
                inbound.c.kind == InboundKind.REPLY.value,
            )
            .group_by(THREAD)
        )
    }
    confirmed: dict[int, set[str]] = {}
    for thread, key in session.execute(
        sa.select(THREAD, position.c.demand_key)
        .select_from(position.join(L, L.c.id == position.c.letter_id))
        .where(
            L.c.campaign_id == campaign_id,
            position.c.current.is_(True),
            position.c.stance.in_([stance.value for stance in CONFIRMED]),
        )
        .distinct()
    ):
        confirmed.setdefault(thread, set()).add(key)
    returns: dict[int, object] = dict(
        session.execute(
            sa.select(THREAD, sa.func.max(inbound.c.return_date))
            .select_from(joined)
            .where(
                L.c.campaign_id == campaign_id,
                inbound.c.kind == InboundKind.AUTO_REPLY.value,
                inbound.c.return_date.is_not(None),
                counted,
            )
            .group_by(THREAD)
        ).all()
    )
    answers: dict[int, Answers] = {}
    for thread in {*(row[0] for row in replies), *confirmed, *returns, *unconfirmed}:
        answers[thread] = Answers(
            return_date=as_date(returns.get(thread)), unconfirmed=unconfirmed.get(thread, 0)
        )
    for thread, count, uncoded, last in replies:
        answers[thread] = Answers(
            replies=int(count),
            uncoded=int(uncoded or 0),
            last_reply_at=as_utc(last),
            confirmed=frozenset(confirmed.get(thread, ())),
            return_date=as_date(returns.get(thread)),
            unconfirmed=unconfirmed.get(thread, 0),
        )
    return answers


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A database timestamp as aware UTC (SQLite returns aggregates naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def as_date(value: object) -> dt.date | None:
    """A date from a database aggregate (SQLite returns text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def iter_heads(
    session: Session, campaign_id: int, *, answerable_only: bool = False
) -> Iterator[Head]:
    """The latest letter of each thread of the campaign (streamed), with its recipient."""
    child = L.alias("child")
    suppressed = sa.exists().where(col(Suppression.address_hash) == col(LetterRow.address_hash))
    query = (
        select(LetterRow, Recipient, suppressed)
        .outerjoin(Recipient, col(Recipient.id) == col(LetterRow.recipient_id))
        .where(
            col(LetterRow.campaign_id) == campaign_id,
            ~sa.exists().where(child.c.parent_id == LetterRow.id),
        )
        .order_by(col(LetterRow.recipient_key), col(LetterRow.step))
    )
    if answerable_only:
        query = query.where(col(LetterRow.state).in_(ANSWERABLE))
    for letter, recipient, is_suppressed in session.exec(query.execution_options(yield_per=500)):
        assert letter.id is not None
        yield Head(
            letter_id=letter.id,
            thread_id=letter.thread_id or letter.id,
            step=letter.step,
            state=LetterState(letter.state),
            reason=letter.reason,
            sent_at=letter.sent_at,
            language=letter.language,
            demand_keys=tuple(key for key in letter.demand_keys.split("|") if key),
            recipient_key=letter.recipient_key,
            recipient=to_record(recipient) if recipient is not None else None,
            suppressed=bool(is_suppressed),
        )


def calendar_of(head: Head, campaign: Campaign) -> RecipientCalendar | None:
    """The recipient's calendar with the campaign's closed dates, None if it cannot be built."""
    if head.recipient is None:
        return None
    try:
        recipient = head.recipient
        return RecipientCalendar(
            recipient.tz, recipient.host_country, closed_of(campaign), every_day=campaign.every_day
        )
    except CalendarError:
        return None


def decisions(
    session: Session, campaign: Campaign, now: dt.datetime, *, answerable_only: bool = False
) -> Iterator[tuple[Head, Decision]]:
    """The rule applied to every thread of the campaign."""
    assert campaign.id is not None
    rules = rules_of(steps_of(session, campaign.id))
    answers = gather_answers(session, campaign.id)
    window = parse_window(campaign.window)
    for head in iter_heads(session, campaign.id, answerable_only=answerable_only):
        found = answers.get(head.thread_id, Answers())
        try:
            decision = decide(head, found, rules, calendar_of(head, campaign), window, now)
        except CalendarError as exc:
            decision = Decision(Verdict.NONE, head.step + 1, f"calendar: {exc}")
        yield head, decision


def plan_campaign(
    session: Session, campaign: Campaign, composer: Composer, now: dt.datetime
) -> PlanReport:
    """Create every follow-up that is due now; running it twice creates nothing twice."""
    if campaign.state not in PLANNED_STATES:
        return PlanReport()
    rules = rules_of(steps_of(session, campaign.id))
    if not any(rule.approved for rule in rules.values()):
        return PlanReport()
    # Collected first: the stream's cursor is closed before the inserts begin.
    due = [
        (head, decision)
        for head, decision in decisions(session, campaign, now, answerable_only=True)
        if decision.verdict is Verdict.DUE
    ]
    created = skipped = 0
    for head, decision in due:
        made = create_follow_up(session, campaign, composer, head, decision, rules, now)
        if made is LetterState.QUEUED:
            created += 1
        elif made is LetterState.SKIPPED:
            skipped += 1
    if created:
        # A finished campaign has letters to send again.
        session.execute(
            sa.update(Campaign)
            .where(col(Campaign.id) == campaign.id, col(Campaign.state) == CampaignState.FINISHED)
            .values(state=CampaignState.RUNNING)
        )
    if created or skipped:
        record_event(
            session, ACTOR, "campaign.followups", campaign.name, created=created, skipped=skipped
        )
    return PlanReport(created, skipped)


def create_follow_up(
    session: Session,
    campaign: Campaign,
    composer: Composer,
    head: Head,
    decision: Decision,
    rules: dict[int, StepRule],
    now: dt.datetime,
) -> LetterState | None:
    """Insert the follow-up of `head` (or a skipped row saying why it cannot be made).

    The unique parent_id makes a second planner, here or in another process, fail to insert
    the same follow-up: it is then left alone (None).
    """
    assert head.recipient is not None
    assert decision.send_after is not None
    thread = list(
        session.exec(
            select(LetterRow)
            .where((col(LetterRow.id) == head.thread_id) | (LetterRow.thread_id == head.thread_id))
            .where(col(LetterRow.step) <= head.step)
            .order_by(col(LetterRow.step))
        ).all()
    )
    first = thread[0]
    follow_up = FollowUp(
        step=decision.step,
        template=rules[decision.step].template,
        demand_keys=decision.demand_keys,
        in_reply_to=thread[-1].message_id,
        references=tuple(letter.message_id for letter in thread),
        original_subject=first.subject,
        original_sent=first.sent_at or first.send_after,
    )
    values: dict[str, object] = {
        "campaign_id": campaign.id,
        "appeal_slug": campaign.appeal_slug,
        "recipient_id": thread[-1].recipient_id,
        "recipient_key": head.recipient_key,
        "step": decision.step,
        "parent_id": head.letter_id,
        "thread_id": head.thread_id,
        "send_after": decision.send_after,
        "due_at": decision.send_after,
        "created_at": now,
        "updated_at": now,
    }
    try:
        letter = composer.compose(
            head.recipient, language=head.language, date=decision.send_after, follow_up=follow_up
        )
    except (LetterError, InputError) as exc:
        state = LetterState.SKIPPED
        email = head.recipient.email or ""
        values.update(
            to_address=email,
            address_hash=address_hash(email) if email else "",
            domain=domain_of(email).lower(),
            language=head.language,
            subject="",
            demand_keys="|".join(decision.demand_keys),
            token=new_token(),
            message_id=new_message_id("unsent.invalid"),
            mime=b"",
            state=state.value,
            reason=str(exc)[:1000],
        )
    else:
        state = LetterState.QUEUED
        values.update(
            to_address=letter.to_address,
            address_hash=address_hash(letter.to_address),
            domain=domain_of(letter.to_address).lower(),
            language=letter.language,
            subject=letter.subject,
            demand_keys="|".join(letter.demand_keys),
            token=letter.token,
            message_id=letter.message_id,
            mime=letter.mime,
            state=state.value,
            reason=None,
        )
    try:
        with session.begin_nested():
            session.execute(sa.insert(LetterRow).values(**values))
    except IntegrityError:
        return None
    return state


def plan_all(engine: Engine, settings: Settings, now: dt.datetime) -> dict[str, PlanReport]:
    """Plan follow-ups in every campaign that has approved steps, one transaction each."""
    with session_scope(engine, write=False) as session:
        names = list(
            session.exec(select(Campaign.name).where(col(Campaign.state).in_(PLANNED_STATES))).all()
        )
    reports: dict[str, PlanReport] = {}
    for name in names:
        try:
            with session_scope(engine) as session:
                campaign = session.exec(select(Campaign).where(Campaign.name == name)).one()
                if not steps_of(session, campaign.id):
                    continue
                composer = Composer.load(settings, campaign.appeal_slug)
                reports[name] = plan_campaign(session, campaign, composer, now)
        except OutreachError as exc:  # one campaign's broken templates must not stop the others
            log.error("follow-ups of %s not planned: %s", name, exc)
    return reports
