"""Bounces as mail servers really write them, and the human replies that must not pass for one."""

from __future__ import annotations

import pytest

from outreach.inbox.bounce import BounceFacts
from outreach.inbox.classify import Classification, InboundKind, classify
from tests.inbound_mail import APPEAL_ID, TOKEN, dsn, reply

MINISTER = "minister@example.org"
# The letter as a returned original carries it: our Message-ID, token and recipient.
ORIGINAL = (
    f"From: Appeal <appeal@outreach.example.org>\r\nTo: {MINISTER}\r\n"
    f"Subject: Appeal: end the blockade of the Lachin corridor\r\n"
    f"Message-ID: {APPEAL_ID}\r\nX-Outreach-Ref: {TOKEN}\r\n"
    "Date: Tue, 7 Mar 2023 10:00:00 +0100\r\n\r\nExcellency,\r\n"
)


def _bounce_facts(c: Classification) -> BounceFacts:
    """The facts of a message that must be a bounce."""
    assert c.kind is InboundKind.BOUNCE, c.reason
    assert c.bounce is not None
    return c.bounce


def _notice(headers: str, body: str) -> bytes:
    head = (
        f"To: appeal+{TOKEN}@outreach.example.org\r\n"
        "Date: Tue, 7 Mar 2023 10:02:40 +0100\r\nMessage-ID: <notice-1@mx.example.net>\r\n"
    )
    return (head + headers + "\r\n" + body).encode()


def _with_original(headers: str, text: str) -> bytes:
    """A notice in multipart/mixed: the text, then the letter as message/rfc822."""
    body = (
        "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"{text}\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\n{ORIGINAL}\r\n--b1--\r\n"
    )
    return _notice(
        headers + 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n', body
    )


def test_a_mail_delivery_failed_notice_without_a_report_is_a_bounce() -> None:
    # Exim's wording, sent by a filtering gateway under its own address (no daemon, no DSN part).
    c = classify(
        _with_original(
            "From: ndr@mx.example.net\r\nReturn-Path: <prvs=126700a846=ndr@mx.example.net>\r\n"
            "Subject: Mail delivery failed: returning message to sender\r\n",
            "This message was created automatically by mail delivery software.\r\n\r\n"
            "A message that you sent could not be delivered to one or more of its recipients.\r\n"
            "One or more of the recipients are not a valid user of the system.",
        )
    )
    facts = _bounce_facts(c)
    assert (facts.original_message_id, facts.original_ref) == (APPEAL_ID, TOKEN)
    assert facts.addresses == (MINISTER,)


def test_a_returned_mail_notice_without_a_report_is_a_bounce() -> None:
    c = classify(
        _notice(
            "From: E500_SMTP_Mail_Service@mx.example.net\r\n"
            "Subject: Returned Mail - Error During Delivery\r\n",
            "------ Failed Recipients ------\r\n\r\n"
            f"<{MINISTER}>: Requested action not taken: mailbox unavailable. "
            "[SMTP Error Code 550]\r\n-------- Returned Mail --------\r\n\r\n" + ORIGINAL,
        )
    )
    facts = _bounce_facts(c)
    assert facts.addresses == (MINISTER,)
    assert facts.permanent is True
    assert facts.original_message_id == APPEAL_ID


def test_a_delivery_failure_notice_without_a_report_is_a_bounce() -> None:
    c = classify(
        _notice(
            'From: <"System Administrator"@mx.example.net>\r\nSubject: Delivery Failure\r\n',
            "Could not deliver message to the following recipient(s):\r\n\r\n"
            f"Failed Recipient: {MINISTER}\r\n"
            f"Reason: Remote host said: 550 unknown user <{MINISTER}>\r\n\r\n"
            "   -- The header and top 20 lines of the message follows --\r\n\r\n" + ORIGINAL,
        )
    )
    facts = _bounce_facts(c)
    assert facts.addresses == (MINISTER,)
    assert facts.permanent is True
    assert facts.original_message_id == APPEAL_ID


def test_a_mail_could_not_be_delivered_notice_without_a_report_is_a_bounce() -> None:
    # A virus-scanning gateway's own notice (InterScan), from the gateway's address.
    c = classify(
        _with_original(
            "From: imss@gw.example.net\r\nReturn-Path: <imss@gw.example.net>\r\n"
            "Subject: Mail could not be delivered\r\n",
            "****** Message from InterScan E-Mail VirusWall NT ******\r\n\r\n"
            "The following mail could not be delivered.\r\n"
            "Reason:  Exceeded Maximum Delivery Attempts.  Verify that the recipient address "
            "is correct.\r\n\r\n*****************     End of message     ***************",
        )
    )
    facts = _bounce_facts(c)
    assert facts.addresses == (MINISTER,)  # the returned letter's To: our one recipient
    assert facts.original_message_id == APPEAL_ID


def test_a_notice_whose_envelope_sender_is_the_mailer_daemon_is_a_bounce() -> None:
    c = classify(
        _with_original(
            "From: Mail Delivery System <Mail.Delivery.System@mx.example.net>\r\n"
            "Return-Path: <MAILER-DAEMON@mx.example.net>\r\n"
            "Subject: Delivery status notification\r\n",
            f"This is an automatically generated Delivery Status Notification.\r\n\r\n"
            f"Delivery to the following recipients failed permanently:\r\n\r\n   {MINISTER}",
        )
    )
    facts = _bounce_facts(c)
    assert facts.addresses == (MINISTER,)


def test_a_notice_from_a_sender_without_an_address_is_a_bounce() -> None:
    c = classify(
        _notice(
            'From: "Jetmail System" <>\r\nReturn-Path: <list-admin@lists.example.net>\r\n'
            "Subject: Mail Error\r\n",
            "Your mail cannot be delivered to the following address(es):\r\n\r\n"
            f' {MINISTER} "(0), ErrMsg=mail box space not enough"\r\n\r\n'
            "Please check the above address(es) and then try again.\r\n",
        )
    )
    facts = _bounce_facts(c)
    assert facts.addresses == (MINISTER,)


def test_a_sieve_rejection_is_a_bounce() -> None:
    # RFC 5429 §2.1.1: a Sieve "reject" answers with an MDN whose disposition is "deleted".
    body = (
        "--m1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Your message to <{MINISTER}> was automatically rejected:\r\nQuota exceeded\r\n"
        "--m1\r\nContent-Type: message/disposition-notification\r\n\r\n"
        "Reporting-UA: mail; Dovecot Mail Delivery Agent\r\n"
        f"Final-Recipient: rfc822; {MINISTER}\r\nOriginal-Message-ID: {APPEAL_ID}\r\n"
        "Disposition: automatic-action/MDN-sent-automatically; deleted\r\n\r\n"
        f"--m1\r\nContent-Type: message/rfc822\r\n\r\n{ORIGINAL}\r\n--m1--\r\n"
    )
    c = classify(
        _notice(
            "From: Mail Delivery Subsystem <admin@mx.example.net>\r\n"
            "Return-Path: <MAILER-DAEMON>\r\nSubject: Automatically rejected mail\r\n"
            "Auto-Submitted: auto-replied (rejected)\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=disposition-notification; "
            'boundary="m1"\r\n',
            body,
        )
    )
    facts = _bounce_facts(c)
    assert facts.addresses == (MINISTER,)
    assert facts.original_message_id == APPEAL_ID
    assert facts.permanent is False  # over quota: a full mailbox is temporary


@pytest.mark.parametrize(
    ("status", "action", "diagnostic", "permanent", "code"),
    [
        pytest.param("5.1.1", "failure", "550 5.1.1 User unknown", True, "5.1.1", id="failure"),
        pytest.param("5.0.0", "error", "550 Requested action not taken", True, "5.0.0", id="error"),
        pytest.param(
            "5.1.1",
            "failed (Bad destination mailbox address)",
            "550 5.1.1",
            True,
            "5.1.1",
            id="failed-with-a-comment",
        ),
        # A word RFC 3464 does not know: the status class says what happened.
        pytest.param(
            "4.2.1", "deferred", "421 4.2.1 try again later", False, "4.2.1", id="deferred"
        ),
        # A status written as an SMTP reply, not an RFC 3463 code: read by its class.
        pytest.param(
            "553 Exceeded maximum inbound message size",
            "failure",
            "",
            True,
            None,
            id="smtp-reply-as-status",
        ),
    ],
)
def test_a_dsn_action_as_servers_write_it_is_a_failed_or_delayed_delivery(
    status: str, action: str, diagnostic: str, permanent: bool, code: str | None
) -> None:
    c = classify(dsn(status, action, diagnostic))
    facts = _bounce_facts(c)
    assert (facts.permanent, facts.status) == (permanent, code)


def test_a_dsn_names_the_original_recipient_we_wrote_to() -> None:
    # RFC 3464 §2.3.1: Original-Recipient is the address as we gave it; Final-Recipient may be
    # an alias the receiving system rewrote it to.
    raw = dsn("5.0.0", "failed", "disk quota").replace(
        b"Final-Recipient: rfc822; someone@example.com\r\n",
        f"Original-Recipient: rfc822;{MINISTER}\r\n"
        "Final-Recipient: rfc822;m.sample@sims-ms-daemon\r\n".encode(),
    )
    c = classify(raw)
    assert c.bounce is not None
    assert c.bounce.addresses == (MINISTER, "m.sample@sims-ms-daemon")


def test_a_reply_saying_the_mail_could_not_be_delivered_to_the_minister_is_a_reply() -> None:
    body = (
        "Dear Sir or Madam,\r\n\r\nYour mail could not be delivered to the minister: her "
        f"address {MINISTER} was closed. Delivery failed, so please write to "
        "cabinet@example.org.\r\n\r\nRespectfully,\r\nThe Chancery\r\n"
    )
    c = classify(reply({"From": "Chancery <postbox@example.org>"}, body))
    assert c.kind is InboundKind.REPLY, c.reason
    assert c.bounce is None


def test_a_reply_quoting_a_dsn_it_received_is_a_reply() -> None:
    body = (
        "Dear colleagues,\r\n\r\nyour letter bounced from our old server; please send it "
        "again to cabinet@example.org.\r\n\r\n"
        "---------- Forwarded message ---------\r\n"
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n\r\n"
        "This is the mail system at host mx.example.org.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients.\r\n\r\n"
        f"<{MINISTER}>: host mx.example.org said: 550 5.1.1 User unknown\r\n\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
    )
    c = classify(
        reply({"Subject": "Fwd: Undelivered Mail Returned to Sender", "In-Reply-To": ""}, body)
    )
    assert c.kind is InboundKind.REPLY, c.reason
    assert c.bounce is None


def test_a_person_writing_under_a_bounce_like_subject_in_the_thread_is_a_reply() -> None:
    # Threaded to our letter (RFC 5322 §3.6.4), which no non-delivery report is.
    body = (
        f"Delivery to the minister failed: {MINISTER} could not be delivered to, "
        "she has left office. Please write to cabinet@example.org.\r\n"
    )
    c = classify(reply({"Subject": "Delivery failure"}, body))
    assert c.kind is InboundKind.REPLY, c.reason
    assert c.bounce is None


def test_an_out_of_office_whose_envelope_sender_reads_mailer_daemon_is_an_auto_reply() -> None:
    # Sendmail writes a null envelope sender as <MAILER-DAEMON@host> in Return-Path.
    body = (
        "I am out of the office until 20 March 2023. For urgent matters please write to "
        "deputy@example.org.\r\n"
    )
    c = classify(
        reply(
            {"Return-Path": "<MAILER-DAEMON@mx.example.org>", "Auto-Submitted": "auto-replied"},
            body,
        )
    )
    assert c.kind is InboundKind.AUTO_REPLY, c.reason
    assert c.bounce is None
