"""Matching by hand: staff attach an inbound message to its letter, confirm or reject a suggestion.

The one place that does it, for `outreach replies match/confirm/reject` and the dashboard alike.
Matching by hand and confirming both make the match CONFIRMED and apply what the message proves
about the letter (replied, bounced, delivered, a suppression), which a suggestion FOR_REVIEW
deferred (outreach.inbox.evidence). Rejecting a suggestion detaches it: the message goes back
to the unmatched ones, with nothing applied. Each is recorded in the audit trail with its actor.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from outreach.audit import record_event
from outreach.config import Settings
from outreach.errors import NotFoundError, StateError
from outreach.inbox.record import apply_effects, get_inbound
from outreach.models import InboundMessage, Letter, MatchMethod, MatchStrength


def match_by_hand(
    session: Session,
    inbound_id: int,
    letter_id: int,
    settings: Settings,
    *,
    actor: str,
    now: dt.datetime,
) -> InboundMessage:
    """Attach message `inbound_id` to letter `letter_id`, with the effects of a match.

    Raises NotFoundError when the message or the letter does not exist; a message matched
    before (perhaps wrongly) is simply attached to the new letter.
    """
    message = get_inbound(session, inbound_id)
    if session.get(Letter, letter_id) is None:
        raise NotFoundError(f"no letter {letter_id} (see `outreach letters list`)")
    message.letter_id, message.match_method = letter_id, MatchMethod.MANUAL
    message.match_strength = MatchStrength.CONFIRMED
    message.match_note = f"matched by hand by {actor}"[:1000]
    message.review = False
    session.add(message)
    apply_effects(session, message, settings, now)
    record_event(session, actor, "reply.match", str(inbound_id), letter=letter_id)
    return message


def suggestion(message: InboundMessage, verb: str) -> int:
    """The letter a message is suggested for; StateError when there is nothing to `verb`."""
    inbound_id = message.id
    if message.letter_id is None:
        raise StateError(
            f"message {inbound_id} is matched to no letter, so there is nothing to {verb}: "
            f"attach it with `outreach replies match {inbound_id} --letter LETTER_ID`"
        )
    if message.match_strength is not MatchStrength.FOR_REVIEW:
        strength = message.match_strength.value if message.match_strength else "matched"
        raise StateError(
            f"message {inbound_id} is {strength} for letter {message.letter_id}, not a "
            f"suggestion: there is nothing to {verb} (to move it to another letter, use "
            f"`outreach replies match {inbound_id} --letter LETTER_ID`)"
        )
    return message.letter_id


def confirm_match(
    session: Session,
    inbound_id: int,
    settings: Settings,
    *,
    actor: str,
    now: dt.datetime,
    letter_id: int | None = None,
) -> InboundMessage:
    """A person confirms that a suggested message is about its letter: its effects follow.

    With `letter_id` other than the suggestion, the message is matched to that letter by hand
    instead. StateError when the message is no suggestion (unmatched, verified, confirmed).
    """
    message = get_inbound(session, inbound_id)
    if letter_id is not None and letter_id != message.letter_id:
        return match_by_hand(session, inbound_id, letter_id, settings, actor=actor, now=now)
    suggested = suggestion(message, "confirm")
    why = message.match_note
    message.match_strength = MatchStrength.CONFIRMED
    message.match_note = f"confirmed by {actor}; was for review: {why}"[:1000]
    message.review = False
    session.add(message)
    apply_effects(session, message, settings, now)
    record_event(session, actor, "reply.confirm", str(inbound_id), letter=suggested, why=why)
    return message


def reject_match(
    session: Session, inbound_id: int, *, actor: str, now: dt.datetime
) -> InboundMessage:
    """A person says a suggested message is not about its letter: it goes back to triage.

    Nothing had been applied, so nothing is undone. StateError when it is no suggestion.
    """
    message = get_inbound(session, inbound_id)
    suggested = suggestion(message, "reject")
    why = message.match_note
    message.letter_id = message.match_method = message.match_strength = None
    message.match_note = f"not about letter {suggested}, said {actor} on {now:%Y-%m-%d}"[:1000]
    session.add(message)
    record_event(session, actor, "reply.reject", str(inbound_id), letter=suggested, why=why)
    return message
