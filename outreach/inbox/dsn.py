"""RFC 3464 delivery-status reports: the per-recipient fields, and what a status says (RFC 3463)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

__all__ = ["Recipient", "Report", "is_temporary", "read_report"]

_STATUS_FIELD = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
_SMTP_CODE = re.compile(r"(?<!\d)([45]\d\d)[ -]")
_MSGID = re.compile(r"<[^<>\s]{1,250}>")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient's field group of a delivery-status report."""

    address: str | None
    action: str
    status: str | None
    diagnostic: str


@dataclass(frozen=True, slots=True)
class Report:
    """What a delivery-status part says: its recipients and the original's Message-ID."""

    recipients: tuple[Recipient, ...]
    original_message_id: str | None


def is_temporary(status: str | None, diagnostic: str) -> bool | None:
    """Class 4 is transient (RFC 3463); so is mailbox full, X.2.2 / 552 (RFC 5321 §4.5.3.1.10)."""
    code = _SMTP_CODE.search(diagnostic)
    if code and code.group(1) == "552":
        return True
    if status:
        m = _STATUS_FIELD.match(status)
        if m:
            if m.group(1) == "4":
                return True
            if (m.group(2), m.group(3)) == ("2", "2"):
                return True
            if m.group(1) == "5":
                return False
    if code:
        return code.group(1).startswith("4")
    return None


def _field_groups(part: Message) -> list[str]:
    """The report's field groups (RFC 3464 §2.1) as header-block texts."""
    try:
        payload = part.get_payload()
    except (LookupError, ValueError):  # compat32 decodes str payloads with the charset
        payload = None
    blocks: list[str] = []
    if isinstance(payload, list):
        # The stdlib parses each field group of the report as a header-only Message.
        for sub in payload:
            if isinstance(sub, Message):
                blocks.append("".join(f"{k}: {v}\n" for k, v in sub.items()))
    elif isinstance(payload, str):
        blocks = re.split(r"\r?\n[ \t]*\r?\n", payload[:200_000])
    return blocks


def read_report(part: Message) -> Report:
    """Parse an RFC 3464 message/delivery-status body: per-recipient field groups."""
    recipients: list[Recipient] = []
    original_id: str | None = None
    parser = HeaderParser(policy=compat32)
    for block in _field_groups(part):
        fields = parser.parsestr(block.strip() + "\n")
        xid = fields.get("X-Original-Message-ID")
        if xid and original_id is None:
            found = _MSGID.search(str(xid))
            original_id = found.group(0) if found else None
        final = fields.get("Final-Recipient") or fields.get("Original-Recipient")
        if not final:
            continue
        address = str(final).partition(";")[2].strip() or str(final).strip()
        address = address.strip("<> \t\r\n").lower()
        status_raw = str(fields.get("Status", "")).strip()
        m = _STATUS_FIELD.match(status_raw)
        recipients.append(
            Recipient(
                address=address if "@" in address else None,
                action=str(fields.get("Action", "")).strip().lower(),
                status=".".join(m.groups()) if m else None,
                diagnostic=" ".join(str(fields.get("Diagnostic-Code", "")).split()),
            )
        )
    return Report(tuple(recipients), original_id)
