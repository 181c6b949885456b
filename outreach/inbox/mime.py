"""The MIME tree of an inbound message: parsed in chunks, walked under limits, its text decoded."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesFeedParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value

from outreach.inbox.charset import Decoded, read_text
from outreach.inbox.dsn import DISPOSITION_TYPES, STATUS_TYPES
from outreach.inbox.headers import clean, header_text
from outreach.inbox.htmltext import html_to_text, unflow
from outreach.inbox.limits import MAX_TEXT_CHARS, Deadline, LimitExceeded, Limits

__all__ = [
    "REPORT_TYPES",
    "Shape",
    "body_text",
    "decode_lenient",
    "parse",
    "plain_texts",
    "walk",
]

_CHUNK = 256 * 1024
# Machine-readable report bodies (RFC 3464, RFC 6533, RFC 8098): their field groups parse as
# header-only sub-messages, so each is kept whole rather than walked into.
REPORT_TYPES = STATUS_TYPES | DISPOSITION_TYPES


def parse(raw: bytes, deadline: Deadline) -> Message:
    """The message tree, fed to the stdlib parser in chunks with the deadline checked between."""
    parser = BytesFeedParser(policy=compat32)
    for offset in range(0, len(raw), _CHUNK):
        deadline.check("MIME parsing")
        parser.feed(raw[offset : offset + _CHUNK])
    return parser.close()


@dataclass
class Shape:
    """The parts of a message sorted by role."""

    # Parts of the message itself (not of a returned original).
    parts: list[Message] = field(default_factory=list)
    returned_headers: list[str] = field(default_factory=list)  # header text of returned originals
    attachments: int = 0


def walk(msg: Message, limits: Limits, deadline: Deadline) -> Shape:
    """Iterative walk enforcing depth/part limits; separates returned originals."""
    shape = Shape()
    stack: list[tuple[Message, int, bool]] = [(msg, 0, False)]
    count = 0
    while stack:
        part, depth, inside_original = stack.pop()
        count += 1
        if depth > limits.max_depth:
            raise LimitExceeded(f"MIME nesting deeper than {limits.max_depth}")
        if count > limits.max_parts:
            raise LimitExceeded(f"more than {limits.max_parts} MIME parts")
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
                    head = "".join(f"{k}: {clean(str(v))[:2000]}\n" for k, v in sub.items()[:200])
                    shape.returned_headers.append(head)
                    stack.append((sub, depth + 1, True))
            continue
        if ctype in REPORT_TYPES:
            if not inside_original:
                shape.parts.append(part)
            continue
        if ctype in {"text/rfc822-headers", "message/rfc822-headers"} and not inside_original:
            shape.returned_headers.append(decode_lenient(part)[:MAX_TEXT_CHARS])
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
    return clean(text).strip().strip("\"'").lower() or None


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:  # the stdlib decoders are lenient, but not for every input
        raise LimitExceeded(f"undecodable transfer encoding: {exc}"[:200]) from None
    return data if isinstance(data, bytes) else b""


def decode_lenient(part: Message) -> str:
    """Text of a part for machine-written content (bounce notices): never fails."""
    data = _payload_bytes(part)[: MAX_TEXT_CHARS * 4]
    charset = _charset(part) or "utf-8"
    try:
        return data.decode(charset, "replace")
    except (LookupError, UnicodeError, ValueError):  # e.g. idna refuses 'replace'
        return data.decode("utf-8", "replace")


def _decode_person(part: Message, languages: Sequence[str]) -> Decoded:
    """Text of a part a person wrote: what no charset reads is an error (see charset.py)."""
    data = _payload_bytes(part)
    charset = _charset(part)
    cte = re.sub(r"[^\w.-]", "?", header_text(part.get("Content-Transfer-Encoding", "7bit"), 40))
    cte = cte.lower() or "7bit"
    try:
        decoded = read_text(data, charset, languages)
    except LookupError:
        raise LimitExceeded(f"undecodable charset {charset}") from None
    except (UnicodeError, ValueError) as exc:
        detail = f" ({cte})" if cte not in {"7bit", "8bit", "binary"} else ""
        raise LimitExceeded(
            f"undecodable {cte} body: not valid {charset or 'utf-8'}{detail}: {exc}"[:300]
        ) from None
    if "\x00" in decoded.text:
        raise LimitExceeded("NUL characters in a text body")
    return Decoded(decoded.text[:MAX_TEXT_CHARS], decoded.charset, decoded.note)


def _text_parts(shape: Shape) -> Iterator[Message]:
    for part in shape.parts:
        if "attachment" in str(part.get("Content-Disposition", "")).lower():
            continue
        if part.get_content_type() in {"text/plain", "text/html"}:
            yield part


def plain_texts(shape: Shape) -> list[str]:
    """The machine-written text of a notice, read leniently: its plain parts, else its HTML.

    A multipart the parser could not split (a broken boundary parameter) is read as text.
    """
    parts = list(_text_parts(shape))
    texts = [decode_lenient(p) for p in parts if p.get_content_type() == "text/plain"]
    unsplit = [p for p in shape.parts if p.get_content_maintype() == "multipart"]
    texts.extend(decode_lenient(p) for p in unsplit if not p.is_multipart())
    return texts or [html_to_text(decode_lenient(p)) for p in parts]


def body_text(shape: Shape, languages: Sequence[str], *, lenient: bool = False) -> Decoded | None:
    """The readable body: the first text/plain part, else the first HTML part as text.

    A person's text is decoded strictly (see charset.py); ``lenient`` reads software's text,
    replacing what does not decode.
    """
    parts = list(_text_parts(shape))
    plain = [p for p in parts if p.get_content_type() == "text/plain"]
    html = [p for p in parts if p.get_content_type() == "text/html"]
    part = plain[0] if plain else html[0] if html else None
    if part is None:
        return None
    if lenient:
        decoded = Decoded(decode_lenient(part)[:MAX_TEXT_CHARS], _charset(part) or "utf-8")
    else:
        decoded = _decode_person(part, languages)
    if not plain:
        return Decoded(html_to_text(decoded.text), decoded.charset, decoded.note)
    if str(part.get_param("format", "")).lower() == "flowed":
        delsp = str(part.get_param("delsp", "")).lower() == "yes"
        return Decoded(unflow(decoded.text, delsp), decoded.charset, decoded.note)
    return decoded
