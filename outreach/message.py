"""Outgoing messages: identifiers, safe header values, and the MIME bytes of a letter."""

from __future__ import annotations

import base64
import datetime as dt
import mimetypes
import re
import secrets
import uuid
from dataclasses import dataclass
from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from outreach.errors import LetterError
from outreach.recipients.invisibles import find_invisible

# SMTP line endings, and 7-bit transfer encodings (quoted-printable / base64) for every part:
# no reliance on the server's 8BITMIME (RFC 6152), and what is stored is what any server takes.
POLICY = policy.SMTP.clone(cte_type="7bit")
# For a letter to an address with a non-ASCII local part, which has no ASCII form: headers in
# UTF-8 (RFC 6532), sent only with SMTPUTF8 (RFC 6531); the parts keep 7-bit encodings.
POLICY_UTF8 = POLICY.clone(utf8=True)
# C0/C1 controls, DEL and Unicode line separators: in a header value they could start a new
# header (header injection, cf. CVE-2024-6923) or break the encoded-word.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
TOKEN_LENGTH = 10


def new_token() -> str:
    """A short random token for reply matching: 10 base32 characters (50 bits)."""
    return base64.b32encode(secrets.token_bytes(7)).decode("ascii").lower()[:TOKEN_LENGTH]


def new_message_id(domain: str) -> str:
    """A globally unique Message-ID on the sender's domain (RFC 5322 §3.6.4)."""
    return f"<{uuid.uuid4().hex}@{domain}>"


def domain_of(address: str) -> str:
    """The domain part of an address."""
    return address.rpartition("@")[2]


def plus_address(address: str, token: str) -> str:
    """The address with the token as a subaddress: `appeal+TOKEN@domain` (RFC 5233)."""
    local, _, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0]}+{token}@{domain}"


def checked(header: str, value: str) -> str:
    """Return the value, or raise LetterError if it could inject a header or hide in one."""
    found = CONTROL.search(value)
    if found:
        raise LetterError(
            f"{header}: the value {value[:60]!r} contains a control character "
            f"(U+{ord(found.group()):04X}); remove line breaks from the data it comes from"
        )
    # The last defence: recipient fields refuse these on import and edit, but a template, the
    # settings or a row stored before that check can still bring a bidi override or a
    # zero-width character, which a mail client would show in From, To or Subject.
    invisible = find_invisible(value)
    if invisible is not None:
        raise LetterError(
            f"{header}: the value {value[:60]!r} {invisible.describe()}, in the data it comes from"
        )
    return value


@dataclass(frozen=True, slots=True)
class Headers:
    """The header values of one letter; each built from data, so each is checked."""

    subject: str
    from_name: str
    from_address: str
    to_name: str
    to_address: str
    reply_to: str | None
    message_id: str
    token: str
    date: dt.datetime
    language: str
    # A follow-up answers the previous letter of its thread (RFC 5322 §3.6.4): In-Reply-To names
    # that letter, References the whole thread from the first letter on.
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


def set_subject(message: EmailMessage, subject: str) -> None:
    """Set the Subject so that it reads back exactly, whatever its script.

    CPython's folder, after an ASCII word such as "Re:", can put the space between two
    encoded-words outside them, where a reader must drop it (RFC 2047 §6.2): "заявление
    организаций" arrives as "заявлениеорганизаций". The classic Header encoder keeps every
    space inside an encoded-word, folded within 78 characters, so the value is stored as is.
    """
    if subject.isascii():
        message["Subject"] = subject
        return
    message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode("\r\n"))


def mailbox(header: str, name: str, address: str, *, utf8: bool) -> Address:
    """A checked name and address for From or To."""
    name, address = checked(header, name), checked(header, address)
    if not utf8:
        return Address(name, addr_spec=address)
    # The email package's parser refuses a non-ASCII local part even under a UTF-8 policy;
    # given in its parts, the address is written as it is (RFC 6532 §3.2).
    local, _, domain = address.rpartition("@")
    return Address(name, username=local, domain=domain)


def build_message(
    headers: Headers,
    text: str,
    html: str,
    attachments: tuple[Path, ...] = (),
    *,
    utf8: bool = False,
) -> bytes:
    """The MIME bytes of a letter: one recipient in To, text and HTML alternatives.

    The addresses must be in their wire form (`encode_address`): with `utf8`, headers are
    UTF-8 (RFC 6532) for a non-ASCII local part; without it, everything is ASCII.
    """
    message = EmailMessage(policy=POLICY_UTF8 if utf8 else POLICY)
    for header, address in (("From", headers.from_address), ("To", headers.to_address)):
        if not utf8 and not address.isascii():
            # The email package would write an encoded-word, which RFC 2047 §5 forbids in an
            # address and no server delivers: refuse here rather than store a wrong letter.
            raise LetterError(
                f"{header}: {address} is not in its ASCII form; a non-ASCII local part needs "
                "a letter built for SMTPUTF8 (RFC 6531)"
            )
    try:
        message["From"] = mailbox("From", headers.from_name, headers.from_address, utf8=utf8)
        # One recipient per message, never a shared To/Cc/Bcc: each government gets its own.
        message["To"] = mailbox("To", headers.to_name, headers.to_address, utf8=utf8)
        if headers.reply_to:
            message["Reply-To"] = checked("Reply-To", headers.reply_to)
        set_subject(message, checked("Subject", headers.subject))
        message["Date"] = format_datetime(headers.date.astimezone(dt.UTC))
        message["Message-ID"] = checked("Message-ID", headers.message_id)
        message["X-Outreach-Ref"] = checked("X-Outreach-Ref", headers.token)
        if headers.in_reply_to:
            message["In-Reply-To"] = checked("In-Reply-To", headers.in_reply_to)
        if headers.references:
            message["References"] = checked("References", " ".join(headers.references))
    except (ValueError, IndexError) as exc:  # the email package's refusal of a bad address
        raise LetterError(f"cannot build the message headers: {exc}") from None
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # After the body: set_content() clears every Content-* header (RFC 3282 for this one).
    message["Content-Language"] = checked("Content-Language", headers.language)
    for path in attachments:
        kind, _ = mimetypes.guess_type(path.name)
        maintype, _, subtype = (kind or "application/octet-stream").partition("/")
        message.add_attachment(
            path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name
        )
    return message.as_bytes()
