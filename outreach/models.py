"""Every database table and the enums stored in them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from outreach.inbox.classify import InboundKind
from outreach.recipients.record import Gender, RecipientKind, RecipientStatus, Role

__all__ = [
    "EFFECTIVE",
    "Attempt",
    "AttemptOutcome",
    "AuditEvent",
    "Campaign",
    "CampaignState",
    "FollowUpStep",
    "Gender",
    "InboundKind",
    "InboundMessage",
    "Letter",
    "LetterState",
    "MailboxCursor",
    "MatchStrength",
    "Position",
    "Recipient",
    "RecipientKind",
    "RecipientStatus",
    "Role",
    "Stance",
    "Suppression",
    "SuppressionSource",
]


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Refuse naive datetimes: an instant without a zone is a bug waiting to happen."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Attach UTC to what SQLite returns naive."""
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def enum_type(enum: type[StrEnum]) -> sa.Enum:
    """A portable enum column: VARCHAR holding the member values, no native PostgreSQL type."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def utc_column(**kwargs: Any) -> Any:
    """A Field for a UTC timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)


class SuppressionSource(StrEnum):
    """Why an address is on the suppression list."""

    MANUAL = "manual"  # added by staff
    REQUEST = "request"  # the person asked not to be written to
    ERASURE = "erasure"  # the person's data was erased; only the hash remains
    BOUNCE = "bounce"  # the address bounced permanently


class Recipient(SQLModel, table=True):
    """One addressee: a person in a role, or an office mailbox. Lists are stored `a|b|c`."""

    __tablename__ = "recipient"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True, index=True)
    kind: RecipientKind = Field(sa_type=enum_type(RecipientKind), index=True)
    role: Role = Field(sa_type=enum_type(Role))
    courtesy_title: str | None = Field(default=None, max_length=16)
    gender: Gender = Field(default=Gender.UNKNOWN, sa_type=enum_type(Gender))
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    organisation: str = Field(max_length=300)
    country: str | None = Field(default=None, max_length=2, index=True)
    host_country: str | None = Field(default=None, max_length=2)
    city: str | None = Field(default=None, max_length=200)
    tz: str = Field(max_length=64)
    email: str | None = Field(default=None, max_length=320)
    # The lower-case ASCII form that suppression compares (see outreach.addresses.address_key).
    email_key: str | None = Field(default=None, max_length=320, index=True)
    languages: str = Field(default="", max_length=200)
    committees: str = Field(default="", max_length=1000)
    delegations: str = Field(default="", max_length=1000)
    political_group: str | None = Field(default=None, max_length=64)
    political_group_raw: str | None = Field(default=None, max_length=300)
    national_party: str | None = Field(default=None, max_length=300)
    tags: str = Field(default="", max_length=1000)
    priority: int = Field(default=2)
    source: str | None = Field(default=None, max_length=300)
    source_date: dt.date | None = Field(default=None)
    status: RecipientStatus = Field(
        default=RecipientStatus.ACTIVE, sa_type=enum_type(RecipientStatus)
    )
    created_at: dt.datetime = utc_column()
    updated_at: dt.datetime = utc_column()


class Suppression(SQLModel, table=True):
    """An address never to be written to, kept by hash so that it survives erasure."""

    __tablename__ = "suppression"

    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the address's comparison form: an erased person leaves only this.
    address_hash: str = Field(max_length=64, unique=True, index=True)
    address: str | None = Field(default=None, max_length=320)
    reason: str = Field(max_length=1000)
    source: SuppressionSource = Field(sa_type=enum_type(SuppressionSource))
    created_at: dt.datetime = utc_column()
    created_by: str = Field(max_length=200)


class AuditEvent(SQLModel, table=True):
    """Who changed what and when: every change made through the CLI (or later the web)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = utc_column(index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=300)
    detail: str = Field(default="", max_length=4000)


class CampaignState(StrEnum):
    """Where a campaign is in its life: draft → approved → running ⇄ paused → finished."""

    DRAFT = "draft"  # being prepared: nothing is sent, letters do not exist yet
    APPROVED = "approved"  # letters created and frozen; sending starts at the first due letter
    RUNNING = "running"  # the dispatcher sends its due letters
    PAUSED = "paused"  # by staff or after repeated connection failures; nothing is claimed
    FINISHED = "finished"  # no letter is waiting any more
    CANCELLED = "cancelled"  # stopped for good; unsent letters were cancelled


class LetterState(StrEnum):
    """Where a letter is; only the outbox module changes it."""

    QUEUED = "queued"  # waiting for send_after
    CLAIMED = "claimed"  # taken by a worker (lease_until); nothing sent yet: safe to retake
    SENDING = "sending"  # committed just before SMTP DATA: from here a resend could duplicate
    SENT = "sent"  # the server accepted it (250 after DATA)
    DEFERRED = "deferred"  # a temporary failure; due again at due_at (backoff)
    FAILED = "failed"  # a permanent failure, or the retry deadline passed
    UNKNOWN = "unknown"  # the worker died after DATA began: never resent automatically
    SUPPRESSED = "suppressed"  # not sent: address suppressed or recipient inactive / do_not_contact
    SKIPPED = "skipped"  # not sent: no letter could be made at approval (reason recorded)
    # Not sent: this appeal already went (or is going) to this mailbox, in this or another
    # campaign or ad hoc, or another recipient of the campaign shares it; the reason names which.
    DUPLICATE = "duplicate"
    CANCELLED = "cancelled"  # not sent: the campaign was cancelled
    BOUNCED = "bounced"  # sent, then a permanent bounce came back
    REPLIED = "replied"  # sent, and the recipient answered


class AttemptOutcome(StrEnum):
    """What one delivery attempt came to."""

    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the connection broke after DATA began


class Campaign(SQLModel, table=True):
    """One appeal sent to one segment, inside a sending window."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    appeal_slug: str = Field(max_length=64)
    segment: str = Field(default="", max_length=2000)  # the --where filters, one per line
    window: str = Field(max_length=200)  # canonical SendWindow text, e.g. "Tue-Thu 09:00-11:00"
    start_at: dt.datetime | None = utc_column(default=None)
    closed_dates: str = Field(default="", max_length=2000)  # ISO dates separated by |
    every_day: bool = Field(default=False)  # weekends and public holidays are sending days too
    state: CampaignState = Field(
        default=CampaignState.DRAFT, sa_type=enum_type(CampaignState), index=True
    )
    pause_reason: str | None = Field(default=None, max_length=1000)
    consecutive_failures: int = Field(default=0)
    created_at: dt.datetime = utc_column()
    created_by: str = Field(max_length=200)
    approved_at: dt.datetime | None = utc_column(default=None)
    approved_by: str | None = Field(default=None, max_length=200)


class Letter(SQLModel, table=True):
    """One letter to one recipient: its frozen bytes, its state and when it is due."""

    __tablename__ = "letter"
    __table_args__ = (sa.Index("ix_letter_due", "state", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    appeal_slug: str = Field(max_length=64)  # ad hoc letters have no campaign
    recipient_id: int | None = Field(default=None, index=True)  # no FK: erasure deletes the row
    recipient_key: str = Field(max_length=64)
    to_address: str = Field(max_length=320)
    address_hash: str = Field(max_length=64, index=True)  # for the suppression check at claim
    domain: str = Field(max_length=255)  # the recipient's mail domain, for per-domain pacing
    language: str = Field(max_length=16)
    subject: str = Field(max_length=1000)
    demand_keys: str = Field(default="", max_length=1000)
    token: str = Field(max_length=16, unique=True)
    message_id: str = Field(max_length=300, unique=True)
    mime: bytes = Field(sa_type=sa.LargeBinary)
    state: LetterState = Field(default=LetterState.QUEUED, sa_type=enum_type(LetterState))
    reason: str | None = Field(default=None, max_length=1000)  # why suppressed/skipped/failed
    send_after: dt.datetime = utc_column()  # the planned moment, inside the window
    due_at: dt.datetime = utc_column()  # when it may be claimed next (send_after or a retry)
    # Set at the first attempt (now + dispatch.retry_hours): after it, a temporary failure is
    # final. Counting from the first attempt, not approval, so a pause does not eat the retries.
    deadline: dt.datetime | None = utc_column(default=None)
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=2000)
    claimed_by: str | None = Field(default=None, max_length=200)
    lease_until: dt.datetime | None = utc_column(default=None)
    sent_at: dt.datetime | None = utc_column(default=None)
    # 0 for a campaign's first letter; n for its n-th follow-up, which answers `parent_id`.
    # Unique: a letter has at most one follow-up, so a planner run twice creates nothing twice.
    step: int = Field(default=0)
    parent_id: int | None = Field(default=None, foreign_key="letter.id", unique=True)
    # The step-0 letter of the conversation (None on that letter itself): replies to any letter
    # of a thread count for the recipient, in reports and when choosing what to re-ask.
    thread_id: int | None = Field(default=None, foreign_key="letter.id", index=True)
    created_at: dt.datetime = utc_column()
    updated_at: dt.datetime = utc_column()


class FollowUpStep(SQLModel, table=True):
    """A declared follow-up of a campaign: working days after the previous letter, templates."""

    __tablename__ = "follow_up_step"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    number: int  # 1 for the first follow-up
    after_days: int  # working days on the recipient's calendar after the previous letter
    template: str = Field(max_length=64)  # folder under the appeal, e.g. "followup"
    created_at: dt.datetime = utc_column()
    created_by: str = Field(max_length=200)
    # Set by the campaign's approval (or a later `campaign approve` for steps added after it):
    # only approved steps are planned.
    approved_at: dt.datetime | None = utc_column(default=None)
    approved_by: str | None = Field(default=None, max_length=200)


class Attempt(SQLModel, table=True):
    """One delivery attempt of a letter, with the server's answer."""

    __tablename__ = "attempt"

    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="letter.id", index=True)
    domain: str = Field(max_length=255)
    started_at: dt.datetime = utc_column(index=True)
    finished_at: dt.datetime | None = utc_column(default=None)
    outcome: AttemptOutcome = Field(sa_type=enum_type(AttemptOutcome))
    smtp_code: int | None = Field(default=None)
    enhanced_code: str | None = Field(default=None, max_length=16)
    reply: str | None = Field(default=None, max_length=2000)
    worker: str = Field(max_length=200)


class MatchMethod(StrEnum):
    """How an inbound message was tied to the letter it answers, strongest first."""

    TOKEN = "token"  # noqa: S105 (not a password) appeal+TOKEN@ in Reply-To / VERP
    IN_REPLY_TO = "in_reply_to"  # In-Reply-To / References name a letter's Message-ID
    ORIGINAL = "original"  # a bounce returns the letter's Message-ID or X-Outreach-Ref
    SENDER = "sender"  # only the sender's address: a weaker match, flagged
    MANUAL = "manual"  # attached by staff


class MatchStrength(StrEnum):
    """How surely a message is about its letter, and so whether its effects have happened.

    Evidence before effect: anyone can write to our address, name a recipient in a delivery
    report or copy a Message-ID, so only a match that our own secret (the token, the letter's
    Message-ID) ties to the letter's own address takes effect on its own.
    """

    # Our token or Message-ID, and the address agrees (a reply from the recipient, a bounce
    # naming the letter's address): the letter's state, suppression and reports follow.
    VERIFIED = "verified"
    # A suggestion: stored and shown with why (`match_note`); no letter state, suppression,
    # report figure or follow-up decision follows until a person confirms it.
    FOR_REVIEW = "for_review"
    CONFIRMED = "confirmed"  # a person confirmed the suggestion, or matched it by hand


# The strengths whose effects have been applied: what reports, coding and follow-ups count.
EFFECTIVE = (MatchStrength.VERIFIED, MatchStrength.CONFIRMED)


class Stance(StrEnum):
    """Where a reply stands on one demand."""

    SUPPORTS = "supports"  # agrees with the demand
    COMMITS = "commits"  # promises an act: a question tabled, a statement, raising it at home
    NONCOMMITTAL = "noncommittal"  # acknowledges without a position ("we have taken note")
    DECLINES = "declines"  # refuses or disagrees
    NOT_ADDRESSED = "not_addressed"  # the reply says nothing on this demand


class InboundMessage(SQLModel, table=True):
    """Every message taken in, exactly once, with its raw bytes for audit."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    # "sha256:<content digest>" (outreach.inbox.identity): the same message taken in twice is
    # one row; a reused Message-ID with other content is another message. Kept after erasure,
    # so erased mail is recognised, and never stored again, when it is imported once more.
    dedup_key: str = Field(max_length=1000, unique=True)
    message_id: str | None = Field(default=None, max_length=1000, index=True)
    # Another stored message has the same Message-ID but other content (a broken client, a web
    # form): both are kept; this one is flagged for review.
    reused_message_id: bool = Field(default=False)
    raw: bytes = Field(sa_type=sa.LargeBinary)
    source: str = Field(max_length=1000)  # imap:host/user/folder:uid, maildir:…, mbox:…, eml:…
    received_at: dt.datetime = utc_column(index=True)
    date: dt.datetime | None = utc_column(default=None)
    kind: InboundKind = Field(sa_type=enum_type(InboundKind), index=True)
    reason: str = Field(max_length=1000)
    review: bool = Field(default=False)
    quarantined: bool = Field(default=False)
    error: str | None = Field(default=None, max_length=2000)
    sender: str | None = Field(default=None, max_length=320)
    subject: str = Field(default="", max_length=2000)
    language: str | None = Field(default=None, max_length=16)
    text: str | None = Field(default=None)
    return_date: dt.date | None = Field(default=None)
    bounce_permanent: bool | None = Field(default=None)
    bounce_status: str | None = Field(default=None, max_length=16)
    bounce_addresses: str = Field(default="", max_length=2000)
    letter_id: int | None = Field(default=None, foreign_key="letter.id", index=True)
    match_method: MatchMethod | None = Field(default=None, sa_type=enum_type(MatchMethod))
    # None when no letter is matched; why it is (not) verified, or who confirmed or rejected it.
    match_strength: MatchStrength | None = Field(
        default=None, sa_type=enum_type(MatchStrength), index=True
    )
    match_note: str = Field(default="", max_length=1000)


class Position(SQLModel, table=True):
    """A reply's stance on one demand; recoding adds a row and keeps the old one as history."""

    __tablename__ = "position"

    id: int | None = Field(default=None, primary_key=True)
    inbound_id: int = Field(foreign_key="inbound_message.id", index=True)
    letter_id: int = Field(foreign_key="letter.id", index=True)
    demand_key: str = Field(max_length=64)
    stance: Stance = Field(sa_type=enum_type(Stance))
    evidence: str = Field(default="", max_length=4000)
    current: bool = Field(default=True, index=True)  # False once recoded
    coded_by: str = Field(max_length=200)
    coded_at: dt.datetime = utc_column()


class MailboxCursor(SQLModel, table=True):
    """How far an IMAP folder has been read: UIDVALIDITY and the last UID taken in (RFC 3501)."""

    __tablename__ = "mailbox_cursor"
    __table_args__ = (sa.UniqueConstraint("mailbox", "folder"),)

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=500)  # user@host
    folder: str = Field(max_length=500)
    uidvalidity: int
    last_uid: int = Field(default=0)
