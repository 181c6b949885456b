"""Classify one inbound message (raw bytes) as reply, auto-reply, bounce or unknown; never raises.

What is bounded, and how (see ``Limits`` in limits.py):
* size: messages over ``max_bytes`` are not parsed (headers only, best effort);
* header block: over ``max_header_bytes`` or more than ``max_received`` Received fields
  (a mail loop, RFC 5321 §6.3) -> quarantined before the MIME parser runs;
* MIME: the number of multipart/message declarations is counted on the raw bytes before
  parsing (so the stdlib parser's recursion stays far from Python's limit), then the parsed
  tree is walked iteratively against ``max_depth`` and ``max_parts``;
* time: the parser is fed in chunks and a deadline is checked between every step; text is
  truncated before any regex, HTML parser, quote stripper or language model sees it.
Not bounded: a single step between two checks (one 256 KiB parser chunk, one flufl.bounce
scan of a message under 2 MB, one regex over at most 200 000 characters, one charset
detection over at most 400 kB) cannot be interrupted; each is linear or near-linear in its
capped input, so the overrun is small.

The decision is an ordered table of signals (``SIGNALS``): the first that returns a verdict
wins, and a message that none claims is a human reply, because doubt favours a reply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum
from functools import cached_property

from outreach.inbox.autoreply import AutoReplySignals, extract_return_date, read_signals
from outreach.inbox.bounce import BounceFacts, bounce_origin, detect_bounce
from outreach.inbox.charset import Decoded
from outreach.inbox.headers import Envelope, best_effort_envelope, read_envelope
from outreach.inbox.limits import Deadline, LimitExceeded, Limits, precheck
from outreach.inbox.mime import Shape, body_text, parse, plain_texts, walk
from outreach.inbox.replytext import detect_language, strip_reply

__all__ = ["SIGNALS", "BounceFacts", "Classification", "InboundKind", "Limits", "classify"]


class InboundKind(StrEnum):
    """What an inbound message is."""

    REPLY = "reply"  # written by a person in answer to a letter
    AUTO_REPLY = "auto_reply"  # out-of-office, vacation notice, acknowledgement of receipt
    BOUNCE = "bounce"  # delivery failure or delay report (DSN or non-standard)
    UNKNOWN = "unknown"  # anything else, or quarantined; ``reason`` says why


@dataclass(frozen=True, slots=True)
class Classification:
    """The classifier's verdict and the facts the matcher and the record need.

    Every field is a plain string/tuple/date copied out of the message: no email header
    objects are kept, so nothing inbound can leak into outgoing mail (CVE-2024-6923).
    """

    kind: InboundKind
    reason: str
    review: bool
    message_id: str | None
    subject: str
    sender: str | None
    date: dt.datetime | None
    recipients: tuple[str, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    bounce: BounceFacts | None = None
    return_date: dt.date | None = None
    text: str | None = None
    language: str | None = None
    quarantined: bool = False
    error: str | None = None
    authors: tuple[str, ...] = ()  # every address in From
    auth_results: tuple[str, ...] = ()  # Authentication-Results fields, topmost first


def _verdict(
    env: Envelope,
    kind: InboundKind,
    reason: str,
    *,
    review: bool = False,
    bounce: BounceFacts | None = None,
    return_date: dt.date | None = None,
    text: str | None = None,
    language: str | None = None,
    error: str | None = None,
) -> Classification:
    return Classification(
        kind=kind,
        reason=reason,
        review=review,
        message_id=env.message_id,
        subject=env.subject,
        sender=env.sender,
        date=env.date,
        recipients=env.recipients,
        in_reply_to=env.in_reply_to,
        references=env.references,
        bounce=bounce,
        return_date=return_date,
        text=text,
        language=language,
        quarantined=error is not None,
        error=error,
        authors=env.authors,
        auth_results=env.auth_results,
    )


def _quarantine(env: Envelope, error: str) -> Classification:
    return _verdict(env, InboundKind.UNKNOWN, f"quarantined: {error}", review=True, error=error)


@dataclass
class Parsed:
    """One parsed message and what the signals share; its body is decoded and stripped once."""

    msg: Message
    env: Envelope
    shape: Shape
    size: int
    languages: tuple[str, ...]
    deadline: Deadline

    @cached_property
    def body(self) -> Decoded | None:
        """The text a person wrote, decoded strictly (LimitExceeded when unreadable)."""
        body = body_text(self.shape, self.languages)
        self.deadline.check("body decoding")
        return body

    @cached_property
    def stripped(self) -> tuple[str, bool]:
        """The body without quoted original and signature, and whether the cut is unsure."""
        body = self.body
        result = strip_reply(body.text, self.languages) if body and body.text else ("", False)
        self.deadline.check("quote stripping")
        return result

    @cached_property
    def header_signals(self) -> AutoReplySignals:
        """Auto-reply evidence from the header alone."""
        return read_signals(self.msg, self.env.subject, "", self.env.return_path_null)

    @cached_property
    def signals(self) -> AutoReplySignals:
        """Auto-reply evidence from the header, the subject and the stripped body."""
        return read_signals(self.msg, self.env.subject, self.stripped[0], self.env.return_path_null)


Signal = Callable[[Parsed], Classification | None]


def bounce_signal(parsed: Parsed) -> Classification | None:
    """A delivery failure report, standard (RFC 3464) or in prose: the most specific signal."""
    origin = bounce_origin(parsed.msg, parsed.env, parsed.shape.parts)
    if origin is None:
        return None
    texts = plain_texts(parsed.shape)
    parsed.deadline.check("bounce detection")
    found = detect_bounce(
        parsed.msg,
        origin=origin,
        parts=parsed.shape.parts,
        texts=texts,
        returned_headers=parsed.shape.returned_headers,
        own_addresses=parsed.env.own,
        size=parsed.size,
    )
    parsed.deadline.check("bounce detection")
    if found.facts is not None:
        return _verdict(parsed.env, InboundKind.BOUNCE, found.reason, bounce=found.facts)
    if found.conclusive:  # a report that says the delivery succeeded
        return _verdict(parsed.env, InboundKind.UNKNOWN, found.reason)
    return None


def read_receipt_signal(parsed: Parsed) -> Classification | None:
    """An RFC 8098 read receipt: sent by software on the reader's behalf."""
    msg = parsed.msg
    report_type = str(msg.get_param("report-type", "")).lower()
    if msg.get_content_type() == "multipart/report" and "disposition-notification" in report_type:
        reason = "message disposition notification (RFC 8098)"
        return _verdict(parsed.env, InboundKind.AUTO_REPLY, reason)
    return None


def auto_reply_signal(parsed: Parsed) -> Classification | None:
    """An out-of-office, vacation notice or acknowledgement (RFC 3834 and conventions)."""
    if parsed.header_signals.strong:
        # The header alone decides: the text is software's, so it is read leniently (a
        # wrong charset label on a notice is no reason to quarantine it).
        machine = body_text(parsed.shape, parsed.languages, lenient=True)
        text = strip_reply(machine.text, parsed.languages)[0] if machine else ""
        signals = read_signals(parsed.msg, parsed.env.subject, text, parsed.env.return_path_null)
    else:
        signals = parsed.signals
        if not signals.is_auto:
            return None
        text = parsed.stripped[0]
    sent = parsed.env.date.date() if parsed.env.date else None
    return _verdict(
        parsed.env,
        InboundKind.AUTO_REPLY,
        "auto-reply: " + ", ".join(signals.strong + signals.medium),
        return_date=extract_return_date(text, parsed.languages, sent),
        language=detect_language(text) if text else None,
    )


def empty_body_signal(parsed: Parsed) -> Classification | None:
    """No text to read: a reply only if something is attached, else unknown."""
    body = parsed.body
    if body is not None and body.text.strip():
        return None
    if parsed.shape.attachments:
        reason = f"reply without a text body ({parsed.shape.attachments} attachment(s))"
        return _verdict(parsed.env, InboundKind.REPLY, reason, review=True, text="")
    return _verdict(parsed.env, InboundKind.UNKNOWN, "no text body and no attachment")


# Most specific first: a bounce may quote an out-of-office, an out-of-office may be empty.
SIGNALS: tuple[Signal, ...] = (
    bounce_signal,
    read_receipt_signal,
    auto_reply_signal,
    empty_body_signal,
)


def human_reply(parsed: Parsed) -> Classification:
    """What no signal claims: a person's reply, flagged for review with every doubt."""
    text, unsure = parsed.stripped
    language = detect_language(text)
    parsed.deadline.check("language detection")
    doubts = [*parsed.signals.medium, *parsed.signals.weak]
    if unsure:
        doubts.append("quote stripping found no answer above the quote")
    if parsed.body is not None and parsed.body.note:
        doubts.append(f"body {parsed.body.note}")
    reason = "human reply" + (f" (check: {', '.join(doubts)})" if doubts else "")
    return _verdict(
        parsed.env, InboundKind.REPLY, reason, review=bool(doubts), text=text, language=language
    )


def decide(parsed: Parsed) -> Classification:
    """The first signal's verdict, in the order of SIGNALS; otherwise a human reply."""
    for signal in SIGNALS:
        if (verdict := signal(parsed)) is not None:
            return verdict
    return human_reply(parsed)


DEFAULT_LIMITS = Limits()  # frozen, so safe as a shared default


def classify(
    raw: bytes,
    *,
    languages: Sequence[str] = ("en", "fr", "de", "ru", "es"),
    limits: Limits = DEFAULT_LIMITS,
) -> Classification:
    """Classify one raw message; never raises (failures come back quarantined as UNKNOWN)."""
    env = Envelope()
    try:
        deadline = Deadline(limits.max_seconds)
        if not isinstance(raw, bytes | bytearray | memoryview):
            return _quarantine(env, f"input is {type(raw).__name__}, not bytes")
        raw = bytes(raw)
        refused = precheck(raw, limits)
        if refused:
            env = best_effort_envelope(raw, limits.max_header_bytes)
            return _quarantine(env, refused)
        msg = parse(raw, deadline)
        env = read_envelope(msg)
        deadline.check("header extraction")
        shape = walk(msg, limits, deadline)
        return decide(Parsed(msg, env, shape, len(raw), tuple(languages), deadline))
    except LimitExceeded as exc:
        return _quarantine(env, str(exc))
    except RecursionError:
        return _quarantine(env, "MIME nesting too deep for the parser")
    except Exception as exc:  # hostile input must never stop the ingest
        return _quarantine(env, f"{type(exc).__name__}: {exc}"[:300])
