"""Personal data rights (GDPR art. 15 and 17): export all held about a person, or erase it."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from outreach import clock
from outreach.audit import record_event
from outreach.db import empty_wal, session_scope
from outreach.footprint import (
    MESSAGE_COLUMNS,
    Footprint,
    Mention,
    comparison_key,
    find_footprint,
    find_mentions,
)
from outreach.mentions import Identity, hashed_subject
from outreach.models import (
    Attempt,
    AuditEvent,
    InboundMessage,
    Letter,
    LetterState,
    Position,
    Suppression,
    SuppressionSource,
)
from outreach.recipients.table import to_json
from outreach.suppression import address_hash, find_suppression, suppress

__all__ = ["Erasure", "erase_person", "erase_recipient", "export_person", "hashed_subject"]

NEUTRAL_REASON = "personal data erased"
# Letters not yet offered to a server are withdrawn; one being sent (`sending`) cannot be.
WITHDRAWN = (LetterState.QUEUED, LetterState.DEFERRED, LetterState.CLAIMED)


def export_person(session: Session, key: str) -> dict[str, object]:
    """Everything held about one recipient, as JSON-ready data: the same set erase removes."""
    found = find_footprint(session, key)
    row = found.recipient
    current = find_suppression(session, row.email) if row.email else None
    events = sorted((*found.events, *found.related_events), key=lambda event: event.id or 0)
    return {
        "recipient": to_json(row),
        "suppression": None if current is None else suppression_json(current),
        "suppressions": [suppression_json(entry) for entry in found.suppressions],
        "letters": [letter_json(letter) for letter in found.letters],
        "attempts": [attempt_json(attempt) for attempt in found.attempts],
        "messages": [message_json(message) for message in found.messages],
        "positions": [position_json(position) for position in found.positions],
        "audit": [event_json(event) for event in events],
        "mentions": [dataclasses.asdict(mention) for mention in found.mentions],
        "shared_addresses": [
            {"address": address, "recipient": other} for address, other in found.shared
        ],
        "named_by": [{"recipient": other, "field": name} for other, name in found.named_by],
    }


def iso(value: object) -> object:
    """A date or time as ISO text; anything else as it is."""
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else value


def suppression_json(entry: Suppression) -> dict[str, object]:
    """A suppression entry for the export."""
    return {
        "address": entry.address,
        "reason": entry.reason,
        "source": entry.source.value,
        "since": iso(entry.created_at),
    }


def letter_json(letter: Letter) -> dict[str, object]:
    """A letter for the export, with the message sent (7-bit text, RFC 2045)."""
    return {
        "id": letter.id,
        "campaign": letter.campaign_id,
        "appeal": letter.appeal_slug,
        "step": letter.step,
        "to": letter.to_address,
        "language": letter.language,
        "subject": letter.subject,
        "state": letter.state.value,
        "reason": letter.reason,
        "last_error": letter.last_error,
        "sent_at": iso(letter.sent_at),
        "message": bytes(letter.mime).decode("utf-8", "replace"),
    }


def attempt_json(attempt: Attempt) -> dict[str, object]:
    """A delivery attempt for the export, with the server's words."""
    return {
        "letter": attempt.letter_id,
        "started_at": iso(attempt.started_at),
        "outcome": attempt.outcome.value,
        "smtp_code": attempt.smtp_code,
        "enhanced_code": attempt.enhanced_code,
        "reply": attempt.reply,
    }


def message_json(message: InboundMessage) -> dict[str, object]:
    """An inbound message for the export: what was read from it, and whether it was matched."""
    return {
        "id": message.id,
        "kind": message.kind.value,
        "received_at": iso(message.received_at),
        "date": iso(message.date),
        "sender": message.sender,
        "subject": message.subject,
        "text": message.text,
        "letter": message.letter_id,
        "match": message.match_method.value if message.match_method else None,
        "bounce_addresses": [part for part in message.bounce_addresses.split("|") if part],
        "source": message.source,
    }


def position_json(position: Position) -> dict[str, object]:
    """A coded position for the export."""
    return {
        "message": position.inbound_id,
        "letter": position.letter_id,
        "demand": position.demand_key,
        "stance": position.stance.value,
        "evidence": position.evidence,
        "current": position.current,
        "coded_at": iso(position.coded_at),
    }


def event_json(event: AuditEvent) -> dict[str, object]:
    """An audit entry for the export."""
    return {
        "at": iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "detail": json.loads(event.detail or "{}"),
    }


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure removed (counts only), and what it had to keep."""

    digest: str | None  # the hash left on the suppression list, if the person had an address
    letters: int
    attempts: int
    messages: int
    positions: int
    audit: int
    mentions: int
    kept: tuple[tuple[str, str], ...]  # (address, other key): addresses another recipient has
    named_by: tuple[tuple[str, str], ...] = ()  # (other key, field): records that name them
    wal_emptied: bool = True  # False: a reader kept SQLite's log; it empties when they stop


def erase_recipient(engine: Engine, key: str, *, actor: str) -> Erasure:
    """Erase a person and commit, then empty SQLite's write-ahead log of the old pages."""
    with session_scope(engine) as session:
        erasure = erase_person(session, key, actor=actor)
    return dataclasses.replace(erasure, wal_emptied=empty_wal(engine))


def erase_person(session: Session, key: str, *, actor: str) -> Erasure:
    """Remove a recipient and every trace of them, keeping a hashed suppression entry.

    States, counts, dates, stances and the address hash stay, so reports still add up and the
    address is never written to again. The caller commits; on SQLite it should then empty the
    write-ahead log (`erase_recipient` does both).
    """
    found = find_footprint(session, key, mentions=False)
    row = found.recipient
    digest = None
    shared = {comparison_key(address) for address, _ in found.shared}
    if row.email and comparison_key(row.email) not in shared:
        entry, _ = suppress(
            session,
            row.email,
            reason=NEUTRAL_REASON,
            source=SuppressionSource.ERASURE,
            actor=actor,
            keep_address=False,
        )
        digest = entry.address_hash
    session.flush()
    neutralise_suppressions(session, [entry.id for entry in found.suppressions if entry.id])
    scrub_letters(session, found)
    scrub_messages(session, found)
    scrub_audit(session, found)
    # Searched after the scrub, the person's own rows included: whatever column still names
    # them (one added by a later version, say) is redacted as a mention would be.
    left = find_mentions(session.connection(), found.identity, with_names=found.with_names)
    for mention in left:
        redact_mention(session, found.identity, mention, with_names=found.with_names)
    session.delete(row)
    erasure = Erasure(
        digest=digest,
        letters=len(found.letters),
        attempts=len(found.attempts),
        messages=len(found.messages),
        positions=len(found.positions),
        audit=len(found.events) + len(found.related_events),
        mentions=len(left),
        kept=found.shared,
        named_by=found.named_by,
    )
    record_event(
        session,
        actor,
        "recipients.erase",
        found.identity.pseudonym,
        letters=erasure.letters,
        messages=erasure.messages,
        mentions=erasure.mentions,
        # The address as a hash, so a re-import knows the person under their key even where
        # the address stays (another recipient's too) and no suppression holds it.
        address=address_hash(row.email) if row.email else None,
    )
    return erasure


def neutralise_suppressions(session: Session, ids: list[int]) -> None:
    """The person's suppression entries keep only their hash and a neutral reason."""
    session.execute(
        sa.update(Suppression)
        .where(col(Suppression.id).in_(ids))
        .values(address=None, reason=NEUTRAL_REASON, source=SuppressionSource.ERASURE)
    )


def scrub_letters(session: Session, found: Footprint) -> None:
    """Letters keep their state, dates and address hash; their bytes, address and key go, and
    their texts lose every identifier. Letters not yet offered to a server are withdrawn."""
    identity = found.identity
    for letter in found.letters:
        session.execute(
            sa.update(Letter)
            .where(col(Letter.id) == letter.id)
            .values(
                recipient_key=identity.pseudonym[:64],
                recipient_id=None,
                to_address="",
                mime=b"",
                subject=identity.redact(letter.subject, everything=True),
                domain=identity.redact(letter.domain, everything=True),
                reason=redact_all(identity, letter.reason),
                last_error=redact_all(identity, letter.last_error),
            )
        )
    session.execute(
        sa.update(Letter)
        .where(
            col(Letter.id).in_([letter.id for letter in found.letters]),
            col(Letter.state).in_(WITHDRAWN),
        )
        .values(state=LetterState.SUPPRESSED, reason=NEUTRAL_REASON, updated_at=clock.now())
    )
    for attempt in found.attempts:
        session.execute(
            sa.update(Attempt)
            .where(col(Attempt.id) == attempt.id)
            .values(
                reply=redact_all(identity, attempt.reply),
                domain=identity.redact(attempt.domain, everything=True),
            )
        )


def scrub_messages(session: Session, found: Footprint) -> None:
    """The person's messages keep kind, dates, bounce facts and their match; their bytes,
    texts, sender and subject go. Positions coded from them lose their quotes."""
    identity = found.identity
    keys = identity.address_keys()
    for message in found.messages:
        # A bounce may name others as well: they stay, only the person's addresses go.
        others = [
            part
            for part in message.bounce_addresses.split("|")
            if part and comparison_key(part) not in keys
        ]
        session.execute(
            sa.update(InboundMessage)
            .where(col(InboundMessage.id) == message.id)
            .values(
                raw=b"",
                text=None,
                sender=None,
                subject="",
                bounce_addresses=identity.redact("|".join(others), everything=True),
                message_id=redact_all(identity, message.message_id),
                source=identity.redact(message.source, everything=True),
                reason=identity.redact(message.reason, everything=True),
                match_note=identity.redact(message.match_note, everything=True),
                error=redact_all(identity, message.error),
            )
        )
    session.execute(
        sa.update(Position)
        .where(col(Position.id).in_([position.id for position in found.positions]))
        .values(evidence="")
    )


def scrub_audit(session: Session, found: Footprint) -> None:
    """Entries about the person keep a hashed subject and no detail; entries about their
    letters and messages lose every identifier from their detail."""
    session.execute(
        sa.update(AuditEvent)
        .where(col(AuditEvent.id).in_([event.id for event in found.events]))
        .values(subject=found.identity.pseudonym, detail="{}")
    )
    for event in found.related_events:
        session.execute(
            sa.update(AuditEvent)
            .where(col(AuditEvent.id) == event.id)
            .values(detail=found.identity.redact(event.detail, everything=True))
        )


def redact_all(identity: Identity, text: str | None) -> str | None:
    """A text of the person's own rows without any identifier, weak ones included."""
    return None if text is None else identity.redact(text, everything=True)


def redact_mention(
    session: Session, identity: Identity, mention: Mention, *, with_names: bool
) -> None:
    """Replace the identifiers in one column of someone else's row (strong needles only)."""
    table = sa.table(mention.table, sa.column("id"), sa.column(mention.column))
    value = session.execute(
        sa.select(table.c[mention.column]).where(table.c.id == mention.row_id)
    ).scalar_one()
    if isinstance(value, str):
        new: object = identity.redact(value, with_names=with_names)
    elif (mention.table, mention.column) in MESSAGE_COLUMNS:
        new = identity.redact_message(bytes(value), with_names=with_names)
    else:
        new = identity.redact_bytes(bytes(value), with_names=with_names)
    session.execute(
        sa.update(table).where(table.c.id == mention.row_id).values({mention.column: new})
    )
