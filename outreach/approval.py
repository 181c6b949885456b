"""Approval: what each recipient of a campaign's segment gets — a frozen letter, or why none —
and the all-or-nothing approval that stores them."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session

from outreach import clock
from outreach.audit import record_event
from outreach.calendar import RecipientCalendar, SendWindow, parse_window
from outreach.campaign import CampaignError, closed_of, segment_of
from outreach.eligibility import why_not_sendable
from outreach.errors import InputError, LetterError, StateError
from outreach.followup_preview import Thread
from outreach.letter import Composer, Letter
from outreach.message import domain_of, new_message_id, new_token
from outreach.models import Campaign, CampaignState, LetterState, Recipient
from outreach.models import Letter as LetterRow
from outreach.recipients.lint import Linter, blocked_by, refusal
from outreach.recipients.record import RecipientRecord
from outreach.recipients.segment import parse_where, to_conditions
from outreach.recipients.table import iter_recipients, survey_list, to_record
from outreach.repeats import NO_RESEND, Resend, earlier_letter, lock_appeal, shared_mailboxes
from outreach.steps import approve_steps
from outreach.suppression import address_hash

# What approval makes of each recipient of the segment.
APPROVAL_STATES = (
    LetterState.QUEUED,
    LetterState.SUPPRESSED,
    LetterState.DUPLICATE,
    LetterState.SKIPPED,
)


@dataclass(frozen=True, slots=True)
class Planned:
    """What approval would create for one recipient."""

    recipient: RecipientRecord
    recipient_id: int | None
    state: LetterState  # queued, suppressed, duplicate or skipped
    reason: str | None
    letter: Letter | None
    send_after: dt.datetime | None


def plan_letters(
    session: Session,
    campaign: Campaign,
    composer: Composer,
    now: dt.datetime,
    *,
    resend: Resend = NO_RESEND,
) -> Iterator[Planned]:
    """For each recipient of the segment: the letter, its send time, or why there is none.

    Recipients who share a mailbox come last: its one letter goes to the first of them (in
    `repeats.rank` order) who can have one, and the others are told who has it.
    """
    window: SendWindow = parse_window(campaign.window)
    start = max(now, campaign.start_at) if campaign.start_at else now
    closed = closed_of(campaign)
    conditions = to_conditions(parse_where(segment_of(campaign)))
    shared = shared_mailboxes(session, conditions)
    held = {member.key for members in shared.values() for member in members}

    def plan(row: Recipient) -> Planned:
        recipient = to_record(row)
        reason = why_not_sendable(session, recipient)
        if reason is not None:
            return Planned(recipient, row.id, LetterState.SUPPRESSED, reason, None, None)
        if not resend.covers(recipient):
            reason = already_written(session, campaign, row)
            if reason is not None:
                return Planned(recipient, row.id, LetterState.DUPLICATE, reason, None, None)
        calendar = RecipientCalendar(
            recipient.tz, recipient.host_country, closed, every_day=campaign.every_day
        )
        try:
            send_after = calendar.next_send_time(start, window)
            letter = composer.compose(recipient, date=send_after)
        except (LetterError, InputError) as exc:
            return Planned(recipient, row.id, LetterState.SKIPPED, str(exc), None, None)
        return Planned(recipient, row.id, LetterState.QUEUED, None, letter, send_after)

    for row in iter_recipients(session, conditions):
        if row.key not in held:
            yield plan(row)
    for members in shared.values():
        winner: str | None = None
        for row in members:
            if winner is None:
                planned = plan(row)
                winner = row.key if planned.state is LetterState.QUEUED else None
                yield planned
                continue
            reason = (
                f"same mailbox as {winner}, to whom this campaign's one letter to it is addressed"
            )
            yield Planned(to_record(row), row.id, LetterState.DUPLICATE, reason, None, None)


def already_written(session: Session, campaign: Campaign, row: Recipient) -> str | None:
    """Why the recipient's mailbox gets no letter of the appeal: it has one from another
    campaign or an ad hoc send (sent, or that may be), if it has."""
    if not row.email:
        return None
    earlier = earlier_letter(session, campaign.appeal_slug, row.email, besides=campaign.id)
    if earlier is None:
        return None
    whom = "" if earlier.recipient_key == row.key else f" (to {earlier.recipient_key})"
    return f"this appeal already went to this mailbox: {earlier.describe()}{whom}"


@dataclass
class PlanSummary:
    """What approval would create, as `campaign check` and the approval preview show it.

    Counts by state and by language, the first letter in each language, when the first and
    last letters would leave, and the first `listed` problems, unwritten recipients and
    recipients left out because their mailbox has (or gets) the appeal already.
    """

    listed: int = 50
    states: Counter[str] = field(default_factory=Counter)
    languages: Counter[str] = field(default_factory=Counter)
    samples: dict[str, Letter] = field(default_factory=dict)
    threads: dict[str, Thread] = field(default_factory=dict)  # for samples of the follow-ups
    problems: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    first: dt.datetime | None = None
    last: dt.datetime | None = None
    lint: Linter | None = None  # the data checks of the letters to send (recipients/lint.py)

    @property
    def queued(self) -> int:
        """Letters approval would queue."""
        return self.states[LetterState.QUEUED.value]

    def add(self, planned: Planned) -> None:
        """Count one planned letter in."""
        self.states[planned.state.value] += 1
        if self.lint is not None:
            self.lint.add(planned.recipient, checked=planned.state is LetterState.QUEUED)
        if planned.state is LetterState.SKIPPED and len(self.problems) < self.listed:
            self.problems.append(planned.reason or planned.recipient.key)
        elif planned.state is LetterState.SUPPRESSED and len(self.suppressed) < self.listed:
            self.suppressed.append(f"{planned.recipient.key}: {planned.reason}")
        elif planned.state is LetterState.DUPLICATE and len(self.duplicates) < self.listed:
            self.duplicates.append(f"{planned.recipient.key}: {planned.reason}")
        if planned.letter is not None and planned.send_after is not None:
            language = planned.letter.language
            self.languages[language] += 1
            self.samples.setdefault(language, planned.letter)
            if language not in self.threads:
                self.threads[language] = Thread.of_letter(
                    planned.recipient, planned.letter, planned.send_after
                )
            moment = planned.send_after
            self.first = moment if self.first is None else min(self.first, moment)
            self.last = moment if self.last is None else max(self.last, moment)


def summarise_plan(
    plans: Iterable[Planned], *, listed: int = 50, lint: Linter | None = None
) -> PlanSummary:
    """The summary of planned letters (from `plan_letters`), listing at most `listed` problems."""
    summary = PlanSummary(listed=listed, lint=lint)
    for planned in plans:
        summary.add(planned)
    return summary


def approve_campaign(
    session: Session,
    campaign: Campaign,
    composer: Composer,
    *,
    actor: str,
    skip_problems: bool,
    advance: Callable[[], None] = lambda: None,
    resend: Resend = NO_RESEND,
    seen: Callable[[Planned], None] = lambda planned: None,
    lint: Linter | None = None,
) -> dict[str, int]:
    """Create every letter of the campaign, frozen as it will be sent; all or nothing.

    Returns the letters made by state; `seen` is called with each planned letter (so a caller
    can list who was left out and why). `lint` (made here if not given) collects the data
    warnings; those `checks.block` names refuse the approval.
    """
    # Held to the end of the transaction: no other approval or ad hoc send of this appeal can
    # write to a mailbox between this one's look and its inserts.
    lock_appeal(session, campaign.appeal_slug)
    # Read again under the lock: an approval of this very campaign that held it before us has
    # committed by now (PostgreSQL reads committed rows anew in each statement).
    session.refresh(campaign)
    if campaign.state is not CampaignState.DRAFT:
        raise StateError(
            f"campaign {campaign.name} is {campaign.state.value}: only a draft is approved"
        )
    now = clock.now()
    counts = {state.value: 0 for state in APPROVAL_STATES}
    problems: list[str] = []
    resent: list[tuple[str, str]] = []
    unnamed = set(resend.targets)  # --resend targets no recipient of the segment answers to
    batch: list[dict[str, object]] = []
    lint = campaign_lint(session, campaign, composer) if lint is None else lint
    for planned in plan_letters(session, campaign, composer, now, resend=resend):
        advance()
        seen(planned)
        unnamed -= resend.named(planned.recipient)
        lint.add(planned.recipient, checked=planned.state is LetterState.QUEUED)
        if planned.state is LetterState.SKIPPED:
            problems.append(planned.reason or planned.recipient.key)
        elif resend and planned.state is LetterState.QUEUED and planned.recipient.email:
            earlier = earlier_letter(
                session, campaign.appeal_slug, planned.recipient.email, besides=campaign.id
            )
            if earlier is not None:
                resent.append((planned.recipient.key, earlier.describe()))
        counts[planned.state.value] += 1
        batch.append(letter_values(campaign, planned, now))
        if len(batch) >= 200:
            session.execute(sa.insert(LetterRow), batch)
            batch = []
    if unnamed:
        raise CampaignError(
            f"--resend {sorted(unnamed)[0]}: no recipient of this campaign's segment has that "
            "key or address; nothing was approved (see `outreach campaign check "
            f"{campaign.name}`)"
        )
    if problems and not skip_problems:
        raise CampaignError(
            f"{len(problems)} recipient(s) have no letter, e.g. {problems[0]}; nothing was "
            "approved. Fix them (see `outreach campaign check`), or approve with --skip-problems"
        )
    blocked = blocked_by(lint.warnings, composer.settings.checks.block)
    if blocked:
        raise CampaignError(refusal(blocked, "approval", "nothing was approved"))
    if batch:
        session.execute(sa.insert(LetterRow), batch)
    if counts[LetterState.QUEUED.value] == 0:
        unwritten = ", ".join(
            f"{counts[state.value]} {state.value}"
            for state in APPROVAL_STATES
            if counts[state.value] and state is not LetterState.QUEUED
        )
        raise CampaignError(
            f"campaign {campaign.name} has no letter to send "
            f"({unwritten or 'nobody in the segment'}; see `outreach campaign check "
            f"{campaign.name}`); nothing was approved"
        )
    # The approval covers the declared follow-up steps; their templates must fit the letters.
    approve_steps(session, campaign, composer, actor=actor, now=now)
    campaign.state = CampaignState.APPROVED
    campaign.approved_at, campaign.approved_by = now, actor
    session.add(campaign)
    record_event(session, actor, "campaign.approve", campaign.name, **counts)
    for key, before in resent:
        # A deliberate repeat is on the record, under the recipient: the earlier letter and why.
        record_event(
            session,
            actor,
            "letter.resend",
            key,
            campaign=campaign.name,
            earlier=before,
            reason=resend.reason,
        )
    return counts


def campaign_lint(session: Session, campaign: Campaign, composer: Composer) -> Linter:
    """The data checks of a campaign's letters, each record compared with the whole list."""
    return Linter(
        survey_list(session),
        lambda recipient: composer.choose(recipient).language,
        segment=segment_of(campaign),
    )


def letter_values(campaign: Campaign, planned: Planned, now: dt.datetime) -> dict[str, object]:
    """The row of one planned letter; unsent ones keep their reason and no bytes."""
    recipient, letter = planned.recipient, planned.letter
    send_after = planned.send_after or now
    # The address as it is sent (its domain in punycode) where there is a letter, so pacing
    # counts one domain under one name whatever form the record has.
    email = letter.to_address if letter else recipient.email or ""
    return {
        "campaign_id": campaign.id,
        "appeal_slug": campaign.appeal_slug,
        "recipient_id": planned.recipient_id,
        "recipient_key": recipient.key,
        "to_address": email,
        "address_hash": address_hash(email) if email else "",
        "domain": domain_of(email).lower(),
        "language": letter.language if letter else "",
        "subject": letter.subject if letter else "",
        "demand_keys": "|".join(letter.demand_keys) if letter else "",
        "token": letter.token if letter else new_token(),
        "message_id": letter.message_id if letter else new_message_id("unsent.invalid"),
        "mime": letter.mime if letter else b"",
        "state": planned.state.value,
        "reason": planned.reason,
        "send_after": send_after,
        "due_at": send_after,
        "created_at": now,
        "updated_at": now,
    }
