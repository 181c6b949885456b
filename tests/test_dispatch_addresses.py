"""Dispatch of letters whose addresses are not plain ASCII, and of letters that cannot be sent."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import col

from outreach.models import Letter, LetterState
from tests import factory
from tests.dispatching import Clock, campaign_row, letters, run, settings_for
from tests.smtp_server import SmtpServer


def readdress(engine: Engine, letter_id: int, address: str, mime: bytes | None = None) -> None:
    """Give a stored letter another address, as an older import or another tool could have."""
    values: dict[str, object] = {"to_address": address}
    if mime is not None:
        values["mime"] = mime
    with engine.begin() as connection:
        connection.execute(sa.update(Letter).where(col(Letter.id) == letter_id).values(**values))


def utf8_mime(address: str) -> bytes:
    """A letter built for SMTPUTF8: its To header in UTF-8 (RFC 6532)."""
    return (
        f"From: appeal@outreach.example.org\r\nTo: {address}\r\n"
        "Message-ID: <utf8@outreach.example.org>\r\nSubject: Appeal\r\n\r\nBody\r\n"
    ).encode()


def test_an_idn_domain_goes_in_punycode_in_rcpt(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    factory.letters(
        engine,
        factory.campaign(engine),
        3,
        domains=("bücher.example", "example.org"),
        mime=b"From: appeal@outreach.example.org\r\nSubject: Appeal\r\n\r\nBody\r\n",
    )
    report = run(engine, settings_for(server), clock)
    assert report.by_outcome == {"sent": 3}
    assert sorted(m.rcpt_tos for m in server.messages) == [
        ("person.r0@xn--bcher-kva.example",),
        ("person.r1@example.org",),
        ("person.r2@xn--bcher-kva.example",),
    ]
    assert {m.mail_options for m in server.messages} == {()}  # no SMTPUTF8 needed


def test_a_non_ascii_local_part_goes_with_smtputf8_to_a_server_that_offers_it(
    engine: Engine, clock: Clock
) -> None:
    [letter_id] = factory.letters(engine, factory.campaign(engine), 1)
    readdress(engine, letter_id, "zoë@bücher.example", utf8_mime("zoë@xn--bcher-kva.example"))
    with SmtpServer(smtputf8=True) as server:
        run(engine, settings_for(server), clock)
    [received] = server.messages
    assert received.rcpt_tos == ("zoë@xn--bcher-kva.example",)
    assert received.mail_options == ("SMTPUTF8",)
    assert received.data.replace(b"\r\n", b"\n") == utf8_mime("zoë@xn--bcher-kva.example").replace(
        b"\r\n", b"\n"
    )
    assert letters(engine)[0].state is LetterState.SENT


def test_a_non_ascii_local_part_fails_alone_at_a_server_without_smtputf8(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    ids = factory.letters(engine, factory.campaign(engine), 3)
    readdress(engine, ids[1], "zoë@example.org")
    report = run(engine, settings_for(server), clock)
    assert report.by_outcome == {"sent": 2, "failed": 1}
    first, refused, third = letters(engine)
    assert (first.state, third.state) == (LetterState.SENT, LetterState.SENT)
    assert refused.state is LetterState.FAILED
    assert refused.reason == (
        f"not sent: zoë@example.org or the letter's headers need SMTPUTF8 (RFC 6531), which "
        f"127.0.0.1:{server.port} does not offer; send it through a server that does, or "
        "record an ASCII address"
    )
    assert [m.rcpt_tos for m in server.messages] == [
        ("person.r0@example.org",),
        ("person.r2@example.org",),
    ]


def test_a_letter_with_utf8_headers_is_not_sent_to_a_server_without_smtputf8(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    [letter_id] = factory.letters(engine, factory.campaign(engine), 1)
    readdress(engine, letter_id, "person.r0@example.org", utf8_mime("Zoë <zoe@example.org>"))
    run(engine, settings_for(server), clock)
    assert letters(engine)[0].state is LetterState.FAILED
    assert server.messages == []


def test_a_poison_letter_among_100_fails_alone_and_the_run_goes_on(
    engine: Engine, server: SmtpServer, clock: Clock
) -> None:
    ids = factory.letters(engine, factory.campaign(engine), 100)
    # The encoder's nightmare: a non-ASCII domain that no IDNA form exists for.
    readdress(engine, ids[41], "person.r41@bücher..example")
    report = run(engine, settings_for(server, dispatch={"connections": 4}), clock)
    assert report.by_outcome == {"sent": 99, "failed": 1}
    stored = letters(engine)
    assert Counter(letter.state for letter in stored) == {
        LetterState.SENT: 99,
        LetterState.FAILED: 1,
    }
    poison = stored[41]
    assert poison.state is LetterState.FAILED
    assert poison.reason == (
        'not sent: "person.r41@bücher..example" is not a valid e-mail address: An email address '
        "cannot have two periods in a row."
    )
    assert len(server.messages) == 99
    assert "person.r41@bücher..example" not in {m.rcpt_tos[0] for m in server.messages}
    again = run(engine, settings_for(server), clock)  # a second `dispatch --once`
    assert again.claimed == 0
    assert len(server.messages) == 99


def test_an_unexpected_error_before_connecting_defers_and_pauses_without_stopping_the_run(
    engine: Engine, server: SmtpServer, clock: Clock, tmp_path: Path
) -> None:
    factory.letters(engine, factory.campaign(engine), 6)
    settings = settings_for(
        server,
        smtp={"security": "starttls", "ca_file": str(tmp_path / "missing.pem")},
        dispatch={"max_consecutive_failures": 3, "connections": 1},
    )
    run(engine, settings, clock)
    assert Counter(letter.state for letter in letters(engine)) == {
        LetterState.DEFERRED: 3,
        LetterState.QUEUED: 3,
    }
    reason = campaign_row(engine).pause_reason or ""
    assert reason.startswith(
        "paused after 3 connection failures in a row; last: not sent: outreach failed: "
        "FileNotFoundError: "
    )
    assert server.messages == []
