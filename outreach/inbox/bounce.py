"""Bounce detection: the delivery-status part if there is one, else flufl.bounce and the prose."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from outreach.inbox.dsn import Recipient, is_temporary, read_report
from outreach.inbox.headers import Envelope

__all__ = ["BounceFacts", "Finding", "bounce_origin", "detect_bounce"]

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
class Finding:
    """The bounce detector's answer: the facts of a failure, or why the message is none."""

    facts: BounceFacts | None
    reason: str
    conclusive: bool = False  # no failure, and certainly no person's mail (a success report)


def _local_part(address: str | None) -> str:
    return (address or "").partition("@")[0].lower()


def bounce_origin(msg: Message, env: Envelope, parts: Sequence[Message]) -> str | None:
    """Why the header suggests a non-delivery report (a cheap pre-test), or None."""
    ctype = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "")).lower()
    if ctype == "multipart/report" and report_type == "delivery-status":
        return "delivery-status report"
    if msg.get("X-Failed-Recipients") or msg.get("X-MS-Exchange-Message-Is-Ndr") is not None:
        return "non-delivery header"
    if _local_part(env.sender) in _DAEMON_LOCALPARTS:
        return "mailer daemon"
    if env.return_path_null and _BOUNCE_SUBJECT.search(str(msg.get("Subject", ""))[:1000]):
        return "null Return-Path and a bounce subject"
    return None


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


def _from_report(failing: Sequence[Recipient]) -> tuple[list[str], str | None, bool]:
    """Addresses, status and permanence stated by a report's failing recipients."""
    addresses = [r.address for r in failing if r.address]
    status = next((r.status for r in failing if r.status), None)
    verdicts: list[bool] = []
    for r in failing:
        temp = is_temporary(r.status, r.diagnostic)
        if r.action == "delayed":
            temp = True
        verdicts.append(not temp if temp is not None else r.action == "failed")
    return addresses, status, all(verdicts)


def _from_prose(notification: str, permanent: set[str]) -> tuple[str | None, bool]:
    """Status and permanence of a notice without a report, from its SMTP text and wording."""
    smtp = _SMTP_STATUS.search(notification)
    status = smtp.group(2) if smtp else None
    if status is None:
        m = _BARE_STATUS.search(notification)
        status = m.group(1) if m else None
    diag = notification[smtp.start() : smtp.end() + 5] if smtp else notification[:5000]
    temp = is_temporary(status, diag)
    if temp is None:
        if _TEMPORARY_WORDS.search(notification[:5000]):
            temp = True
        else:  # flufl.bounce files what it finds as permanent unless a warning says otherwise
            temp = not (_PERMANENT_WORDS.search(notification[:5000]) or permanent)
    return status, not temp


def detect_bounce(
    msg: Message,
    *,
    origin: str,
    parts: Sequence[Message],
    texts: Sequence[str],
    returned_headers: Sequence[str],
    own_addresses: Iterable[str],
    size: int,
) -> Finding:
    """The bounce facts of a message whose header suggested one (``origin``), or why not.

    ``texts`` are the decoded notification texts (not the returned original);
    ``returned_headers`` are header blocks of the returned original.
    """
    recipients: list[Recipient] = []
    original_id: str | None = None
    for part in parts:
        if part.get_content_type() == "message/delivery-status":
            report = read_report(part)
            recipients.extend(report.recipients)
            original_id = original_id or report.original_message_id
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
        return Finding(None, f"delivery report without failure (Action: {actions})", True)

    temporary, permanent = _flufl(msg, size)
    if failing:
        reason = "RFC 3464 delivery status notification"
        addresses, status, is_permanent = _from_report(failing)
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
            return Finding(None, "no failed recipient found")
        reason = "non-standard bounce" + (" (flufl.bounce)" if permanent | temporary else "")
        status, is_permanent = _from_prose(notification, permanent)
    facts = BounceFacts(
        permanent=is_permanent,
        status=status,
        addresses=tuple(dict.fromkeys(a for a in addresses if a)),
        original_message_id=original_id,
        original_ref=original_ref,
    )
    kind = "permanent" if is_permanent else "temporary"
    return Finding(facts, f"{reason}: {kind} failure" + (f" {status}" if status else ""))
