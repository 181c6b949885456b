"""Bounce detection: the delivery-status part if there is one, else flufl.bounce and the prose."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from outreach.inbox.dsn import (
    DISPOSITION_TYPES,
    STATUS_TYPES,
    Disposition,
    Recipient,
    is_temporary,
    read_disposition,
    read_report,
)
from outreach.inbox.headers import Envelope

__all__ = ["BounceFacts", "Finding", "Origin", "bounce_origin", "detect_bounce"]

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
# The subjects mail servers give their own notices, at the start (a person's "Re:" or "Fwd:"
# of one is no notice): enough to look further only together with the wording of the body.
_NOTICE_SUBJECT = re.compile(
    r"^\s*(?:undeliver(?:able|ed)\b|returned mail\b|mail delivery (?:failed|failure|warning)"
    r"|delivery (?:status notification|failure|failed|has failed|problem|warning)"
    r"|non[- ]?delivery\b|mail could not be delivered|message (?:delivery failure|not delivered)"
    r"|failure notice|mail error\b|delivery notification|nicht zustellbar|unzustellbar"
    r"|non remis|non distribuable|no entregado|не доставлено)",
    re.IGNORECASE,
)
_BOUNCE_BODY = re.compile(
    r"(?:could not|couldn't|cannot|can't|wasn't|was not) be(?:en)? delivered|could not deliver"
    r"|unable to deliver|del[ei]very to the following recipients? (?:failed|was aborted)"
    r"|failed recipient|delivery status notification"
    r"|permanent (?:fatal )?error|i've given up|undeliverable|non-delivery"
    r"|mailbox (?:does not exist|unavailable|full)|user unknown|unknown user"
    r"|address(?:es)? failed|delivery has failed|has been postponed|automatically rejected"
    r"|n'a pas pu [eê]tre (?:d[ée]livr|remis|distribu)|konnte nicht zugestellt werden"
    r"|не (?:может быть|было|удалось) доставлен|no (?:se )?pudo (?:ser )?entregar",
    re.IGNORECASE,
)
# "550 5.1.1": an SMTP reply code followed by an RFC 3463 enhanced status code.
_SMTP_STATUS = re.compile(r"(?<!\d)([245])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_BARE_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+"
)
_TO_LINE = re.compile(r"^[ \t>]*To:[ \t]*((?:[^\r\n]|\r?\n[ \t]){1,2000})", re.IGNORECASE | re.M)
# Where a notice's own text ends and the original it quotes begins: the markers MTAs write
# ("------ This is a copy of the message", "--- Below this line is a copy of the message.",
# "---- Header of the source mail attached ----"), or the first trace field of a header.
_QUOTED_ORIGINAL = re.compile(
    r"^[ \t]*-{2,}.{0,40}(?:copy of the (?:original )?message|original message|returned mail"
    r"|header of the|headers? (?:and|of)|message follows|source mail)"
    r"|^(?:Received|Return-Path|DKIM-Signature|MIME-Version|Message-ID):[ \t]",
    re.IGNORECASE | re.M,
)
_MESSAGE_ID_LINE = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.M)
_REF_LINE = re.compile(r"^[ \t>]*X-Outreach-Ref:[ \t]*([A-Za-z0-9_-]{1,64})", re.IGNORECASE | re.M)
# Mailbox full is temporary as 552 is (RFC 5321 §4.5.3.1.10), whatever words say it.
_TEMPORARY_WORDS = re.compile(
    r"warning only|will be retried|still being retried|delayed|temporar|postponed"
    r"|quota exceeded|over quota|mailbox (?:is )?full",
    re.IGNORECASE,
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


@dataclass(frozen=True, slots=True)
class Origin:
    """Why the header suggests a non-delivery report, and what the text must then show."""

    reason: str
    needs_wording: bool = False  # the notice must say that delivery failed
    needs_evidence: bool = False  # and name the address or return the original


def _local_part(address: str | None) -> str:
    return (address or "").partition("@")[0].lower()


def _sieve_rejection(parts: Sequence[Message]) -> bool:
    """An RFC 8098 notification that software deleted the message: a Sieve "reject"."""
    # RFC 5429 §2.1.1: "Disposition: automatic-action/MDN-sent-automatically; deleted".
    dispositions = [d for p in parts if (d := _disposition(p))]
    return any(d.automatic and d.kind == "deleted" for d in dispositions)


def bounce_origin(msg: Message, env: Envelope, parts: Sequence[Message]) -> Origin | None:
    """Why the header suggests a non-delivery report (a cheap pre-test), or None."""
    report_type = str(msg.get_param("report-type", "")).lower()
    if msg.get_content_type() == "multipart/report" and "delivery-status" in report_type:
        return Origin("delivery-status report")
    if any(p.get_content_type() in STATUS_TYPES for p in parts):
        return Origin("delivery-status part")
    if msg.get("X-Failed-Recipients") or msg.get("X-MS-Exchange-Message-Is-Ndr") is not None:
        return Origin("non-delivery header")
    if _sieve_rejection(parts):
        return Origin("rejected by a Sieve filter (RFC 5429)")
    if _local_part(env.sender) in _DAEMON_LOCALPARTS:
        return Origin("mailer daemon")
    if env.return_path_null and _BOUNCE_SUBJECT.search(env.subject[:1000]):
        return Origin("null Return-Path and a bounce subject")
    # Sendmail also writes a null envelope sender as <MAILER-DAEMON@host>, and automatic
    # answers use one too (RFC 3834 §3.3): the text must say that delivery failed.
    if _local_part(env.return_path) in _DAEMON_LOCALPARTS:
        return Origin("mailer daemon envelope sender", needs_wording=True)
    if env.from_null:
        return Origin("a sender without an address", needs_wording=True)
    # A reply is threaded to what it answers (RFC 5322 §3.6.4); a server's notice is not.
    if _NOTICE_SUBJECT.match(env.subject[:1000]) and not (env.in_reply_to or env.references):
        return Origin("a bounce subject", needs_wording=True, needs_evidence=True)
    return None


@dataclass(frozen=True, slots=True)
class _Original:
    """Our letter as a bounce returns it: its Message-ID, token and recipients."""

    message_id: str | None
    ref: str | None
    recipients: tuple[str, ...]


def _returned_original(
    returned_headers: Sequence[str], notification: str, message_id: str | None
) -> _Original:
    """The returned letter's identity, from its header blocks, else quoted in the notice."""
    ref: str | None = None
    recipients: list[str] = []
    for block in returned_headers:
        mid = _MESSAGE_ID_LINE.search(block)
        found = _REF_LINE.search(block)
        message_id = message_id or (mid.group(1) if mid else None)
        ref = ref or (found.group(1) if found else None)
        to = _TO_LINE.search(block)
        if to:
            recipients.extend(a.lower() for _, a in getaddresses([to.group(1)]) if "@" in a)
    if message_id is None or ref is None:
        # Exim/qmail/plain bounces quote the original inline (RFC 3464 is optional).
        mid = _MESSAGE_ID_LINE.search(notification)
        found = _REF_LINE.search(notification)
        message_id = message_id or (mid.group(1) if mid else None)
        ref = ref or (found.group(1) if found else None)
    return _Original(message_id, ref, tuple(dict.fromkeys(recipients)))


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
    addresses = [a for r in failing for a in r.addresses]
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


def _prose_addresses(
    msg: Message,
    parts: Sequence[Message],
    flufl: set[str],
    notification: str,
    own: set[str],
    original: _Original,
) -> list[str]:
    """The failed addresses of a notice without a report, from the surest source that has any.

    The last two are guesses from free text, so our own addresses are left out of them.
    """
    failed_header = str(msg.get("X-Failed-Recipients", ""))
    sources: list[list[str]] = [
        [a.lower() for _, a in getaddresses([failed_header]) if "@" in a],
        [d.address for p in parts if (d := _disposition(p)) and d.address],
        sorted(flufl),
        [a for a in dict.fromkeys(_ADDRESS.findall(notification.lower())) if a not in own][:5],
        [a for a in original.recipients if a not in own],  # our letters have one recipient
    ]
    return next((found for found in sources if found), [])


def _disposition(part: Message) -> Disposition | None:
    return read_disposition(part) if part.get_content_type() in DISPOSITION_TYPES else None


def detect_bounce(
    msg: Message,
    *,
    origin: Origin,
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
    reports = [read_report(p) for p in parts if p.get_content_type() in STATUS_TYPES]
    recipients = [r for report in reports for r in report.recipients]
    notification = "\n".join(texts)[:200_000]
    reported_id = next((r.original_message_id for r in reports if r.original_message_id), None)
    original = _returned_original(returned_headers, notification, reported_id)
    failing = [r for r in recipients if r.action in {"failed", "delayed"}]
    if recipients and not failing:
        actions = ", ".join(sorted({r.action for r in recipients}))
        return Finding(None, f"delivery report without failure (Action: {actions})", True)
    if failing:
        reason = "RFC 3464 delivery status notification"
        addresses, status, is_permanent = _from_report(failing)
    else:
        temporary, permanent = _flufl(msg, size)
        own = {a.lower() for a in own_addresses}
        quoted = _QUOTED_ORIGINAL.search(notification)
        notice = notification[: quoted.start()] if quoted else notification
        addresses = _prose_addresses(msg, parts, permanent | temporary, notice, own, original)
        wording = _BOUNCE_BODY.search(notice) is not None
        if origin.needs_wording and not wording:
            return Finding(None, f"{origin.reason}, but no failure stated in the text")
        if origin.needs_evidence and not (addresses or returned_headers):
            return Finding(None, f"{origin.reason}, but no failed address or returned letter")
        if not addresses and not wording:
            return Finding(None, "no failed recipient found")
        reason = "non-standard bounce" + (" (flufl.bounce)" if permanent | temporary else "")
        status, is_permanent = _from_prose(notice, permanent)
    facts = BounceFacts(
        permanent=is_permanent,
        status=status,
        addresses=tuple(dict.fromkeys(a for a in addresses if a)),
        original_message_id=original.message_id,
        original_ref=original.ref,
    )
    kind = "permanent" if is_permanent else "temporary"
    return Finding(facts, f"{reason}: {kind} failure" + (f" {status}" if status else ""))
