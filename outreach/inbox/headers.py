"""The envelope of an inbound message: its identifying header fields, as plain values."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from email.header import decode_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

__all__ = ["Envelope", "best_effort_envelope", "clean", "header_text", "read_envelope"]

_MSGID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True, slots=True)
class Envelope:
    """Identifying header facts, extracted as plain strings (no header objects kept)."""

    message_id: str | None = None
    subject: str = ""
    sender: str | None = None  # From, else Return-Path: bare, lower-case
    date: dt.datetime | None = None  # aware, UTC
    recipients: tuple[str, ...] = ()  # To, Cc and the delivery fields
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    return_path: str | None = None  # the envelope sender, when a Return-Path names one
    return_path_null: bool = False  # "Return-Path: <>": sent by software (RFC 5321 §4.5.5)
    from_null: bool = False  # a From field without an address ("System" <>): software too
    own: tuple[str, ...] = ()  # addresses of this message itself, not of a failed recipient
    authors: tuple[str, ...] = ()  # every address in From (RFC 5322 §3.6.2 allows several)
    # Authentication-Results fields (RFC 8601), topmost first: the receiving server prepends
    # its own, so what a sender wrote comes after it. Unfolded, at most 20 of 2000 characters.
    auth_results: tuple[str, ...] = ()


def clean(value: str) -> str:
    """Replace undecodable bytes smuggled in as surrogates; keep a plain str."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def header_text(value: object, limit: int = 2000) -> str:
    """A header as readable text: RFC 2047 words decoded leniently, folded to one line."""
    # Unfold first (RFC 5322 §2.2.3): decode_header works line by line and would drop
    # the folding whitespace between an encoded word and the next word.
    raw = re.sub(r"\r?\n[ \t]+", " ", clean(str(value if value is not None else ""))[: limit * 4])
    try:
        pieces = decode_header(raw)
    except Exception:
        pieces = [(raw, None)]
    out: list[str] = []
    for chunk, charset in pieces:
        if isinstance(chunk, bytes):
            try:
                out.append(chunk.decode(charset or "ascii", "replace"))
            except (LookupError, ValueError):  # unknown/odd charset in an encoded word
                out.append(chunk.decode("latin-1", "replace"))
        else:
            out.append(chunk)
    return " ".join("".join(out).split())[:limit]


def _raw_values(msg: Message, name: str) -> list[str]:
    """A header's values as received: 8-bit text kept as surrogates for clean() to decode.

    compat32's get() turns raw UTF-8 in a header (RFC 6532) into an "unknown-8bit" Header
    whose text is only replacement characters; the raw value still has the bytes.
    """
    return [str(value) for key, value in msg.raw_items() if key.lower() == name.lower()]


def _addresses(msg: Message, *names: str) -> list[str]:
    values = [clean(v)[:5000] for n in names for v in _raw_values(msg, n)]
    try:
        pairs = getaddresses(values)
    except Exception:
        return []
    return [a.strip().lower() for _, a in pairs if "@" in a and len(a) <= 320]


def _msgids(msg: Message, name: str) -> tuple[str, ...]:
    values = " ".join(clean(v)[:20_000] for v in _raw_values(msg, name))
    return tuple(dict.fromkeys(_MSGID.findall(values)))[:100]


def _date(msg: Message) -> dt.datetime | None:
    try:
        date = parsedate_to_datetime(clean(str(msg.get("Date", ""))))
    except Exception:
        return None
    # RFC 5322 "-0000" (zone unknown) parses naive: treat as UTC.
    return (date if date.tzinfo else date.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _is_null(values: list[str]) -> bool:
    """Whether a field is present and names no address at all (``<>``, empty)."""
    return bool(values) and all("@" not in v and (not v.strip() or "<>" in v) for v in values)


def read_envelope(msg: Message) -> Envelope:
    """Extract identifying facts from the top-level header as plain values."""
    ids = _msgids(msg, "Message-ID")
    subjects = _raw_values(msg, "Subject")
    from_ = _addresses(msg, "From")
    return_path = _addresses(msg, "Return-Path")
    recipients = _addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    unique = tuple(dict.fromkeys(recipients))[:200]
    return Envelope(
        message_id=ids[0] if ids else None,
        subject=header_text(subjects[0] if subjects else None),
        sender=from_[0] if from_ else (return_path[0] if return_path else None),
        date=_date(msg),
        recipients=unique,
        in_reply_to=_msgids(msg, "In-Reply-To"),
        references=_msgids(msg, "References"),
        return_path=return_path[0] if return_path else None,
        return_path_null=_is_null([clean(v) for v in _raw_values(msg, "Return-Path")]),
        from_null=_is_null([clean(v) for v in _raw_values(msg, "From")]),
        own=(*unique, *from_[:1]),
        authors=tuple(dict.fromkeys(from_))[:20],
        auth_results=tuple(
            " ".join(clean(value)[:8000].split())[:2000]
            for value in _raw_values(msg, "Authentication-Results")[:20]
        ),
    )


def best_effort_envelope(raw: bytes, limit: int) -> Envelope:
    """Headers of a message refused before parsing, read from a bounded prefix."""
    try:
        head = raw[: min(limit, 64_000)].decode("ascii", "surrogateescape")
        return read_envelope(HeaderParser(policy=compat32).parsestr(head, headersonly=True))
    except Exception:
        return Envelope()
