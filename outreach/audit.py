"""The audit trail: every change records who made it, when, and to what."""

from __future__ import annotations

import getpass
import json

from sqlmodel import Session

from outreach import clock
from outreach.models import AuditEvent


def default_actor(configured: str) -> str:
    """The configured actor name, else the operating-system user."""
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in a bare container
        return "unknown"


def record_event(
    session: Session, actor: str, action: str, subject: str, **detail: object
) -> AuditEvent:
    """Add an audit event to the session's transaction, so it commits with the change itself."""
    event = AuditEvent(
        at=clock.now(),
        actor=actor,
        action=action,
        subject=subject,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(event)
    return event
