"""Bounce detection: RFC 3464 delivery-status parsing plus flufl.bounce heuristics."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses

from flufl.bounce import all_failures

__all__ = ["BounceFacts", "detect_bounce", "looks_like_bounce"]

# flufl.bounce logs every detector exception with a traceback; we catch them ourselves.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

# Beyond this size flufl.bounce's detectors (unbounded line scans) are not run: the
# RFC 3464 part and our own bounded heuristics still apply.
FLUFL_MAX_BYTES = 2_000_000

_DAEMON_LOCALPARTS = frozenset(
    {"mailer-daemon", "mail-daemon", "postmaster", "mailerdaemon", "mdaemon", "maildelivery"}
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (?:status notification|failure|has failed|problem)"
    r"|returned mail|mail delivery failed|failure notice|message delivery failure"
    r"|delivery failure|could not be delivered|non[- ]?remis|unzustellbar|nicht zustellbar"
    r"|delayed mail|warning: could not send|no entregado|не доставлено",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"could not be delivered|couldn't be delivered|wasn't delivered|was not delivered"
    r"|delivery to the following recipient|permanent (?:fatal )?error|i've given up"
    r"|undeliverable|mailbox (?:does not exist|unavailable|full)|user unknown"
    r"|address(?:es)? failed|delivery has failed|could not be delivered for more than",
    re.IGNORECASE,
)
# "550 5.1.1": an SMTP reply code followed by an RFC 3463 enhanced status code.
_SMTP_STATUS = re.compile(r"(?<!\d)([245])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_BARE_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_STATUS_FIELD = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})")
_SMTP_CODE = re.compile(r"(?<!\d)([45]\d\d)[ -]")
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+"
)
_MESSAGE_ID_LINE = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.M)
_REF_LINE = re.compile(r"^[ \t>]*X-Outreach-Ref:[ \t]*([A-Za-z0-9_-]{1,64})", re.IGNORECASE | re.M)
_TEMPORARY_WORDS = re.compile(
    r"warning only|will be retried|still being retried|delayed|temporar", re.IGNORECASE
)
_PERMANENT_WORDS = re.compile(r"permanent|given up|giving up", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class BounceFacts:
    """What a bounce says about the failed delivery and the letter it returns."""

    permanent: bool
    status: str | None
    addresses: tuple[str, ...]
    original_message_id: str | None
    original_ref: str | None


@dataclass(frozen=True, slots=True)
class _Recipient:
    address: str | None
    action: str
    status: str | None
    diagnostic: str


def _local_part(address: str | None) -> str:
    return (address or "").partition("@")[0].lower()


def looks_like_bounce(msg: Message, sender: str | None, return_path_null: bool) -> bool:
    """Cheap pre-test: does anything about the message suggest a non-delivery report?"""
    ctype = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "")).lower()
    if ctype == "multipart/report" and report_type == "delivery-status":
        return True
    if msg.get("X-Failed-Recipients") or msg.get("X-MS-Exchange-Message-Is-Ndr") is not None:
        return True
    daemon = _local_part(sender) in _DAEMON_LOCALPARTS
    subject_hit = bool(_BOUNCE_SUBJECT.search(str(msg.get("Subject", ""))[:1000]))
    return daemon or (return_path_null and subject_hit)


def _status_is_temporary(status: str | None, diagnostic: str) -> bool | None:
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


def _parse_delivery_status(part: Message) -> tuple[list[_Recipient], str | None]:
    """Parse an RFC 3464 message/delivery-status body: per-recipient field groups."""
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
    recipients: list[_Recipient] = []
    original_id: str | None = None
    parser = HeaderParser(policy=compat32)
    for block in blocks:
        fields = parser.parsestr(block.strip() + "\n")
        xid = fields.get("X-Original-Message-ID")
        if xid and original_id is None:
            original_id = _first_msgid(str(xid))
        final = fields.get("Final-Recipient") or fields.get("Original-Recipient")
        if not final:
            continue
        address = str(final).partition(";")[2].strip() or str(final).strip()
        address = address.strip("<> \t\r\n").lower()
        status_raw = str(fields.get("Status", "")).strip()
        m = _STATUS_FIELD.match(status_raw)
        status = ".".join(m.groups()) if m else None
        recipients.append(
            _Recipient(
                address=address if "@" in address else None,
                action=str(fields.get("Action", "")).strip().lower(),
                status=status,
                diagnostic=" ".join(str(fields.get("Diagnostic-Code", "")).split()),
            )
        )
    return recipients, original_id


def _first_msgid(value: str) -> str | None:
    m = re.search(r"<[^<>\s]{1,250}>", value)
    return m.group(0) if m else None


def _original_from_headers(text: str) -> tuple[str | None, str | None]:
    """Message-ID and X-Outreach-Ref from returned header text (rfc822-headers or quoted)."""
    mid = _MESSAGE_ID_LINE.search(text)
    ref = _REF_LINE.search(text)
    return (mid.group(1) if mid else None, ref.group(1) if ref else None)


def _flufl(msg: Message, size: int) -> tuple[set[str], set[str]]:
    """Run flufl.bounce's detectors; any detector crash counts as 'found nothing'."""
    if size > FLUFL_MAX_BYTES:
        return set(), set()
    try:
        temporary, permanent = all_failures(msg)
    except Exception:  # flufl detectors index into headers without checks
        return set(), set()

    def norm(items: Iterable[bytes | str]) -> set[str]:
        out: set[str] = set()
        for item in items:
            text = item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)
            text = text.strip("<> \t").lower()
            if "@" in text:
                out.add(text)
        return out

    return norm(temporary), norm(permanent)


def detect_bounce(
    msg: Message,
    *,
    parts: Sequence[Message],
    texts: Sequence[str],
    returned_headers: Sequence[str],
    own_addresses: Iterable[str],
    size: int,
) -> tuple[BounceFacts | None, str]:
    """Return the bounce facts (or None when it is not a failure report) and a reason.

    ``texts`` are the decoded notification texts (not the returned original);
    ``returned_headers`` are header blocks of the returned original.
    """
    recipients: list[_Recipient] = []
    original_id: str | None = None
    for part in parts:
        if part.get_content_type() == "message/delivery-status":
            found, xid = _parse_delivery_status(part)
            recipients.extend(found)
            original_id = original_id or xid
    own = {a.lower() for a in own_addresses}
    notification = "\n".join(texts)[:200_000]

    original_ref: str | None = None
    for block in returned_headers:
        mid, ref = _original_from_headers(block)
        original_id = original_id or mid
        original_ref = original_ref or ref
    if original_id is None or original_ref is None:
        # Exim/qmail/plain bounces quote the original inline (RFC 3464 is optional).
        mid, ref = _original_from_headers(notification)
        original_id = original_id or mid
        original_ref = original_ref or ref

    failing = [r for r in recipients if r.action in {"failed", "delayed", ""}]
    if recipients and not failing:
        actions = ", ".join(sorted({r.action for r in recipients}))
        return None, f"delivery report without failure (Action: {actions})"

    temporary, permanent = _flufl(msg, size)
    reason: str
    addresses: list[str] = []
    status: str | None = None
    is_permanent: bool
    if failing:
        reason = "RFC 3464 delivery status notification"
        addresses = [r.address for r in failing if r.address]
        status = next((r.status for r in failing if r.status), None)
        verdicts: list[bool] = []
        for r in failing:
            temp = _status_is_temporary(r.status, r.diagnostic)
            if r.action == "delayed":
                temp = True
            verdicts.append(not temp if temp is not None else r.action == "failed")
        is_permanent = all(verdicts)
    else:
        failed_header = str(msg.get("X-Failed-Recipients", ""))
        addresses = [a.lower() for _, a in getaddresses([failed_header]) if "@" in a]
        if not addresses:
            addresses = sorted(permanent | temporary)
        if not addresses:
            addresses = [
                a.lower()
                for a in dict.fromkeys(_ADDRESS.findall(notification))
                if a.lower() not in own
            ][:5]
        if not addresses and not _BOUNCE_BODY.search(notification):
            return None, "no failed recipient found"
        reason = "non-standard bounce" + (" (flufl.bounce)" if permanent | temporary else "")
        smtp = _SMTP_STATUS.search(notification)
        bare = smtp.group(2) if smtp else None
        if bare is None:
            m = _BARE_STATUS.search(notification)
            bare = m.group(1) if m else None
        status = bare
        diag = notification[smtp.start() : smtp.end() + 5] if smtp else notification[:5000]
        temp = _status_is_temporary(status, diag)
        if temp is None:
            if _TEMPORARY_WORDS.search(notification[:5000]):
                temp = True
            elif _PERMANENT_WORDS.search(notification[:5000]) or permanent:
                temp = False
            else:
                temp = bool(temporary) or not permanent
        is_permanent = not temp
    facts = BounceFacts(
        permanent=is_permanent,
        status=status,
        addresses=tuple(dict.fromkeys(a for a in addresses if a)),
        original_message_id=original_id,
        original_ref=original_ref,
    )
    kind = "permanent" if is_permanent else "temporary"
    return facts, f"{reason}: {kind} failure" + (f" {status}" if status else "")
