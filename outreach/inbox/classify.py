"""Classify one inbound message (raw bytes) as reply, auto-reply, bounce or unknown; never raises.

What is bounded, and how (see ``Limits``):
* size: messages over ``max_bytes`` are not parsed (headers only, best effort);
* header block: over ``max_header_bytes`` or more than ``max_received`` Received fields
  (a mail loop, RFC 5321 §6.3) -> quarantined before the MIME parser runs;
* MIME: the number of multipart/message declarations is counted on the raw bytes before
  parsing (so the stdlib parser's recursion stays far from Python's limit), then the parsed
  tree is walked iteratively against ``max_depth`` and ``max_parts``;
* time: the parser is fed in chunks and a deadline is checked between every step; text is
  truncated before any regex, HTML parser, quote stripper or language model sees it.
Not bounded: a single step between two checks (one 256 KiB parser chunk, one flufl.bounce
scan of a message under 2 MB, one regex over at most 200 000 characters) cannot be
interrupted; each is linear or near-linear in its capped input, so the overrun is small.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
from email.parser import BytesFeedParser, HeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value, getaddresses, parsedate_to_datetime
from enum import StrEnum

from outreach.inbox.autoreply import extract_return_date, read_signals
from outreach.inbox.bounce import BounceFacts, detect_bounce, looks_like_bounce
from outreach.inbox.replytext import detect_language, html_to_text, strip_reply, unflow

__all__ = ["BounceFacts", "Classification", "InboundKind", "Limits", "classify"]

_CHUNK = 256 * 1024
_MAX_TEXT_CHARS = 200_000  # text handed to any regex-based step
_HEADER_START = re.compile(rb"^[!-9;-~]{1,76}:")  # RFC 5322 §2.2 field-name, then ':'
_MULTIPART_DECL = re.compile(rb"^content-type:[ \t]*(?:multipart|message)/", re.I | re.M)
_RECEIVED = re.compile(rb"^received:", re.I | re.M)
_MSGID = re.compile(r"<[^<>\s]{1,250}>")


class InboundKind(StrEnum):
    """What an inbound message is."""

    REPLY = "reply"  # written by a person in answer to a letter
    AUTO_REPLY = "auto_reply"  # out-of-office, vacation notice, acknowledgement of receipt
    BOUNCE = "bounce"  # delivery failure or delay report (DSN or non-standard)
    UNKNOWN = "unknown"  # anything else, or quarantined; ``reason`` says why


@dataclass(frozen=True)
class Limits:
    """Resource limits for classifying one message (defaults suit diplomatic correspondence)."""

    max_bytes: int = 10_000_000  # whole message
    max_depth: int = 20  # MIME nesting (multipart and message/rfc822 levels)
    max_parts: int = 500  # MIME parts in the tree
    max_header_bytes: int = 100_000  # top-level header block; real ones are < 20 kB
    max_seconds: float = 5.0  # wall-clock budget, checked between steps
    max_received: int = 100  # RFC 5321 §6.3: more Received fields than this is a loop


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


class _LimitExceeded(Exception):
    """A message broke a limit; the text is the quarantine reason."""


class _Deadline:
    """Wall-clock budget checked between processing steps."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self, step: str) -> None:
        if time.monotonic() > self.end:
            raise _LimitExceeded(f"time limit of {self.seconds:g} s exceeded during {step}")


@dataclass
class _Envelope:
    """Identifying header facts, extracted as plain strings."""

    message_id: str | None = None
    subject: str = ""
    sender: str | None = None
    date: dt.datetime | None = None
    recipients: tuple[str, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    return_path_null: bool = False
    own: list[str] = field(default_factory=list)


def _clean(value: str) -> str:
    """Replace undecodable bytes smuggled in as surrogates; keep a plain str."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _header_text(value: object, limit: int = 2000) -> str:
    """A header as readable text: RFC 2047 words decoded leniently, folded to one line."""
    # Unfold first (RFC 5322 §2.2.3): decode_header works line by line and would drop
    # the folding whitespace between an encoded word and the next word.
    raw = re.sub(r"\r?\n[ \t]+", " ", _clean(str(value if value is not None else ""))[: limit * 4])
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
    """A header's values as received: 8-bit text kept as surrogates for _clean to decode.

    compat32's get() turns raw UTF-8 in a header (RFC 6532) into an "unknown-8bit" Header
    whose text is only replacement characters; the raw value still has the bytes.
    """
    return [str(value) for key, value in msg.raw_items() if key.lower() == name.lower()]


def _addresses(msg: Message, *names: str) -> list[str]:
    values = [_clean(v)[:5000] for n in names for v in _raw_values(msg, n)]
    try:
        pairs = getaddresses(values)
    except Exception:
        return []
    return [a.strip().lower() for _, a in pairs if "@" in a and len(a) <= 320]


def _msgids(msg: Message, name: str) -> tuple[str, ...]:
    values = " ".join(_clean(v)[:20_000] for v in _raw_values(msg, name))
    return tuple(dict.fromkeys(_MSGID.findall(values)))[:100]


def _envelope(msg: Message) -> _Envelope:
    """Extract identifying facts from the top-level header as plain values."""
    env = _Envelope()
    ids = _msgids(msg, "Message-ID")
    env.message_id = ids[0] if ids else None
    subjects = _raw_values(msg, "Subject")
    env.subject = _header_text(subjects[0] if subjects else None)
    from_ = _addresses(msg, "From")
    return_path = _clean(str(msg.get("Return-Path", "")))
    env.return_path_null = msg.get("Return-Path") is not None and return_path.strip() in {"<>", ""}
    rp = _addresses(msg, "Return-Path")
    env.sender = from_[0] if from_ else (rp[0] if rp else None)
    try:
        date = parsedate_to_datetime(_clean(str(msg.get("Date", ""))))
        # RFC 5322 "-0000" (zone unknown) parses naive: treat as UTC.
        env.date = (date if date.tzinfo else date.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except Exception:
        env.date = None
    recips = _addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    env.recipients = tuple(dict.fromkeys(recips))[:200]
    env.in_reply_to = _msgids(msg, "In-Reply-To")
    env.references = _msgids(msg, "References")
    env.own = [*env.recipients, *(from_[:1])]
    return env


def _result(
    env: _Envelope, kind: InboundKind, reason: str, *, review: bool = False, **extra: object
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
        **extra,  # type: ignore[arg-type]
    )


def _quarantine(env: _Envelope, error: str) -> Classification:
    return _result(
        env,
        InboundKind.UNKNOWN,
        f"quarantined: {error}",
        review=True,
        quarantined=True,
        error=error,
    )


def _header_end(raw: bytes, limit: int) -> int | None:
    """Offset where the header block ends (the empty line), searched within ``limit`` bytes."""
    window = raw[: limit + 4]
    ends = [i for i in (window.find(b"\r\n\r\n"), window.find(b"\n\n")) if i >= 0]
    if ends:
        return min(ends)
    return None if len(raw) > limit else len(raw)


def _best_effort_envelope(raw: bytes, limit: int) -> _Envelope:
    """Headers of a message refused before parsing, read from a bounded prefix."""
    try:
        head = raw[: min(limit, 64_000)].decode("ascii", "surrogateescape")
        return _envelope(HeaderParser(policy=compat32).parsestr(head, headersonly=True))
    except Exception:
        return _Envelope()


def _precheck(raw: bytes, limits: Limits) -> str | None:
    """Refuse hostile shapes before the MIME parser runs; returns the reason or None."""
    start = raw[:1000]
    if start.startswith(b"From "):  # mbox separator line left by some exporters
        start = start.partition(b"\n")[2]
    if not _HEADER_START.match(start):
        return "no RFC 5322 header block (message does not start with a header field)"
    end = _header_end(raw, limits.max_header_bytes)
    header = raw[: end if end is not None else limits.max_header_bytes * 2]
    if b"\x00" in header:
        return "NUL byte in the header block (RFC 5322 §2.2 forbids it)"
    received = len(_RECEIVED.findall(header))
    if received > limits.max_received:
        return f"mail loop: {received}+ Received header fields (limit {limits.max_received})"
    if end is None or end > limits.max_header_bytes:
        return f"header block larger than {limits.max_header_bytes} bytes"
    if len(raw) > limits.max_bytes:
        return f"message larger than {limits.max_bytes} bytes"
    declared = len(_MULTIPART_DECL.findall(raw))
    if declared > limits.max_parts:
        return f"more than {limits.max_parts} MIME parts declared ({declared})"
    return None


def _parse(raw: bytes, deadline: _Deadline) -> Message:
    parser = BytesFeedParser(policy=compat32)
    for offset in range(0, len(raw), _CHUNK):
        deadline.check("MIME parsing")
        parser.feed(raw[offset : offset + _CHUNK])
    return parser.close()


@dataclass
class _Shape:
    """The parts of a message sorted by role."""

    # Parts of the message itself (not of a returned original).
    parts: list[Message] = field(default_factory=list)
    returned_headers: list[str] = field(default_factory=list)  # header text of returned originals
    attachments: int = 0


def _walk(msg: Message, limits: Limits, deadline: _Deadline) -> _Shape:
    """Iterative walk enforcing depth/part limits; separates returned originals."""
    shape = _Shape()
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    count = 0
    while stack:
        part, depth, inside_original = stack.pop()
        count += 1
        if depth > limits.max_depth:
            raise _LimitExceeded(f"MIME nesting deeper than {limits.max_depth}")
        if count > limits.max_parts:
            raise _LimitExceeded(f"more than {limits.max_parts} MIME parts")
        if count % 50 == 0:
            deadline.check("MIME walk")
        ctype = part.get_content_type()
        # Only ask for list payloads: compat32 decodes str payloads with the declared
        # charset, which can raise for hostile charsets (e.g. idna with 'replace').
        payload = part.get_payload() if part.is_multipart() else None
        if ctype in {"message/rfc822", "message/global"} and isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    # Returned originals (RFC 3464 §2) carry the Message-ID we sent.
                    head = "".join(f"{k}: {_clean(str(v))[:2000]}\n" for k, v in sub.items()[:200])
                    shape.returned_headers.append(head)
                    stack.append((sub, depth + 1, True))
            continue
        if ctype in {"message/delivery-status", "message/global-delivery-status"}:
            # Its field groups parse as header-only sub-messages: keep the part whole.
            if not inside_original:
                shape.parts.append(part)
            continue
        if ctype in {"text/rfc822-headers", "message/rfc822-headers"} and not inside_original:
            shape.returned_headers.append(_decode_lenient(part)[:_MAX_TEXT_CHARS])
            continue
        if part.is_multipart() and isinstance(payload, list):
            for sub in reversed(payload):
                if isinstance(sub, Message):
                    stack.append((sub, depth + 1, inside_original))
            continue
        if inside_original:
            continue
        shape.parts.append(part)
        if (
            part.get_content_maintype() not in {"text", "message"}
            or "attachment" in str(part.get("Content-Disposition", "")).lower()
        ):
            shape.attachments += 1
    return shape


def _charset(part: Message) -> str | None:
    value = part.get_param("charset")
    if value is None:
        return None
    text = collapse_rfc2231_value(value) if isinstance(value, tuple) else str(value)
    return _clean(text).strip().strip("\"'").lower() or None


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # the stdlib decoders are lenient, but not for every input
        raise _LimitExceeded(f"undecodable transfer encoding: {exc}"[:200]) from None
    return data if isinstance(data, bytes) else b""


def _decode_lenient(part: Message) -> str:
    """Text of a part for machine-written content (bounce notices): never fails."""
    data = _payload_bytes(part)[: _MAX_TEXT_CHARS * 4]
    charset = _charset(part) or "utf-8"
    try:
        return data.decode(charset, "replace")
    except (LookupError, UnicodeError, ValueError):  # e.g. idna refuses 'replace'
        return data.decode("utf-8", "replace")


def _decode_strict(part: Message) -> str:
    """Text of a part a person wrote: an unknown charset or undecodable bytes is an error."""
    data = _payload_bytes(part)
    charset = _charset(part)
    cte = re.sub(r"[^\w.-]", "?", _header_text(part.get("Content-Transfer-Encoding", "7bit"), 40))
    cte = cte.lower() or "7bit"
    try:
        # RFC 2045 §5.2 default is us-ascii; UTF-8 is the de-facto default for 8-bit text.
        text = data.decode(charset or "utf-8", "strict")
    except LookupError:
        raise _LimitExceeded(f"undecodable charset {charset}") from None
    except (UnicodeError, ValueError) as exc:
        detail = f" ({cte})" if cte not in {"7bit", "8bit", "binary"} else ""
        raise _LimitExceeded(
            f"undecodable {cte} body: not valid {charset or 'utf-8'}{detail}: {exc}"[:300]
        ) from None
    if "\x00" in text:
        raise _LimitExceeded("NUL characters in a text body")
    return text[:_MAX_TEXT_CHARS]


def _text_parts(shape: _Shape) -> Iterator[Message]:
    for part in shape.parts:
        if "attachment" in str(part.get("Content-Disposition", "")).lower():
            continue
        if part.get_content_type() in {"text/plain", "text/html"}:
            yield part


def _body_text(shape: _Shape) -> str | None:
    """The readable body: the first text/plain part, else the first HTML part as text."""
    parts = list(_text_parts(shape))
    plain = [p for p in parts if p.get_content_type() == "text/plain"]
    if plain:
        part = plain[0]
        text = _decode_strict(part)
        if str(part.get_param("format", "")).lower() == "flowed":
            text = unflow(text, str(part.get_param("delsp", "")).lower() == "yes")
        return text
    html = [p for p in parts if p.get_content_type() == "text/html"]
    if html:
        return html_to_text(_decode_strict(html[0]))
    return None


def classify(
    raw: bytes,
    *,
    languages: Sequence[str] = ("en", "fr", "de", "ru", "es"),
    limits: Limits = Limits(),  # frozen, so safe as a shared default
) -> Classification:
    """Classify one raw message; never raises (failures come back quarantined as UNKNOWN)."""
    env = _Envelope()
    try:
        deadline = _Deadline(limits.max_seconds)
        if not isinstance(raw, bytes | bytearray | memoryview):
            return _quarantine(env, f"input is {type(raw).__name__}, not bytes")
        raw = bytes(raw)
        refused = _precheck(raw, limits)
        if refused:
            env = _best_effort_envelope(raw, limits.max_header_bytes)
            return _quarantine(env, refused)
        msg = _parse(raw, deadline)
        env = _envelope(msg)
        deadline.check("header extraction")
        shape = _walk(msg, limits, deadline)
        return _decide(msg, env, shape, raw, languages, deadline)
    except _LimitExceeded as exc:
        return _quarantine(env, str(exc))
    except RecursionError:
        return _quarantine(env, "MIME nesting too deep for the parser")
    except Exception as exc:  # hostile input must never stop the ingest
        return _quarantine(env, f"{type(exc).__name__}: {exc}"[:300])


def _decide(
    msg: Message,
    env: _Envelope,
    shape: _Shape,
    raw: bytes,
    languages: Sequence[str],
    deadline: _Deadline,
) -> Classification:
    """Bounce first (most specific), then auto-reply, then reply; doubt favours reply."""
    if looks_like_bounce(msg, env.sender, env.return_path_null):
        texts = [
            _decode_lenient(p) for p in _text_parts(shape) if p.get_content_type() == "text/plain"
        ]
        if not texts:
            texts = [html_to_text(_decode_lenient(p)) for p in _text_parts(shape)]
        deadline.check("bounce detection")
        facts, why = detect_bounce(
            msg,
            parts=shape.parts,
            texts=texts,
            returned_headers=shape.returned_headers,
            own_addresses=env.own,
            size=len(raw),
        )
        deadline.check("bounce detection")
        if facts is not None:
            return _result(env, InboundKind.BOUNCE, why, bounce=facts)
        if why.startswith("delivery report without failure"):
            return _result(env, InboundKind.UNKNOWN, why)

    if (
        msg.get_content_type() == "multipart/report"
        and "disposition-notification" in str(msg.get_param("report-type", "")).lower()
    ):
        # RFC 8098 read receipt: sent by software on the reader's behalf.
        return _result(env, InboundKind.AUTO_REPLY, "message disposition notification (RFC 8098)")

    body = _body_text(shape)
    deadline.check("body decoding")
    quoted_free, unsure = strip_reply(body, languages) if body else ("", False)
    deadline.check("quote stripping")
    signals = read_signals(msg, env.subject, quoted_free, env.return_path_null)
    if signals.is_auto:
        sent = env.date.date() if env.date else None
        return _result(
            env,
            InboundKind.AUTO_REPLY,
            "auto-reply: " + ", ".join(signals.strong + signals.medium),
            return_date=extract_return_date(quoted_free, languages, sent),
            language=detect_language(quoted_free) if quoted_free else None,
        )
    if body is None or not body.strip():
        if shape.attachments:
            return _result(
                env,
                InboundKind.REPLY,
                f"reply without a text body ({shape.attachments} attachment(s))",
                review=True,
                text="",
            )
        return _result(env, InboundKind.UNKNOWN, "no text body and no attachment")
    language = detect_language(quoted_free)
    deadline.check("language detection")
    doubts = [*signals.medium, *signals.weak]
    if unsure:
        doubts.append("quote stripping found no answer above the quote")
    reason = "human reply" + (f" (check: {', '.join(doubts)})" if doubts else "")
    return _result(
        env, InboundKind.REPLY, reason, review=bool(doubts), text=quoted_free, language=language
    )
