"""Personal data rights (GDPR art. 15 and 17): export all held about a person, or erase it."""

from __future__ import annotations

import hashlib
import json

from sqlmodel import Session, col, select

from outreach.audit import record_event
from outreach.models import AuditEvent, SuppressionSource
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
    for event in session.exec(
        select(AuditEvent).where(col(AuditEvent.subject).in_([key, row.email or key]))
    ):
        event.subject = hashed_subject(key)
        event.detail = "{}"
        session.add(event)
    session.delete(row)
    record_event(session, actor, "recipients.erase", hashed_subject(key))
    return digest


def hashed_subject(key: str) -> str:
    """How an erased recipient's key appears in the audit trail."""
    return "erased:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
