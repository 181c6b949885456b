"""Follow-ups seen before they go: each step rendered for a first letter, as the planner would."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from outreach.calendar import (
    CalendarError,
    RecipientCalendar,
    SendWindow,
    parse_closed,
    parse_window,
)
from outreach.errors import InputError, LetterError
from outreach.letter import Composer, FollowUp, Letter
from outreach.models import Campaign, FollowUpStep, Recipient
from outreach.models import Letter as LetterRow
from outreach.recipients.record import RecipientRecord
from outreach.recipients.table import to_record


@dataclass(frozen=True, slots=True)
class Thread:
    """A first letter that follow-ups would answer, and the campaign's calendar for it."""

    recipient: RecipientRecord
    language: str
    subject: str
    message_id: str
    sent: dt.datetime  # when it leaves (or left)
    demand_keys: tuple[str, ...]

    @classmethod
    def of_letter(cls, recipient: RecipientRecord, letter: Letter, sent: dt.datetime) -> Thread:
        """The thread a first letter, made but not yet stored, would begin."""
        return cls(
            recipient,
            letter.language,
            letter.subject,
            letter.message_id,
            sent,
            letter.demand_keys,
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    """The campaign's sending rules that date a follow-up."""

    window: SendWindow
    closed: frozenset[dt.date]
    every_day: bool

    @classmethod
    def of(cls, campaign: Campaign) -> Schedule:
        """The campaign's window, closed dates and every-day setting."""
        return cls(
            parse_window(campaign.window), parse_closed(campaign.closed_dates), campaign.every_day
        )


@dataclass(frozen=True, slots=True)
class StepSample:
    """One step rendered for one thread, or why it cannot be."""

    step: int
    after_days: int
    language: str
    recipient_key: str
    letter: Letter | None
    problem: str | None

    def describe(self) -> str:
        """The problem as a line naming the recipient and the step."""
        return f"{self.recipient_key}: follow-up {self.step} in {self.language}: {self.problem}"


def render_thread(
    composer: Composer, steps: list[FollowUpStep], thread: Thread, schedule: Schedule
) -> Iterator[StepSample]:
    """Every step for one thread, each answering the previous, when it would leave.

    Assumes nothing was answered: each follow-up re-asks every demand of the first letter (the
    longest it can be). Dated as the planner dates them: the working days after the previous
    letter on the recipient's calendar, then the first moment inside the window.
    """
    recipient = thread.recipient
    references = [thread.message_id]
    previous = thread.sent
    for step in steps:
        try:
            calendar = RecipientCalendar(
                recipient.tz, recipient.host_country, schedule.closed, every_day=schedule.every_day
            )
            day = calendar.add_working_days(previous, step.after_days)
            when = calendar.next_send_time(calendar.start_of_day(day), schedule.window)
            letter = composer.compose(
                recipient,
                language=thread.language,
                date=when,
                follow_up=FollowUp(
                    step=step.number,
                    template=step.template,
                    demand_keys=thread.demand_keys,
                    in_reply_to=references[-1],
                    references=tuple(references),
                    original_subject=thread.subject,
                    original_sent=thread.sent,
                ),
            )
        except (LetterError, InputError, CalendarError) as exc:
            yield StepSample(
                step.number, step.after_days, thread.language, recipient.key, None, str(exc)
            )
            continue
        references.append(letter.message_id)
        previous = when
        yield StepSample(step.number, step.after_days, thread.language, recipient.key, letter, None)


def step_samples(
    composer: Composer,
    steps: list[FollowUpStep],
    threads: Iterable[Thread],
    schedule: Schedule,
) -> list[StepSample]:
    """One sample per language of each step (from the first thread in that language)."""
    samples: list[StepSample] = []
    languages: set[str] = set()
    for thread in threads:
        if thread.language in languages:
            continue
        languages.add(thread.language)
        samples.extend(render_thread(composer, steps, thread, schedule))
    return sorted(samples, key=lambda sample: (sample.step, sample.language))


def first_threads(session: Session, campaign: Campaign) -> Iterator[Thread]:
    """The campaign's first letter in each language, as threads (for samples of its steps)."""
    firsts = (
        sa.select(sa.func.min(col(LetterRow.id)))
        .where(
            col(LetterRow.campaign_id) == campaign.id,
            col(LetterRow.step) == 0,
            col(LetterRow.mime) != b"",
        )
        .group_by(col(LetterRow.language))
    )
    rows = session.exec(
        select(LetterRow, Recipient)
        .join(Recipient, col(Recipient.id) == col(LetterRow.recipient_id))
        .where(col(LetterRow.id).in_(firsts))
        .order_by(col(LetterRow.language))
    )
    for letter, recipient in rows:
        yield Thread(
            recipient=to_record(recipient),
            language=letter.language,
            subject=letter.subject,
            message_id=letter.message_id,
            sent=letter.sent_at or letter.send_after,
            demand_keys=tuple(key for key in letter.demand_keys.split("|") if key),
        )
