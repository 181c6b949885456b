"""E-mail addresses: syntax validation, the form sent on the wire, and the suppression key."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from email_validator import EmailNotValidError, ValidatedEmail, validate_email

from outreach.errors import InputError

# C0 and C1 controls, DEL and the Unicode line/paragraph separators: any of them in an address
# could split or forge a mail header, so they are refused before email-validator sees the text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class AddressError(InputError):
    """An e-mail address is syntactically invalid; the message says what is wrong."""


def _validate(text: str) -> ValidatedEmail:
    """Validate `text` without DNS look-ups, raising AddressError with a readable message."""
    control = _CONTROL.search(text)
    if control is not None:
        raise AddressError(
            f"{text!r} contains a control character (U+{ord(control.group()):04X}): "
            "remove line breaks and other control characters"
        )
    address = text.strip()
    if not address:
        raise AddressError("the e-mail address is empty")
    try:
        # No deliverability check: validation must be pure and work offline; a dead mailbox
        # shows up later as a bounce, which the dispatcher records.
        return validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        raise AddressError(f'"{address}" is not a valid e-mail address: {exc}') from exc


def parse_address(text: str) -> str:
    """Return the normalised form of the e-mail address `text`, or raise AddressError."""
    return _validate(text).normalized


@dataclass(frozen=True, slots=True)
class WireAddress:
    """An address as it goes into MAIL FROM, RCPT TO and the From/To headers."""

    address: str  # the domain always in ASCII (A-labels); the local part as written
    smtputf8: bool  # the local part is not ASCII: only a server offering SMTPUTF8 takes it


@functools.lru_cache(maxsize=4096)  # the dispatcher asks for the sender at every letter
def encode_address(text: str) -> WireAddress:
    """The wire form of `text`, or AddressError: an IDN domain in punycode (RFC 5890/5891).

    SMTP without the SMTPUTF8 extension, and headers outside RFC 6532, carry ASCII only: a
    domain has an ASCII form (IDNA 2008 A-labels, as email-validator computes them), so
    `user@bücher.example` goes as `user@xn--bcher-kva.example` everywhere. A non-ASCII local
    part has none (RFC 6531 §3.3): `zoë@example.org` needs a server that offers SMTPUTF8.
    """
    info = _validate(text)
    if info.ascii_email is not None:
        return WireAddress(info.ascii_email, smtputf8=False)
    return WireAddress(f"{info.local_part}@{info.ascii_domain}", smtputf8=True)


@functools.lru_cache(maxsize=4096)  # an import asks for the same address several times a row
def address_key(address: str) -> str:
    """Return the lower-case ASCII form under which `address` is compared for suppression."""
    # Lower-casing the local part is not RFC-correct in theory, but no real mail system
    # distinguishes case there, and erring towards a match is the safe side for suppression.
    # An internationalised (SMTPUTF8) local part has no ASCII form; the domain still does, so
    # `Zoë@exämple.org` and `zoë@xn--exmple-cua.org` get the same key.
    return encode_address(address).address.lower()
