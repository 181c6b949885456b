"""Hostile inbound mail, written inline: forged delivery reports and strangers' replies.

Each is what anyone on the Internet can send to our address without having seen a letter
(or having seen only one): the addresses of diplomats are public, our plain sender address is
in every letter, and a Message-ID is shown to whoever a letter is forwarded to.
"""

from __future__ import annotations

OURS = "appeal@outreach.example.org"
STRANGER = "press-office@example.net"


def forged_dsn(
    named: str,
    *,
    to: str = OURS,
    number: int = 1,
    original: str = "",
    status: str = "5.1.1",
    action: str = "failed",
) -> bytes:
    """An RFC 3464 report "from a mailer daemon" saying that mail to `named` failed for good.

    `to` is where it is sent (our plain address, or a letter's token address); `original`, if
    given, is the Message-ID the "returned original" carries.
    """
    returned = (
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original}\r\n"
        f"To: <{named}>\r\n\r\n"
        if original
        else ""
    )
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: <{to}>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <forged-dsn-{number}@mx.example.net>\r\n"
        "Date: Tue, 10 Mar 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver it.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {named}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {status[0]}50 {status} <{named}>: user unknown\r\n\r\n"
        f"{returned}--b--\r\n"
    ).encode()


def stranger_reply(
    *,
    to: str = OURS,
    sender: str = STRANGER,
    in_reply_to: str = "",
    number: int = 1,
    headers: str = "",
) -> bytes:
    """A reply "on behalf of the government": to a token address, or threaded by In-Reply-To.

    `headers` are put on top, as a receiving server prepends its own fields.
    """
    thread = f"In-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n" if in_reply_to else ""
    return (
        f"{headers}From: Foreign Ministry <{sender}>\r\nTo: <{to}>\r\n"
        "Subject: Re: Appeal: end the blockade of the Lachin corridor\r\n"
        f"Message-ID: <stranger-{number}@example.net>\r\n{thread}"
        "Date: Tue, 10 Mar 2026 10:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Dear colleagues,\r\n\r\nWe decline the call for a UN fact-finding mission; we oppose "
        "any ICJ order.\r\n"
    ).encode()


def token_address(token: str) -> str:
    """The plus address of a letter's token, where replies and bounces to it arrive (VERP)."""
    local, _, domain = OURS.partition("@")
    return f"{local}+{token}@{domain}"
