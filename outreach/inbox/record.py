"""Taking in one inbound message: classify, match, weigh, store once, and apply what it proves.

What it proves is applied only for a match of effective strength (outreach.inbox.evidence):
a suggestion FOR_REVIEW is stored with its letter and why, and changes nothing until a person
confirms it (outreach.inbox.manual), which applies the same effects then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from outreach import outbox
from outreach.config import Settings
from outreach.errors import NotFoundError
from outreach.inbox.classify import Classification, Limits, classify
from outreach.inbox.evidence import weigh
from outreach.inbox.identity import dedup_key
from outreach.inbox.match import Match, find_letter
from outreach.models import (
    EFFECTIVE,
    InboundKind,
    InboundMessage,
    Letter,
    LetterState,
    MatchMethod,
    MatchStrength,
    SuppressionSource,
)
from outreach.suppression import suppress

ACTOR = "inbox"


@dataclass(frozen=True, slots=True)
class Ingested:
    """What taking in one message did."""

    id: int
    duplicate: bool
    kind: InboundKind
    letter_id: int | None
    method: MatchMethod | None
    quarantined: bool
    reused_message_id: bool = False  # another message stored already has its Message-ID
    strength: MatchStrength | None = None  # FOR_REVIEW: matched, but without any effect yet


def ingest(
    session: Session, raw: bytes, source: str, settings: Settings, *, now: dt.datetime
) -> Ingested:
    """Store a message once (a second time is reported as a duplicate) and apply its effects.

    The same message is the same content (see outreach.inbox.identity), not merely the same
    Message-ID: another message under a Message-ID already taken in is stored and flagged.
    Runs in the caller's transaction: the IMAP move happens only after it commits, so a crash in
    between takes the message in again next time, where it is found to be a duplicate.
    """
    key = dedup_key(raw)
    existing = session.exec(select(InboundMessage).where(InboundMessage.dedup_key == key)).first()
    if existing is not None:
        return summary(existing, duplicate=True)
    limits = Limits(max_bytes=settings.inbox.max_bytes)
    message = classify(raw, languages=tuple(settings.inbox.languages), limits=limits)
    if message.message_id is not None:
        # Erased before keys were digests (migration 0006): the row keeps the Message-ID as
        # its key and no bytes to digest. It was taken in; it must not come back whole.
        erased = session.exec(
            select(InboundMessage).where(
                InboundMessage.dedup_key == message.message_id[:1000],
                InboundMessage.raw == b"",
            )
        ).first()
        if erased is not None:
            return summary(erased, duplicate=True)
    match = weigh(
        session, message, find_letter(session, message, settings.sender.address), settings.inbox
    )
    row = build_row(message, raw, key, source, match, now)
    if message.message_id is not None and reuses_message_id(session, message.message_id):
        row.reused_message_id = row.review = True
    try:
        with session.begin_nested():  # another worker may be taking in the same message
            session.add(row)
    except IntegrityError:
        existing = session.exec(select(InboundMessage).where(InboundMessage.dedup_key == key)).one()
        return summary(existing, duplicate=True)
    apply_effects(session, row, settings, now)
    return summary(row, duplicate=False)


def get_inbound(session: Session, inbound_id: int) -> InboundMessage:
    """The inbound message with that id; NotFoundError pointing to the list."""
    message = session.get(InboundMessage, inbound_id)
    if message is None:
        raise NotFoundError(f"no inbound message {inbound_id} (see `outreach replies list`)")
    return message


def reuses_message_id(session: Session, message_id: str) -> bool:
    """Whether another message stored already carries this Message-ID."""
    return (
        session.exec(
            select(InboundMessage.id).where(InboundMessage.message_id == message_id[:1000])
        ).first()
        is not None
    )


def build_row(
    message: Classification, raw: bytes, key: str, source: str, match: Match, now: dt.datetime
) -> InboundMessage:
    """The stored form of a classified message."""
    bounce = message.bounce
    return InboundMessage(
        dedup_key=key,
        message_id=message.message_id,
        raw=raw,
        source=source[:1000],
        received_at=now,
        date=message.date,
        kind=message.kind,
        reason=message.reason[:1000],
        review=message.review or match.for_review,
        quarantined=message.quarantined,
        error=message.error[:2000] if message.error else None,
        sender=message.sender,
        subject=message.subject[:2000],
        language=message.language,
        text=message.text,
        return_date=message.return_date,
        bounce_permanent=bounce.permanent if bounce else None,
        bounce_status=bounce.status if bounce else None,
        bounce_addresses="|".join(bounce.addresses)[:2000] if bounce else "",
        letter_id=match.letter_id,
        match_method=match.method,
        match_strength=match.strength,
        match_note=match.why,
    )


def summary(row: InboundMessage, *, duplicate: bool) -> Ingested:
    """The result for a stored row."""
    assert row.id is not None
    return Ingested(
        row.id,
        duplicate,
        row.kind,
        row.letter_id,
        row.match_method,
        row.quarantined,
        row.reused_message_id,
        row.match_strength,
    )


def apply_effects(
    session: Session, row: InboundMessage, settings: Settings, now: dt.datetime
) -> None:
    """What the message proves about its letter: bounced, replied, or at least delivered.

    Nothing for a suggestion still FOR_REVIEW: a person's confirmation calls this again.
    """
    if row.letter_id is None or row.quarantined or row.match_strength not in EFFECTIVE:
        return
    session.flush()
    connection = session.connection()
    letter = session.get(Letter, row.letter_id)
    assert letter is not None
    if row.kind is InboundKind.BOUNCE and row.bounce_permanent:
        outbox.settle_by_evidence(
            connection,
            row.letter_id,
            LetterState.BOUNCED,
            allowed_from=(LetterState.SENT, LetterState.UNKNOWN),
            reason=f"bounced {row.bounce_status or ''}".strip(),
            now=now,
        )
        suppress_bounced(session, letter, f"permanent bounce {row.bounce_status or ''}".strip())
    elif row.kind is InboundKind.BOUNCE:
        if temporary_bounces(session, letter.address_hash) >= settings.inbox.soft_bounce_limit:
            suppress_bounced(
                session, letter, f"{settings.inbox.soft_bounce_limit} temporary bounces"
            )
    elif row.kind is InboundKind.REPLY:
        outbox.settle_by_evidence(
            connection,
            row.letter_id,
            LetterState.REPLIED,
            allowed_from=(LetterState.SENT, LetterState.UNKNOWN, LetterState.BOUNCED),
            reason="the recipient replied",
            now=now,
        )
    elif row.kind is InboundKind.AUTO_REPLY:
        # An automatic answer is no reply, but it proves the letter arrived.
        outbox.settle_by_evidence(
            connection,
            row.letter_id,
            LetterState.SENT,
            allowed_from=(LetterState.UNKNOWN,),
            reason="an automatic reply shows it arrived",
            now=now,
        )


def temporary_bounces(session: Session, digest: str) -> int:
    """Temporary bounces recorded for letters to this address (suggestions not counted)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(InboundMessage)
            .join(Letter, col(Letter.id) == col(InboundMessage.letter_id))
            .where(
                InboundMessage.kind == InboundKind.BOUNCE,
                InboundMessage.bounce_permanent == sa.false(),
                col(InboundMessage.match_strength).in_(EFFECTIVE),
                Letter.address_hash == digest,
            )
        ).one()
    )


def suppress_bounced(session: Session, letter: Letter, reason: str) -> None:
    """Never write to a bounced address again."""
    if not letter.to_address:
        return
    suppress(
        session, letter.to_address, reason=reason, source=SuppressionSource.BOUNCE, actor=ACTOR
    )
