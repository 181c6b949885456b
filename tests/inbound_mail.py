"""Inbound messages written inline for the classifier's tests: a reply to a letter, a DSN."""

from __future__ import annotations

# The letter every message here answers or returns, and its token.
APPEAL_ID = "<c094587dab8ecb4fcf74b7060e67ca0b@outreach.example.org>"
TOKEN = "k7m2q9x4ab"

REPLY_BODY = "Dear Sir or Madam,\r\n\r\nWe support the call for a UN fact-finding mission.\r\n"


def reply(headers: dict[str, str], body: str, *, ctype: str = "text/plain; charset=utf-8") -> bytes:
    """A reply from an ambassador to the letter; ``headers`` override or (empty) drop fields."""
    base = {
        "From": "Ambassador <ambassador.fr-am@example.org>",
        "To": f"appeal+{TOKEN}@outreach.example.org",
        "Subject": "Re: Appeal: end the blockade of the Lachin corridor",
        "Date": "Thu, 9 Mar 2023 09:47:13 +0100",
        "Message-ID": "<reply-1@example.org>",
        "In-Reply-To": APPEAL_ID,
        "MIME-Version": "1.0",
        "Content-Type": ctype,
    }
    base.update(headers)
    head = "".join(f"{k}: {v}\r\n" for k, v in base.items() if v)
    return (head + "\r\n" + body).encode("utf-8")


def dsn(status: str, action: str, diagnostic: str) -> bytes:
    """An RFC 3464 report from a mailer daemon about the letter, with the given fields."""
    boundary = "b-dsn"
    return (
        "From: MAILER-DAEMON@mx.example.com\r\n"
        "To: appeal@outreach.example.org\r\n"
        "Return-Path: <>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 7 Mar 2023 10:02:40 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        "Final-Recipient: rfc822; someone@example.com\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nDiagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {APPEAL_ID}\r\nX-Outreach-Ref: {TOKEN}\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()
