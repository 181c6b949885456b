"""Matching an inbound message to the letter it answers, in order of strength (ARCHITECTURE.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from outreach.errors import InputError
from outreach.inbox.classify import Classification
from outreach.models import Letter, LetterState, MatchMethod, MatchStrength
from outreach.suppression import address_hash

# local+TOKEN@domain: RFC 5233 subaddressing, as used in Reply-To and the envelope sender.
PLUS = re.compile(r"^(?P<local>[^+@\s]+)\+(?P<token>[a-z0-9]{4,16})@(?P<domain>[^@\s]+)$")
DELIVERED = (LetterState.SENT, LetterState.REPLIED, LetterState.BOUNCED, LetterState.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Match:
    """The letter a message answers, how that was found (None, None: unmatched), and how
    surely (set by outreach.inbox.evidence: only a VERIFIED match has effects by itself)."""

    letter_id: int | None
    method: MatchMethod | None
    strength: MatchStrength | None = None
    why: str = ""

    @property
    def for_review(self) -> bool:
        """A suggestion that a person must confirm before it has any effect."""
        return self.strength is MatchStrength.FOR_REVIEW


NO_MATCH = Match(None, None)


def tokens_in(addresses: Iterable[str], our_address: str) -> list[str]:
    """The tokens of our plus-addresses among `addresses` (`appeal+TOKEN@domain`)."""
    local, _, domain = our_address.lower().rpartition("@")
    found = []
    for address in addresses:
        parsed = PLUS.match(address.lower())
        if parsed and parsed["local"] == local.split("+")[0] and parsed["domain"] == domain:
            found.append(parsed["token"])
    return found


def find_letter(session: Session, message: Classification, our_address: str) -> Match:
    """The strongest match: token, In-Reply-To/References, a bounce's original, the sender."""
    for token in tokens_in(message.recipients, our_address):
        letter = session.exec(select(Letter.id).where(Letter.token == token)).first()
        if letter is not None:
            return Match(letter, MatchMethod.TOKEN)
    for message_id in (*message.in_reply_to, *reversed(message.references)):
        letter = session.exec(select(Letter.id).where(Letter.message_id == message_id)).first()
        if letter is not None:
            return Match(letter, MatchMethod.IN_REPLY_TO)
    if message.bounce is not None:
        original = message.bounce.original_message_id
        if original:
            letter = session.exec(select(Letter.id).where(Letter.message_id == original)).first()
            if letter is not None:
                return Match(letter, MatchMethod.ORIGINAL)
        ref = message.bounce.original_ref
        if ref:
            letter = session.exec(select(Letter.id).where(Letter.token == ref.lower())).first()
            if letter is not None:
                return Match(letter, MatchMethod.ORIGINAL)
    candidates = list(message.bounce.addresses) if message.bounce else []
    if message.sender:
        candidates.append(message.sender)
    for address in candidates:
        letter = latest_letter_to(session, address)
        if letter is not None:
            return Match(letter, MatchMethod.SENDER)
    return NO_MATCH


def latest_letter_to(session: Session, address: str) -> int | None:
    """The most recently sent letter to this address, if any."""
    try:
        digest = address_hash(address)
    except InputError:  # not an address we could ever have written to
        return None
    return session.exec(
        select(Letter.id)
        .where(Letter.address_hash == digest, col(Letter.state).in_(DELIVERED))
        .order_by(col(Letter.sent_at).desc(), col(Letter.id).desc())
    ).first()
