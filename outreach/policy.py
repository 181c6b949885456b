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
# Refusals for reputation or volume that carry no enhanced code, in the providers' words:
# Outlook.com "550 SC-001 ... part of their network is on our block list", a host listed by
# Spamhaus "554 Service unavailable; Client host [...] blocked using zen.spamhaus.org", and the
# "rate limited" / "poor reputation" of others. Kept short: each word here holds letters back.
POLICY_WORDS = re.compile(
    r"\bspam|\bblocked\b|\bblock ?list|\bblack ?list|\breputation\b|\brate[ -]?limit",
    re.IGNORECASE,
)


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
    # outreach itself stopped at this stage (the letter cannot be put on the wire, or a fault
    # of its own): the server was asked nothing more, so `text` is outreach's reason.
    local: bool = False

    @property
    def enhanced_code(self) -> str | None:
        """The RFC 3463 enhanced status code at the start of the reply text, if any."""
        found = ENHANCED.match(self.text)
        return found.group(1) if found else None


def readable(text: str, limit: int = 1000) -> str:
    """A reply or error text fit to store: bounded, without NUL or undecodable bytes.

    aiosmtplib keeps a reply's invalid UTF-8 as lone surrogates, which neither database can
    encode, and PostgreSQL refuses NUL: stored as they are, they would fail the commit of every
    letter recorded with them.
    """
    cleaned = text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


class FailureKind(StrEnum):
    """Why an attempt counts towards pausing its campaign: the server's side, not the letter's."""

    CONNECTION = "connection"  # refused, TLS, AUTH, a refusing greeting, dropped before DATA
    POLICY = "policy"  # our mail refused for who sends it: reputation, spam, rate, relay policy
    LOCAL = "local"  # outreach could not send the letter (its data, or a fault of outreach)


def is_policy_rejection(outcome: SmtpOutcome) -> bool:
    """A refusal of our mail for who sends it, not for whom it is to (a 5.1.1 is not one).

    RFC 3463 §3.8: the X.7.XXX codes are "security or policy status" (5.7.1 delivery not
    authorized, 4.7.0 / 4.7.28 rate and reputation limits); an enhanced code in another class
    (5.1.1 no such user, 4.2.2 mailbox full) speaks of the mailbox and settles it. Without an
    enhanced code, the providers' own words decide.
    """
    if outcome.stage is Stage.CONNECT or outcome.code is None or not 400 <= outcome.code < 600:
        return False
    enhanced = outcome.enhanced_code
    if enhanced is not None:
        return enhanced.split(".")[1] == "7"
    return POLICY_WORDS.search(outcome.text) is not None


def failure_kind(outcome: SmtpOutcome) -> FailureKind | None:
    """What the outcome counts as towards a pause; None (the server works) resets the count."""
    if outcome.stage is Stage.CONNECT:
        return FailureKind.CONNECTION
    if outcome.local:
        return FailureKind.LOCAL
    if outcome.code is None:
        # Dropped before DATA: the server's failure. After DATA began: this letter's fate is
        # unknown, but nothing says the server is failing us.
        return FailureKind.CONNECTION if outcome.stage is Stage.ENVELOPE else None
    return FailureKind.POLICY if is_policy_rejection(outcome) else None


def classify(outcome: SmtpOutcome) -> AttemptOutcome:
    """The meaning of an outcome for the letter (RFC 5321 §4.2.1, §4.5.3.1.10)."""
    if outcome.stage is Stage.CONNECT:
        # Refused, TLS failed, AUTH refused (535), a 5xx greeting: the server or our settings,
        # not this letter. Retry later; repeated, these pause the campaign.
        return AttemptOutcome.DEFERRED
    if outcome.local and outcome.stage is Stage.ENVELOPE:
        # Nothing was transmitted, and the same stored letter would stop the same way at every
        # retry: it fails now, with outreach's reason, for staff to see.
        return AttemptOutcome.FAILED
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
    if is_policy_rejection(outcome):
        # Refused for who sends it, not for the recipient: the letter waits (a run of these
        # pauses the campaign) and goes once the sender's standing is repaired.
        return AttemptOutcome.DEFERRED
    return AttemptOutcome.FAILED


def next_attempt(
    attempts: int, now: dt.datetime, deadline: dt.datetime | None, jitter: float
) -> dt.datetime | None:
    """When to try again after `attempts` attempts, or None if that would pass the deadline.

    `jitter` in [0, 1) spreads retries by up to +20% so that letters deferred together by one
    server do not all come back in the same second. No deadline: always a time.
    """
    if not 0 <= jitter < 1:
        raise ValueError("jitter must be in [0, 1)")
    minutes = BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1]
    when = now + dt.timedelta(minutes=minutes * (1 + 0.2 * jitter))
    return when if deadline is None or when <= deadline else None
