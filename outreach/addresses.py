"""E-mail addresses: syntax validation and the comparison form used by the suppression list."""

from __future__ import annotations

import functools
import re

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


@functools.lru_cache(maxsize=4096)  # an import asks for the same address several times a row
def address_key(address: str) -> str:
    """Return the lower-case ASCII form under which `address` is compared for suppression."""
    info = _validate(address)
    if info.ascii_email is not None:
        # Lower-casing the local part is not RFC-correct in theory, but no real mail system
        # distinguishes case there, and erring towards a match is the safe side for suppression.
        return info.ascii_email.lower()
    # An internationalised (SMTPUTF8) local part has no ASCII form; the domain still does, so
    # `Zoë@exämple.org` and `zoë@xn--exmple-cua.org` get the same key.
    return f"{info.local_part.lower()}@{info.ascii_domain.lower()}"
