"""The follow-up rule: from what came back, whether and when a recipient is due a follow-up."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from outreach.calendar import RecipientCalendar, SendWindow
from outreach.errors import InputError
from outreach.models import LetterState, Stance
from outreach.recipients.record import RecipientRecord, RecipientStatus

AFTER = re.compile(r"^\s*(\d{1,3})\s*(?:working\s+days?)?\s*$", re.IGNORECASE)
MAX_AFTER = 260  # about a year of working days
MAX_STEPS = 5
# A demand has a confirmed position once a reply takes one: for, a promise to act, or against.
# "noncommittal" ("we have taken note") and "not_addressed" leave it open, so it is re-asked.
CONFIRMED = frozenset({Stance.SUPPORTS, Stance.COMMITS, Stance.DECLINES})
ANSWERABLE = (LetterState.SENT, LetterState.REPLIED)
NOT_YET_SENT = (LetterState.QUEUED, LetterState.CLAIMED, LetterState.SENDING, LetterState.DEFERRED)


def parse_after(text: str) -> int:
    """Working days from "10 working days", "1 working day" or "10"; 1 to 260."""
    match = AFTER.match(text)
    if match is None or not 1 <= int(match[1]) <= MAX_AFTER:
        raise InputError(
            f'--after {text!r}: give a number of working days from 1 to {MAX_AFTER}, e.g. "10 '
            "working days\" (counted on each recipient's calendar: weekends and public holidays "
            "are skipped)"
        )
    return int(match[1])


@dataclass(frozen=True, slots=True)
class StepRule:
    """One declared follow-up step, as the rule needs it."""

    number: int
    after_days: int
    template: str
    approved: bool


@dataclass(frozen=True, slots=True)
class Head:
    """The latest letter of one recipient's thread in a campaign: what a follow-up would answer."""

    letter_id: int
    thread_id: int  # the thread's first letter (the head itself at step 0)
    step: int
    state: LetterState
    reason: str | None
    sent_at: dt.datetime | None
    language: str
    demand_keys: tuple[str, ...]  # the demands this letter asked
    recipient_key: str
    recipient: RecipientRecord | None  # None once the recipient was erased
    suppressed: bool


@dataclass(frozen=True, slots=True)
class Answers:
    """What came back from one thread: replies, their coding, and out-of-office return dates."""

    replies: int = 0
    uncoded: int = 0  # replies with no position recorded yet
    last_reply_at: dt.datetime | None = None
    confirmed: frozenset[str] = frozenset()  # demands with a confirmed position
    return_date: dt.date | None = None  # the latest return date an auto-reply gave
    unconfirmed: int = 0  # replies matched for review, not yet confirmed or rejected


class Verdict(StrEnum):
    """What the rule says of a thread's next follow-up."""

    DUE = "due"  # make it now
    PLANNED = "planned"  # it will be due on `due_on` if nothing comes back before
    WAITING = "waiting"  # held back until something is done (coding, approval, resolution)
    NONE = "none"  # there will be none


@dataclass(frozen=True, slots=True)
class Decision:
    """The rule's answer for one thread, with its reason in words."""

    verdict: Verdict
    step: int
    reason: str
    due_on: dt.date | None = None  # the local date from which it may go
    send_after: dt.datetime | None = None  # for DUE: the first instant in the window
    demand_keys: tuple[str, ...] = field(default=())  # the demands it would re-ask


def decide(
    head: Head,
    answers: Answers,
    steps: Mapping[int, StepRule],
    calendar: RecipientCalendar | None,
    window: SendWindow,
    now: dt.datetime,
) -> Decision:
    """Whether `head` gets its next follow-up now, later, after some action, or never."""
    number = head.step + 1

    def verdict(
        kind: Verdict,
        reason: str,
        due_on: dt.date | None = None,
        send_after: dt.datetime | None = None,
        demand_keys: tuple[str, ...] = (),
    ) -> Decision:
        return Decision(kind, number, reason, due_on, send_after, demand_keys)

    if head.state in NOT_YET_SENT:
        return verdict(Verdict.WAITING, "the letter has not been sent yet")
    if head.state is LetterState.UNKNOWN:
        return verdict(
            Verdict.WAITING,
            f"delivery of letter {head.letter_id} is unknown: settle it with "
            f"`outreach letters resolve {head.letter_id}`",
        )
    if head.state is LetterState.BOUNCED:
        return verdict(Verdict.NONE, "the letter bounced")
    if head.state not in ANSWERABLE:
        return verdict(Verdict.NONE, f"the letter was not sent ({head.state.value}: {head.reason})")
    step = steps.get(number)
    if step is None:
        if not steps:
            return verdict(Verdict.NONE, "the campaign declares no follow-up")
        return verdict(Verdict.NONE, f"step limit reached ({len(steps)} follow-up(s))")
    if head.recipient is None:
        return verdict(Verdict.NONE, "the recipient was erased")
    if head.recipient.status is not RecipientStatus.ACTIVE:
        return verdict(Verdict.NONE, f"the recipient is {head.recipient.status.value}")
    if head.suppressed:
        return verdict(Verdict.NONE, "the address is suppressed")
    if answers.unconfirmed:
        return verdict(
            Verdict.WAITING,
            f"{answers.unconfirmed} reply(ies) matched for review: confirm or reject them "
            "(`outreach replies list --review`) before a follow-up goes",
        )
    if answers.uncoded:
        return verdict(
            Verdict.WAITING,
            f"{answers.uncoded} reply(ies) not coded yet: code them (`outreach replies list "
            "--uncoded`), then only the demands still open are re-asked",
        )
    open_demands = tuple(key for key in head.demand_keys if key not in answers.confirmed)
    if answers.replies and not open_demands:
        return verdict(Verdict.NONE, "every demand asked has a confirmed position")
    if not step.approved:
        return verdict(
            Verdict.WAITING, f"step {number} awaits approval (`outreach campaign approve`)"
        )
    if calendar is None:
        return verdict(Verdict.NONE, "the recipient's calendar cannot be used")
    # Counted from the later of the letter and the last reply: re-asking days after someone
    # answered part of the letter would be pushy.
    moments = [moment for moment in (head.sent_at, answers.last_reply_at) if moment is not None]
    base = max(moments, default=now)
    due_on = calendar.add_working_days(base, step.after_days)
    reason = f"{step.after_days} working day(s) after {calendar.local_date(base).isoformat()}"
    if answers.return_date is not None and due_on <= answers.return_date:
        # Out of office until a date: the follow-up goes on the first working day after it.
        due_on = calendar.add_working_days(calendar.start_of_day(answers.return_date), 1)
        reason = f"out of office until {answers.return_date.isoformat()}"
    earliest = calendar.start_of_day(due_on)
    if now < earliest:
        return verdict(Verdict.PLANNED, reason, due_on=due_on, demand_keys=open_demands)
    send_after = calendar.next_send_time(max(now, earliest), window)
    return verdict(
        Verdict.DUE, reason, due_on=due_on, send_after=send_after, demand_keys=open_demands
    )
