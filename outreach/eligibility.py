"""Whether a recipient may be written to at all: status and the suppression list."""

from __future__ import annotations

from sqlmodel import Session

from outreach.recipients.record import RecipientRecord, RecipientStatus
from outreach.suppression import is_suppressed


def why_not_sendable(session: Session, recipient: RecipientRecord) -> str | None:
    """The reason no letter may go to this recipient, or None if one may (if it can be made)."""
    if recipient.status is RecipientStatus.DO_NOT_CONTACT:
        return "do_not_contact"
    if recipient.status is RecipientStatus.INACTIVE:
        return "inactive"
    if recipient.email and is_suppressed(session, recipient.email):
        return "address suppressed"
    return None
