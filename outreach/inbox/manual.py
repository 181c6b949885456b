"""Matching by hand: staff attach an inbound message to the letter it answers.

The one place that does it, for `outreach replies match` and the dashboard alike: the message
takes the letter, is marked as matched by hand and no longer needs review, what it proves about
the letter follows (replied, bounced, delivered), and the audit trail records who did it.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from outreach.audit import record_event
from outreach.config import Settings
from outreach.errors import NotFoundError
from outreach.inbox.record import apply_effects
from outreach.models import InboundMessage, Letter, MatchMethod


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
    message = session.get(InboundMessage, inbound_id)
    if message is None:
        raise NotFoundError(f"no inbound message {inbound_id} (see `outreach replies list`)")
    if session.get(Letter, letter_id) is None:
        raise NotFoundError(f"no letter {letter_id} (see `outreach letters list`)")
    message.letter_id, message.match_method = letter_id, MatchMethod.MANUAL
    message.review = False
    session.add(message)
    apply_effects(session, message, settings, now)
    record_event(session, actor, "reply.match", str(inbound_id), letter=letter_id)
    return message
