"""What makes two inbound messages the same message: their content, not their Message-ID alone.

A Message-ID is the sender's claim (RFC 5322 §3.6.4 "SHOULD" be unique); broken clients and
web forms reuse one for different messages, and a government's second answer must not be taken
for the first. The digest covers the message as its author sent it — every header field but
those added on the way or by the mailbox that stored it, and the body — so the same message
fetched twice, from two folders, or from an IMAP mailbox and an mbox export, digests alike.
"""

from __future__ import annotations

import hashlib
import re

# Fields added after the message left its author: by relays (RFC 5321 §4.4 trace fields), by the
# receiving system (RFC 8601, RFC 8617, RFC 7208 §9.1, RFC 9228), by spam and virus filters, and
# by mail stores and mbox writers (status flags, UIDs, Content-Length and Lines of mbox files).
# Changing this list changes stored keys: a migration must key the stored messages anew.
TRANSIT_FIELDS = frozenset(
    {
        "received",
        "x-received",
        "return-path",
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "x-envelope-to",
        "x-envelope-from",
        "authentication-results",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "received-spf",
        "status",
        "x-status",
        "x-keywords",
        "x-uid",
        "x-imap",
        "x-imapbase",
        "x-mozilla-status",
        "x-mozilla-status2",
        "content-length",
        "lines",
        # Added by mail programs when they store or export a message: Thunderbird, Gmail
        # (Takeout's mbox), Apple Mail, Evolution.
        "x-mozilla-keys",
        "x-account-key",
        "x-gmail-labels",
        "x-gm-thrid",
        "x-apple-base-url",
        "x-universally-unique-identifier",
        "x-evolution-source",
    }
)
TRANSIT_PREFIXES = ("x-spam-", "x-virus-", "x-ms-exchange-organization-", "x-forefront-")
HEADER_END = re.compile(rb"\r?\n\r?\n")
FOLDED = re.compile(rb"\r?\n[ \t]")


def content_digest(raw: bytes) -> str:
    """SHA-256 of the message as its author sent it (hex); any bytes at all are accepted."""
    if raw.startswith(b"From "):  # an mbox separator line left by the exporter
        raw = raw.partition(b"\n")[2]
    found = HEADER_END.search(raw)
    head, body = (raw[: found.start()], raw[found.end() :]) if found else (raw, b"")
    digest = hashlib.sha256()
    for line in FOLDED.sub(b" ", head).splitlines():
        name, colon, value = line.partition(b":")
        field = name.strip().lower().decode("ascii", "replace")
        if colon and (field in TRANSIT_FIELDS or field.startswith(TRANSIT_PREFIXES)):
            continue
        # Folding whitespace is not content (RFC 5322 §2.2.3): a relay may fold anew.
        digest.update(field.encode("ascii", "replace") + b":" + b" ".join(value.split()) + b"\n")
    digest.update(b"\n")
    # Line endings differ between a mail store (CRLF) and a file on disk (LF); an mbox writer
    # may add a blank line at the end. Neither changes what the author wrote.
    digest.update(body.replace(b"\r\n", b"\n").rstrip(b"\n"))
    return digest.hexdigest()


def dedup_key(raw: bytes) -> str:
    """The key under which a message is stored once."""
    return "sha256:" + content_digest(raw)
