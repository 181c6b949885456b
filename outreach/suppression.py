"""The suppression list: addresses never to be written to, compared by hash of their normal form."""

from __future__ import annotations

import hashlib

from sqlmodel import Session, select

from outreach import clock
from outreach.addresses import address_key, parse_address
from outreach.audit import record_event
from outreach.errors import NotFoundError, StateError
from outreach.models import Suppression, SuppressionSource


def address_hash(address: str) -> str:
    """SHA-256 of the address's comparison form: what an erased person leaves behind."""
    return hashlib.sha256(address_key(address).encode("utf-8")).hexdigest()


def find_suppression(session: Session, address: str) -> Suppression | None:
    """The suppression entry covering this address, if any."""
    return session.exec(
        select(Suppression).where(Suppression.address_hash == address_hash(address))
    ).first()


def is_suppressed(session: Session, address: str) -> bool:
    """Whether the address may never be written to."""
    return find_suppression(session, address) is not None


def suppress(
    session: Session,
    address: str,
    *,
    reason: str,
    source: SuppressionSource,
    actor: str,
    keep_address: bool = True,
) -> tuple[Suppression, bool]:
    """Suppress an address (idempotent); returns the entry and whether it is new."""
    normalised = parse_address(address)
    existing = find_suppression(session, normalised)
    if existing is not None:
        if not keep_address and existing.address is not None:
            existing.address = None  # an erasure must not leave the clear address behind
            session.add(existing)
        return existing, False
    entry = Suppression(
        address_hash=address_hash(normalised),
        address=normalised if keep_address else None,
        reason=reason,
        source=source,
        created_at=clock.now(),
        created_by=actor,
    )
    session.add(entry)
    subject = normalised if keep_address else entry.address_hash
    record_event(session, actor, "suppress", subject, reason=reason, source=source.value)
    return entry, True


def unsuppress(session: Session, address: str, *, actor: str, reason: str) -> Suppression:
    """Lift a suppression; refused for an erased person (only a hash is left, by design)."""
    normalised = parse_address(address)
    entry = find_suppression(session, normalised)
    if entry is None:
        raise NotFoundError(f"{normalised} is not on the suppression list")
    if entry.source is SuppressionSource.ERASURE:
        raise StateError(
            f"{normalised} was suppressed when the person's data was erased; "
            "it cannot be lifted (write to them only if they contact you again and agree)"
        )
    session.delete(entry)
    record_event(session, actor, "unsuppress", normalised, reason=reason)
    return entry


def list_suppressions(session: Session) -> list[Suppression]:
    """Every suppression entry, newest first."""
    return list(session.exec(select(Suppression).order_by(Suppression.created_at.desc())))  # type: ignore[attr-defined]
