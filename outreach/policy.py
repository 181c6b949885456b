"""Delivery policy, pure: what an SMTP outcome means for a letter, and when to try again."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from outreach.models import AttemptOutcome

# Minutes between attempts after a temporary failure (cf. Postfix's 5 min doubling to ~67 min):
# early retries catch a greylisting server (RFC 6647), later ones a mailbox that is full for a day.
BACKOFF_MINUTES = (5, 15, 30, 60, 120, 240, 480)
ENHANCED = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


class Stage(StrEnum):
    """Where in the SMTP dialogue an outcome happened."""

    CONNECT = "connect"  # connecting, TLS, EHLO, AUTH
    ENVELOPE = "envelope"  # MAIL FROM, RCPT TO
    DATA = "data"  # from the DATA command to the reply after the final "."


@dataclass(frozen=True, slots=True)
class SmtpOutcome:
    """What the server said (or that it said nothing) at one stage of one delivery."""

    stage: Stage
    code: int | None  # None: no reply (refused, reset, timeout)
    text: str = ""

    @property
    def enhanced_code(self) -> str | None:
        """The RFC 3463 enhanced status code at the start of the reply text, if any."""
        found = ENHANCED.match(self.text)
        return found.group(1) if found else None


def classify(outcome: SmtpOutcome) -> AttemptOutcome:
    """The meaning of an outcome for the letter (RFC 5321 §4.2.1, §4.5.3.1.10)."""
    if outcome.stage is Stage.CONNECT:
        # Refused, TLS failed, AUTH refused (535), a 5xx greeting: the server or our settings,
        # not this letter. Retry later; repeated, these pause the campaign.
        return AttemptOutcome.DEFERRED
    if outcome.code is None:
        # No reply once DATA began: the server may have accepted the message (RFC 1047).
        # Resending could duplicate it, so the letter is `unknown` until evidence or a person
        # settles it. Before DATA nothing was transmitted: a temporary failure.
        return AttemptOutcome.UNKNOWN if outcome.stage is Stage.DATA else AttemptOutcome.DEFERRED
    if 200 <= outcome.code < 300:
        return AttemptOutcome.SENT if outcome.stage is Stage.DATA else AttemptOutcome.DEFERRED
    if 400 <= outcome.code < 500:
        return AttemptOutcome.DEFERRED
    if outcome.code == 552:
        # "Requested mail action aborted: exceeded storage allocation": RFC 5321 §4.5.3.1.10
        # tells clients to treat 552 as temporary (a full mailbox empties).
        return AttemptOutcome.DEFERRED
    return AttemptOutcome.FAILED


def is_connection_failure(outcome: SmtpOutcome) -> bool:
    """A failure of the server or the network rather than of this letter (counts to pause)."""
    silent = outcome.code is None and outcome.stage is not Stage.DATA
    return outcome.stage is Stage.CONNECT or silent


def next_attempt(
    attempts: int, now: dt.datetime, deadline: dt.datetime, jitter: float
) -> dt.datetime | None:
    """When to try again after `attempts` attempts, or None if that would pass the deadline.

    `jitter` in [0, 1) spreads retries by up to +20% so that letters deferred together by one
    server do not all come back in the same second.
    """
    if not 0 <= jitter < 1:
        raise ValueError("jitter must be in [0, 1)")
    minutes = BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1]
    when = now + dt.timedelta(minutes=minutes * (1 + 0.2 * jitter))
    return when if when <= deadline else None
