"""Personal data rights (GDPR art. 15 and 17): export all held about a person, or erase it."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from sqlmodel import Session, col, select

from outreach.audit import record_event
from outreach.models import AuditEvent, InboundMessage, Letter, Position, SuppressionSource
from outreach.recipients.table import get_recipient, to_json
from outreach.suppression import address_hash, find_suppression, suppress


def export_person(session: Session, key: str) -> dict[str, object]:
    """Everything held about one recipient: the record, suppression and audit entries."""
    row = get_recipient(session, key)
    data: dict[str, object] = {"recipient": to_json(row)}
    entry = find_suppression(session, row.email) if row.email else None
    data["suppression"] = (
        None
        if entry is None
        else {
            "reason": entry.reason,
            "source": entry.source.value,
            "since": entry.created_at.isoformat(),
        }
    )
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.subject).in_([key, row.email or key]))
        .order_by(col(AuditEvent.at))
    )
    letters = session.exec(
        select(Letter).where(
            sa.or_(
                col(Letter.recipient_id) == row.id,
                col(Letter.address_hash) == (address_hash(row.email) if row.email else ""),
            )
        )
    ).all()
    ids = [letter.id for letter in letters]
    data["letters"] = [
        {
            "id": letter.id,
            "appeal": letter.appeal_slug,
            "subject": letter.subject,
            "state": letter.state.value,
            "sent_at": letter.sent_at.isoformat() if letter.sent_at else None,
        }
        for letter in letters
    ]
    data["messages"] = [
        {
            "id": message.id,
            "kind": message.kind.value,
            "date": message.date.isoformat() if message.date else None,
            "subject": message.subject,
            "text": message.text,
        }
        for message in session.exec(
            select(InboundMessage).where(col(InboundMessage.letter_id).in_(ids))
        )
    ]
    data["positions"] = [
        {
            "demand": position.demand_key,
            "stance": position.stance.value,
            "evidence": position.evidence,
            "current": position.current,
            "coded_at": position.coded_at.isoformat(),
        }
        for position in session.exec(select(Position).where(col(Position.letter_id).in_(ids)))
    ]
    data["audit"] = [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "detail": json.loads(e.detail or "{}"),
        }
        for e in events
    ]
    return data


def erase_person(session: Session, key: str, *, actor: str) -> str | None:
    """Delete a recipient, leaving only a hashed suppression entry; returns the hash (if any).

    The audit trail keeps that an erasure happened, under a hash of the key, never the data.
    """
    row = get_recipient(session, key)
    digest = None
    if row.email:
        digest = address_hash(row.email)
        suppress(
            session,
            row.email,
            reason="personal data erased on request",
            source=SuppressionSource.ERASURE,
            actor=actor,
            keep_address=False,
        )
    scrub_correspondence(session, row.id, digest, hashed_subject(key))
    for event in session.exec(
        select(AuditEvent).where(col(AuditEvent.subject).in_([key, row.email or key]))
    ):
        event.subject = hashed_subject(key)
        event.detail = "{}"
        session.add(event)
    session.delete(row)
    record_event(session, actor, "recipients.erase", hashed_subject(key))
    return digest


def scrub_correspondence(
    session: Session, recipient_id: int | None, digest: str | None, pseudonym: str
) -> None:
    """Remove the person from letters and the mail they sent, keeping only counts and states.

    Letters keep their state and the address hash (so reports still count them and the
    suppression still applies); their bytes, address and key go. Inbound messages tied to those
    letters lose their raw bytes, text, sender and subject; positions lose their quotes.
    """
    conditions = []
    if recipient_id is not None:
        conditions.append(col(Letter.recipient_id) == recipient_id)
    if digest is not None:
        conditions.append(col(Letter.address_hash) == digest)
    if not conditions:
        return
    letters = [letter.id for letter in session.exec(select(Letter).where(sa.or_(*conditions)))]
    if not letters:
        return
    session.execute(
        sa.update(Letter)
        .where(col(Letter.id).in_(letters))
        .values(recipient_key=pseudonym[:64], recipient_id=None, to_address="", mime=b"")
    )
    session.execute(
        sa.update(InboundMessage)
        .where(col(InboundMessage.letter_id).in_(letters))
        .values(raw=b"", text=None, sender=None, subject="", error=None)
    )
    session.execute(
        sa.update(Position).where(col(Position.letter_id).in_(letters)).values(evidence="")
    )


def hashed_subject(key: str) -> str:
    """How an erased recipient's key appears in the audit trail."""
    return "erased:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
