"""Self-tests of the test SMTP servers (tests/smtp_server.py, tests/sink.py), with aiosmtplib."""

from __future__ import annotations

import asyncio
import random
import signal
import ssl
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPConnectResponseError,
    SMTPConnectTimeoutError,
    SMTPDataError,
    SMTPException,
    SMTPHeloError,
    SMTPReadTimeoutError,
    SMTPRecipientRefused,
    SMTPRecipientsRefused,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
)

import tests.smtp_server as servers
from tests.sink import SinkProcess, start_sink
from tests.smtp_server import Fault, SmtpServer, Stage

smtp_server = servers.smtp_server  # the fixture (the lead imports it in conftest.py)

SENDER = "outreach@outreach.example.org"
RCPT = "ambassador@embassy.example"


def message(message_id: str = "<1@outreach.example.org>", to: str = RCPT) -> bytes:
    return (
        f"From: {SENDER}\r\nTo: {to}\r\nSubject: Letter\r\nMessage-ID: {message_id}\r\n\r\n"
        "Your Excellency,\r\n.leading dot\r\n"
    ).encode()


async def _send(
    port: int, rcpts: list[str], data: bytes, timeout: float, client: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    options: dict[str, Any] = {"start_tls": False, **client}
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=timeout, **options)
    try:
        await smtp.connect()
        result = await smtp.sendmail(SENDER, rcpts, data)
        await smtp.quit()  # a TLS socket closed without QUIT outlives asyncio.run (ResourceWarning)
        return result
    finally:
        smtp.close()


def deliver(
    port: int,
    message_id: str = "<1@outreach.example.org>",
    rcpts: list[str] | None = None,
    timeout: float = 5.0,
    **client: Any,
) -> tuple[dict[str, Any], str]:
    """Send one message the way the dispatcher will (connect, sendmail); raise what it raises."""
    return asyncio.run(_send(port, rcpts or [RCPT], message(message_id), timeout, client))


# --- the in-process server ------------------------------------------------------------------


def test_plain_delivery_is_recorded(smtp_server: SmtpServer) -> None:
    errors, reply = deliver(smtp_server.port)
    assert (errors, reply) == ({}, "2.0.0 OK queued")
    [received] = smtp_server.messages
    assert received.mail_from == SENDER
    assert received.rcpt_tos == (RCPT,)
    assert received.message_id == "<1@outreach.example.org>"
    assert received.data == message()  # dot-stuffing undone, bytes intact
    counters = smtp_server.counters
    assert (counters.connections, counters.ehlo, counters.helo, counters.quit) == (1, 1, 0, 1)
    assert smtp_server.host == "127.0.0.1"


REFUSALS = [
    ("connect", "421 4.7.0 Closing", SMTPConnectResponseError),
    ("connect", "554 5.7.1 No service", SMTPConnectResponseError),
    ("ehlo", "451 4.3.0 Try again later", SMTPHeloError),
    ("ehlo", "421 4.7.0 Closing", SMTPHeloError),
    ("mail", "451 4.3.0 Try again later", SMTPSenderRefused),
    ("mail", "421 4.7.0 Closing", SMTPSenderRefused),
    ("rcpt", "550 5.1.1 No such user", SMTPRecipientRefused),
    ("rcpt", "451 4.3.0 Try again later", SMTPRecipientRefused),
    ("rcpt", "552 5.2.2 Mailbox full", SMTPRecipientRefused),
    ("rcpt", "421 4.7.0 Closing", SMTPRecipientRefused),
    ("data", "451 4.3.0 Try again later", SMTPDataError),
    ("data", "554 5.5.1 No valid recipients", SMTPDataError),
    ("after_data", "451 4.3.0 Try again later", SMTPDataError),
    ("after_data", "552 5.2.2 Mailbox full", SMTPDataError),
    ("after_data", "554 5.7.1 Message rejected", SMTPDataError),
    ("after_data", "421 4.7.0 Closing", SMTPDataError),
]


@pytest.mark.parametrize(("stage", "reply", "expected"), REFUSALS)
def test_scripted_reply_reaches_the_client_exactly(
    smtp_server: SmtpServer, stage: Stage, reply: str, expected: type[SMTPResponseException]
) -> None:
    smtp_server.script(Fault(stage, reply=reply))
    with pytest.raises((expected, SMTPRecipientsRefused)) as caught:
        deliver(smtp_server.port)
    error = caught.value
    if isinstance(error, SMTPRecipientsRefused):  # sendmail wraps RCPT refusals of everyone
        [error] = error.recipients
        assert error.recipient == RCPT
    assert type(error) is expected
    assert isinstance(error, SMTPResponseException)
    code, text = reply.split(" ", 1)
    assert (error.code, error.message) == (int(code), text)
    assert smtp_server.messages == []
    assert smtp_server.pending() == []
    deliver(smtp_server.port, "<2@outreach.example.org>")  # one-shot: normal behaviour again
    assert [m.message_id for m in smtp_server.messages] == ["<2@outreach.example.org>"]


def test_ehlo_fault_fails_the_helo_fallback_and_errors_rset(smtp_server: SmtpServer) -> None:
    smtp_server.script(Fault("ehlo", reply="451 4.3.0 Try again later"))
    with pytest.raises(SMTPHeloError):
        deliver(smtp_server.port)
    assert (smtp_server.counters.ehlo, smtp_server.counters.helo) == (1, 1)
    smtp_server.script(Fault("rcpt", reply="451 4.3.0 Try again later"))
    with pytest.raises(SMTPRecipientsRefused):
        deliver(smtp_server.port)
    assert smtp_server.counters.rset == 1  # aiosmtplib resets the envelope after an error


def test_single_rcpt_call_raises_recipient_refused(smtp_server: SmtpServer) -> None:
    smtp_server.script(Fault("rcpt", reply="550 5.1.1 No such user"))

    async def run() -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp_server.port) as client:
            await client.mail(SENDER)
            with pytest.raises(SMTPRecipientRefused) as caught:
                await client.rcpt(RCPT)
            assert (caught.value.code, caught.value.message) == (550, "5.1.1 No such user")

    asyncio.run(run())


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("connect", SMTPConnectError),
        ("ehlo", SMTPServerDisconnected),
        ("mail", SMTPServerDisconnected),
        ("rcpt", SMTPServerDisconnected),
        ("data", SMTPServerDisconnected),
        ("after_data", SMTPServerDisconnected),
    ],
)
def test_drop_at_each_stage(
    smtp_server: SmtpServer, stage: Stage, expected: type[SMTPException]
) -> None:
    smtp_server.script(Fault(stage, drop=True))
    with pytest.raises(expected) as caught:
        deliver(smtp_server.port)
    assert not isinstance(caught.value, SMTPResponseException)
    assert "Unexpected EOF received" in str(caught.value)
    if stage == "after_data":  # RFC 1047: accepted, but the sender never saw the 250
        assert [m.message_id for m in smtp_server.messages] == ["<1@outreach.example.org>"]
    else:
        assert smtp_server.messages == []


@pytest.mark.parametrize(
    ("stage", "expected", "recorded"),
    [
        ("connect", SMTPConnectTimeoutError, False),
        ("ehlo", SMTPReadTimeoutError, False),
        ("rcpt", SMTPReadTimeoutError, False),
        ("data", SMTPReadTimeoutError, False),
        ("after_data", SMTPReadTimeoutError, True),
    ],
)
def test_delay_triggers_client_timeout(
    smtp_server: SmtpServer, stage: Stage, expected: type[SMTPException], recorded: bool
) -> None:
    smtp_server.script(Fault(stage, delay=2.0))
    with pytest.raises(expected):
        deliver(smtp_server.port, timeout=0.3)
    assert len(smtp_server.messages) == int(recorded)


def test_short_delay_is_only_slow(smtp_server: SmtpServer) -> None:
    smtp_server.script(Fault("after_data", delay=0.2), Fault("rcpt", delay=0.1))
    deliver(smtp_server.port, timeout=2.0)
    assert len(smtp_server.messages) == 1


def test_script_is_consumed_in_order_per_stage(smtp_server: SmtpServer) -> None:
    smtp_server.script(
        Fault("rcpt", reply="451 4.3.0 Try again later"),
        Fault("rcpt", reply="550 5.1.1 No such user"),
        Fault("connect", reply="421 4.7.0 Closing"),
    )
    with pytest.raises(SMTPConnectResponseError):
        deliver(smtp_server.port)
    codes = []
    for n in range(2):
        with pytest.raises(SMTPRecipientsRefused) as caught:
            deliver(smtp_server.port, f"<{n}@x>")
        codes.append(caught.value.recipients[0].code)
    assert codes == [451, 550]
    deliver(smtp_server.port, "<ok@x>")
    assert [m.message_id for m in smtp_server.messages] == ["<ok@x>"]
    assert smtp_server.counters.connections == 4


def test_fail_address_applies_every_time(smtp_server: SmtpServer) -> None:
    gone = "gone@embassy.example"
    smtp_server.fail_address(gone, Fault("rcpt", reply="550 5.1.1 No such user"))
    for n in range(3):
        with pytest.raises(SMTPRecipientsRefused):
            deliver(smtp_server.port, f"<{n}@x>", rcpts=[gone.upper()])
    errors, _ = deliver(smtp_server.port, "<mixed@x>", rcpts=[gone, RCPT])
    assert {k: (v.code, v.message) for k, v in errors.items()} == {
        gone: (550, "5.1.1 No such user")
    }
    [received] = smtp_server.messages
    assert received.rcpt_tos == (RCPT,)


def test_fail_address_after_data_drop(smtp_server: SmtpServer) -> None:
    smtp_server.fail_address(RCPT, Fault("after_data", drop=True))
    for n in range(2):
        with pytest.raises(SMTPServerDisconnected):
            deliver(smtp_server.port, f"<{n}@x>")
    assert [m.message_id for m in smtp_server.messages] == ["<0@x>", "<1@x>"]
    deliver(smtp_server.port, "<other@x>", rcpts=["other@embassy.example"])
    assert len(smtp_server.messages) == 3


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="stage"):
        Fault("quit", reply="221 Bye")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="3-digit"):
        Fault("rcpt", reply="oops")
    with pytest.raises(ValueError, match="not both"):
        Fault("rcpt", reply="451 4.3.0 x", drop=True)
    with SmtpServer() as server, pytest.raises(ValueError, match="address faults"):
        server.fail_address(RCPT, Fault("mail", reply="451 4.3.0 x"))


# --- AUTH and TLS ---------------------------------------------------------------------------

USERS = {"mailer": "s3cret"}


def test_auth_success_and_required() -> None:
    with SmtpServer(auth=USERS) as server:
        deliver(server.port, username="mailer", password="s3cret")
        assert server.counters.auth == 1
        assert len(server.messages) == 1
        with pytest.raises(SMTPSenderRefused) as caught:
            deliver(server.port)  # no login: MAIL is refused
        assert (caught.value.code, caught.value.message) == (530, "5.7.0 Authentication required")


def test_auth_failure_is_535() -> None:
    with SmtpServer(auth=USERS) as server:
        with pytest.raises(SMTPAuthenticationError) as caught:
            deliver(server.port, username="mailer", password="wrong")
        assert (caught.value.code, caught.value.message) == (
            535,
            "5.7.8 Authentication credentials invalid",
        )
        assert server.messages == []
        assert server.counters.auth == 0
        assert server.counters.auth_failures == 2  # aiosmtplib tries LOGIN, then PLAIN


def test_starttls_verified_with_the_ca_then_auth() -> None:
    with SmtpServer(tls="starttls", auth=USERS) as server:
        context = server.client_ssl_context()
        deliver(
            server.port, start_tls=True, tls_context=context, username="mailer", password="s3cret"
        )
        assert (server.counters.starttls, server.counters.auth) == (1, 1)
        assert len(server.messages) == 1
        assert b"BEGIN CERTIFICATE" in server.ca.cert_pem.bytes()
        with pytest.raises(SMTPException, match="AUTH extension is not supported"):
            deliver(server.port, username="mailer", password="s3cret")  # AUTH only after TLS


def test_untrusted_certificate_fails() -> None:
    untrusted = ssl.create_default_context()
    with SmtpServer(tls="starttls") as server:
        with pytest.raises(ssl.SSLCertVerificationError):  # STARTTLS: raw, not wrapped
            deliver(server.port, start_tls=True, tls_context=untrusted)
        assert server.messages == []
    with SmtpServer(tls="implicit") as server:
        with pytest.raises(SMTPConnectError) as caught:  # implicit TLS: wrapped at connect
            deliver(server.port, use_tls=True, tls_context=untrusted)
        assert isinstance(caught.value.__cause__, ssl.SSLCertVerificationError)
        assert server.messages == []


def test_require_starttls_refuses_mail_in_clear() -> None:
    with SmtpServer(tls="starttls", require_starttls=True) as server:
        with pytest.raises(SMTPSenderRefused) as caught:
            deliver(server.port)
        assert caught.value.code == 530
        deliver(server.port, start_tls=True, tls_context=server.client_ssl_context())
        assert len(server.messages) == 1


def test_implicit_tls() -> None:
    with SmtpServer(tls="implicit", auth=USERS) as server:
        deliver(
            server.port,
            use_tls=True,
            tls_context=server.client_ssl_context(),
            username="mailer",
            password="s3cret",
        )
        assert len(server.messages) == 1
        with pytest.raises((SMTPServerDisconnected, SMTPConnectError)):
            deliver(server.port, timeout=1.0)  # a cleartext client gets nothing sensible


@pytest.mark.parametrize("tls", ["none", "starttls"])
def test_server_without_starttls(tls: Any) -> None:
    with SmtpServer(tls=tls, advertise_starttls=False, auth=USERS) as server:
        with pytest.raises(SMTPException, match="STARTTLS extension not supported") as caught:
            deliver(server.port, start_tls=True, tls_context=server.client_ssl_context())
        assert not isinstance(caught.value, SMTPResponseException)
        assert server.counters.auth + server.counters.auth_failures == 0

        async def raw_starttls() -> int:
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=server.port) as client:
                await client.ehlo()
                assert not client.supports_extension("starttls")
                response = await client.execute_command(b"STARTTLS")
                return response.code

        assert asyncio.run(raw_starttls()) in (454, 502)


# --- the durable sink process ---------------------------------------------------------------


def test_sink_records_durably_before_replying(tmp_path: Path) -> None:
    with start_sink(tmp_path) as sink:
        for n in range(5):
            deliver(sink.port, f"<{n}@outreach.example.org>")
            assert sink.accepted()[-1] == (f"<{n}@outreach.example.org>", RCPT)
        deliver(sink.port, "<multi@x>", rcpts=["a@embassy.example", "b@embassy.example"])
        assert sink.accepted()[-2:] == [
            ("<multi@x>", "a@embassy.example"),
            ("<multi@x>", "b@embassy.example"),
        ]
        assert sink.faults() == []
        sink.process.send_signal(signal.SIGKILL)  # no clean shutdown needed for the record
        sink.process.wait()
        assert len(sink.accepted()) == 7


def test_sink_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    sink = start_sink(tmp_path)
    assert sink.stop() == 0


def _expected_sink_outcomes(seed: int, count: int, rate: float, drop_rate: float) -> list[str]:
    """Replay the sink's RNG for `count` sequential one-recipient messages."""
    rng = random.Random(seed)
    outcomes = []
    for _ in range(count):
        if rng.random() < rate:
            outcomes.append("rcpt-451")
            continue
        draw = rng.random()
        if draw < rate:
            outcomes.append("data-451")
        elif draw < 2 * rate:
            outcomes.append("drop-before-accept")
        elif draw < 2 * rate + drop_rate:
            outcomes.append("accept-then-drop")
        else:
            outcomes.append("ok")
    return outcomes


def _observe(sink: SinkProcess, count: int) -> list[str]:
    seen = []
    for n in range(count):
        outcome = "ok"
        try:
            deliver(sink.port, f"<{n}@x>")
        except SMTPRecipientsRefused as error:
            outcome = f"rcpt-{error.recipients[0].code}"
        except SMTPDataError as error:
            outcome = f"data-{error.code}"
            if error.message != "4.3.0 Try again later (sink fault)":
                outcome = error.message
        except SMTPServerDisconnected:
            outcome = "dropped"
        seen.append(outcome)
    return seen


def test_sink_faults_follow_the_seed_and_rates(tmp_path: Path) -> None:
    count, rate, drop_rate, seed = 300, 0.08, 0.1, 1234
    expected = _expected_sink_outcomes(seed, count, rate, drop_rate)
    with start_sink(tmp_path, fault_rate=rate, after_data_drop_rate=drop_rate, seed=seed) as sink:
        seen = _observe(sink, count)
        accepted = sink.accepted()
        faults = sink.faults()
    client_view = ["dropped" if e.endswith("accept") or e.endswith("drop") else e for e in expected]
    assert seen == client_view
    accepted_ids = [message_id for message_id, _ in accepted]
    assert accepted_ids == [
        f"<{n}@x>" for n, e in enumerate(expected) if e in ("ok", "accept-then-drop")
    ]
    assert [kind for kind, _ in faults] == [e for e in expected if e != "ok"]
    for kind, share in [
        ("rcpt-451", rate),
        ("data-451", rate * (1 - rate)),
        ("drop-before-accept", rate * (1 - rate)),
        ("accept-then-drop", drop_rate * (1 - rate)),
    ]:
        assert abs(expected.count(kind) / count - share) < 0.05, kind
    assert all(kind in expected for kind in ("rcpt-451", "data-451", "drop-before-accept"))
