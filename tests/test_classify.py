"""Focused rules of the inbound classifier, one behaviour per test."""

from __future__ import annotations

import datetime as dt

from outreach.inbox.classify import InboundKind, Limits, classify
from tests.inbound_mail import APPEAL_ID, REPLY_BODY, dsn, reply


def test_auto_submitted_no_is_not_an_auto_reply() -> None:
    c = classify(reply({"Auto-Submitted": "no"}, REPLY_BODY))
    assert c.kind is InboundKind.REPLY
    assert not c.review


def test_auto_submitted_auto_replied_is_an_auto_reply() -> None:
    c = classify(reply({"Auto-Submitted": "auto-replied (vacation)"}, "Away until 20 March 2023."))
    assert c.kind is InboundKind.AUTO_REPLY
    assert c.return_date == dt.date(2023, 3, 20)


def test_precedence_bulk_on_human_reply_is_reply_for_review() -> None:
    c = classify(reply({"Precedence": "bulk"}, REPLY_BODY))
    assert c.kind is InboundKind.REPLY
    assert c.review
    assert "Precedence: bulk" in c.reason


def test_return_date_without_year_takes_next_occurrence() -> None:
    c = classify(reply({"X-Autoreply": "yes"}, "I am out of the office and back on 2 January."))
    assert c.return_date == dt.date(2024, 1, 2)


def test_552_mailbox_full_is_temporary() -> None:
    # RFC 5321 §4.5.3.1.10: 552 (storage exceeded) is to be treated as temporary.
    c = classify(dsn("5.2.2", "failed", "552 5.2.2 Mailbox full"))
    assert c.kind is InboundKind.BOUNCE
    assert c.bounce is not None
    assert c.bounce.permanent is False
    assert c.bounce.status == "5.2.2"


def test_rfc3464_status_and_original_are_parsed() -> None:
    c = classify(dsn("5.1.1", "failed", "550 5.1.1 User unknown"))
    assert c.bounce is not None
    assert c.bounce.permanent is True
    assert c.bounce.status == "5.1.1"
    assert c.bounce.addresses == ("someone@example.com",)
    assert c.bounce.original_message_id == APPEAL_ID
    assert c.bounce.original_ref == "k7m2q9x4ab"


def test_rfc3464_delayed_is_temporary() -> None:
    c = classify(dsn("4.4.1", "delayed", "connection timed out"))
    assert c.bounce is not None
    assert c.bounce.permanent is False


def test_rfc3464_delivered_is_not_a_bounce() -> None:
    c = classify(dsn("2.0.0", "delivered", "250 OK"))
    assert c.kind is InboundKind.UNKNOWN
    assert "delivered" in c.reason


def test_reply_without_quote_keeps_whole_text() -> None:
    c = classify(reply({}, REPLY_BODY))
    assert c.kind is InboundKind.REPLY
    assert c.text is not None
    assert "We support the call for a UN fact-finding mission." in c.text
    assert c.text.startswith("Dear Sir or Madam,")


def test_quoted_original_is_stripped() -> None:
    body = (
        REPLY_BODY
        + "\r\nOn Tue, 7 Mar 2023 at 10:02, Appeal wrote:\r\n> Excellency,\r\n> Please act.\r\n"
    )
    c = classify(reply({}, body))
    assert c.text is not None
    assert "Please act" not in c.text
    assert "wrote:" not in c.text


def test_unknown_charset_is_quarantined() -> None:
    raw = reply({}, "", ctype="text/plain; charset=x-unknown-8bit") + "Привет".encode("cp1251")
    c = classify(raw)
    assert c.kind is InboundKind.UNKNOWN
    assert c.quarantined
    assert c.error == "undecodable charset x-unknown-8bit"
    assert c.in_reply_to == (APPEAL_ID,)  # the matcher can still file it under the letter


def test_depth_limit_quarantines() -> None:
    depth = 5
    head = reply({}, "", ctype='multipart/mixed; boundary="b0"').decode()
    parts = [
        f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'
        for i in range(depth)
    ]
    inner = f"--b{depth}\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    closing = "".join(f"--b{i}--\r\n" for i in range(depth, -1, -1))
    raw = (head + "".join(parts) + inner + closing).encode()
    assert classify(raw).kind is InboundKind.REPLY
    c = classify(raw, limits=Limits(max_depth=3))
    assert c.quarantined
    assert c.error == "MIME nesting deeper than 3"


def test_size_limit_quarantines_but_keeps_headers() -> None:
    raw = reply({}, REPLY_BODY * 100)
    c = classify(raw, limits=Limits(max_bytes=1000))
    assert c.quarantined
    assert c.error == "message larger than 1000 bytes"
    assert c.in_reply_to == (APPEAL_ID,)


def test_header_limit_quarantines() -> None:
    c = classify(reply({"X-Padding": "x" * 5000}, REPLY_BODY), limits=Limits(max_header_bytes=1000))
    assert c.quarantined
    assert c.error is not None
    assert "header" in c.error


def test_time_limit_quarantines() -> None:
    c = classify(reply({}, REPLY_BODY), limits=Limits(max_seconds=-1.0))
    assert c.quarantined
    assert c.error is not None
    assert "time limit" in c.error


def test_garbage_is_quarantined_not_raised() -> None:
    c = classify(b"\x00\xff\xfe garbage")
    assert c.kind is InboundKind.UNKNOWN
    assert c.quarantined


def test_date_is_aware_utc_and_sender_bare_lowercase() -> None:
    c = classify(reply({"From": "Amb <Ambassador.FR-AM@Example.ORG>"}, REPLY_BODY))
    assert c.date == dt.datetime(2023, 3, 9, 8, 47, 13, tzinfo=dt.UTC)
    assert c.sender == "ambassador.fr-am@example.org"


def test_extracted_values_are_plain_strings() -> None:
    # CVE-2024-6923: nothing from the inbound header objects may reach outgoing mail.
    c = classify(reply({"Subject": "=?utf-8?q?R=C3=A9ponse?=\r\n\tsuite"}, REPLY_BODY))
    assert type(c.subject) is str
    assert c.subject == "Réponse suite"
    assert all(type(r) is str for r in c.recipients)


def test_a_subject_in_raw_utf8_reads_as_sent() -> None:
    # RFC 6532 allows UTF-8 in header fields; some clients send it without encoded words.
    raw = reply({"Subject": "Re: Déclaration Заявление"}, REPLY_BODY)
    assert classify(raw).subject == "Re: Déclaration Заявление"
