"""Machine-readable reports: RFC 3464 delivery status, read tolerantly; RFC 8098 dispositions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

__all__ = [
    "DISPOSITION_TYPES",
    "STATUS_TYPES",
    "Disposition",
    "Recipient",
    "Report",
    "canonical_action",
    "is_temporary",
    "read_disposition",
    "read_report",
]

STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
DISPOSITION_TYPES = frozenset(
    {"message/disposition-notification", "message/global-disposition-notification"}
)
_STATUS_FIELD = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
_SMTP_CODE = re.compile(r"(?<!\d)([45]\d\d)(?:[ -]|$)")
_MSGID = re.compile(r"<[^<>\s]{1,250}>")
# RFC 3464 §2.3.3 allows five action values; servers also write these (seen in flufl.bounce's
# samples and in the wild), and a comment may follow the word: "failed (bad destination)".
_ACTIONS = {
    "failed": "failed",
    "failure": "failed",
    "fail": "failed",
    "error": "failed",
    "bounced": "failed",
    "rejected": "failed",
    "undeliverable": "failed",
    "delayed": "delayed",
    "delay": "delayed",
    "deferred": "delayed",
    "delivered": "delivered",
    "relayed": "relayed",
    "expanded": "expanded",
}
_STATUS_CLASS_ACTION = {"5": "failed", "4": "delayed", "2": "delivered"}


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient's field group of a delivery-status report."""

    addresses: tuple[str, ...]  # Original-Recipient (the address we wrote to), Final-Recipient
    action: str  # canonical: failed, delayed, delivered, relayed, expanded
    status: str | None  # RFC 3463 code
    diagnostic: str  # Diagnostic-Code, and a Status that was not an RFC 3463 code


@dataclass(frozen=True, slots=True)
class Report:
    """What a delivery-status part says: its recipients and the original's Message-ID."""

    recipients: tuple[Recipient, ...]
    original_message_id: str | None


@dataclass(frozen=True, slots=True)
class Disposition:
    """An RFC 8098 disposition notification: who, what was done, for which message."""

    address: str | None
    automatic: bool  # automatic-action: software decided, not the reader
    kind: str  # displayed, deleted, dispatched, processed...
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


def canonical_action(raw: str, status: str | None, diagnostic: str) -> str:
    """The RFC 3464 action a field means: its first word, else what its status class says.

    A report with neither is a failure: without NOTIFY=SUCCESS (which we never ask for,
    RFC 3461 §4.1) a server reports only failures and delays.
    """
    word = re.split(r"[^a-z]", raw.strip().lower(), maxsplit=1)[0]
    if word in _ACTIONS:
        return _ACTIONS[word]
    if status:
        return _STATUS_CLASS_ACTION[status[0]]
    code = _SMTP_CODE.search(diagnostic)
    if code:
        return _STATUS_CLASS_ACTION[code.group(1)[0]]
    return "failed"


def _field_groups(part: Message) -> list[str]:
    """The report's field groups (RFC 3464 §2.1) as header-block texts."""
    try:
        payload = part.get_payload()
    except (LookupError, ValueError):  # compat32 decodes str payloads with the charset
        payload = None
    blocks: list[str] = []
    if isinstance(payload, list):
        # The stdlib parses each field group of message/delivery-status as a header-only
        # Message; other message/* reports as one Message, the later groups as its body.
        for sub in payload:
            if isinstance(sub, Message):
                blocks.append("".join(f"{k}: {v}\n" for k, v in sub.items()))
                rest = sub.get_payload()
                if isinstance(rest, str) and rest.strip():
                    blocks.extend(re.split(r"\r?\n[ \t]*\r?\n", rest[:200_000]))
    elif isinstance(payload, str):
        blocks = re.split(r"\r?\n[ \t]*\r?\n", payload[:200_000])
    return blocks


def _fields(part: Message) -> list[Message]:
    parser = HeaderParser(policy=compat32)
    return [parser.parsestr(block.strip() + "\n") for block in _field_groups(part)]


def _address(value: object) -> str | None:
    """The address of a recipient field ("rfc822; a@b"); None for other types (x400...)."""
    text = str(value or "")
    kind, _, address = text.partition(";")
    if not address:
        kind, address = "rfc822", kind
    if kind.strip().lower() not in {"rfc822", "utf-8"}:
        return None
    address = address.strip().strip("<> \t\r\n").lower()
    return address if "@" in address else None


def _first_msgid(value: object) -> str | None:
    found = _MSGID.search(str(value or ""))
    return found.group(0) if found else None


def read_report(part: Message) -> Report:
    """Parse a delivery-status body (RFC 3464, RFC 6533): per-recipient field groups."""
    recipients: list[Recipient] = []
    original_id: str | None = None
    for fields in _fields(part):
        original_id = original_id or _first_msgid(fields.get("X-Original-Message-ID"))
        named = [_address(fields.get(n)) for n in ("Original-Recipient", "Final-Recipient")]
        if fields.get("Final-Recipient") is None and fields.get("Original-Recipient") is None:
            continue
        status_raw = " ".join(str(fields.get("Status", "")).split())
        m = _STATUS_FIELD.match(status_raw)
        status = ".".join(m.groups()) if m else None
        diagnostic = " ".join(str(fields.get("Diagnostic-Code", "")).split())
        if status is None and status_raw:
            diagnostic = f"{status_raw} {diagnostic}".strip()  # e.g. "553 Exceeded maximum..."
        action = canonical_action(str(fields.get("Action", "")), status, diagnostic)
        recipients.append(
            Recipient(tuple(dict.fromkeys(a for a in named if a)), action, status, diagnostic)
        )
    return Report(tuple(recipients), original_id)


def read_disposition(part: Message) -> Disposition | None:
    """Parse an RFC 8098 message/disposition-notification body, if it has a Disposition."""
    for fields in _fields(part):
        value = fields.get("Disposition")
        if value is None:
            continue
        # "automatic-action/MDN-sent-automatically; deleted" (RFC 8098 §3.2.6)
        mode, _, rest = " ".join(str(value).split()).lower().partition(";")
        kind = re.split(r"[^a-z-]", rest.strip(), maxsplit=1)[0]
        return Disposition(
            address=_address(fields.get("Final-Recipient") or fields.get("Original-Recipient")),
            automatic=mode.strip().startswith("automatic-action"),
            kind=kind,
            original_message_id=_first_msgid(fields.get("Original-Message-ID")),
        )
    return None
