"""An in-process, fault-injecting SMTP server (aiosmtpd) for the dispatcher's tests.

    with SmtpServer(tls="starttls", auth={"user": "pw"}) as server:
        server.script(Fault("rcpt", reply="451 4.3.0 Try again later"))
        server.fail_address("gone@example.org", Fault("rcpt", reply="550 5.1.1 No such user"))
        ...  # send to server.host:server.port, trusting server.client_ssl_context()
        assert [m.message_id for m in server.messages] == [...]

Scripted faults are kept in one FIFO queue per stage: each applies once, to the next time its
stage is reached (on any connection); then the server behaves normally again. A standing fault
(`always`) applies each time its stage is reached with no scripted fault left, until `recover()`.
Address faults (`fail_address`) apply every time, at "rcpt" (to that RCPT), "data" or
"after_data" (to any transaction that has that recipient); they take precedence over the others.

A message is recorded in `messages` before its final reply is sent, so once a client has seen the
250 (or the drop of an "after_data" fault) the record is there.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["connect", "ehlo", "mail", "rcpt", "data", "after_data"]
STAGES: tuple[Stage, ...] = ("connect", "ehlo", "mail", "rcpt", "data", "after_data")
ADDRESS_STAGES: tuple[Stage, ...] = ("rcpt", "data", "after_data")
TlsMode = Literal["none", "starttls", "implicit"]
SERVER_NAME = "mx.test.localhost"


@dataclass(frozen=True)
class Fault:
    """What happens at one stage of one delivery.

    Order: wait `delay` seconds; then `drop` (close the TCP connection without a reply) or send
    `reply` (a reply starting "421" also closes the connection, as RFC 5321 says); with neither,
    carry on normally. "connect" is the 220 greeting; "ehlo" also covers a HELO fallback on the
    same connection; "data" is the reply to the DATA command (before 354); "after_data" is the
    reply after the final ".". At "after_data" the message is recorded (accepted) before the
    delay and the drop unless `reply` is a 4xx/5xx: drop there is the RFC 1047 case.
    """

    stage: Stage
    reply: str | None = None
    drop: bool = False
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"unknown stage {self.stage!r}; expected one of {STAGES}")
        if self.reply is not None and (len(self.reply) < 3 or not self.reply[:3].isdigit()):
            raise ValueError(f"reply must start with a 3-digit code: {self.reply!r}")
        if self.drop and self.reply is not None:
            raise ValueError("a fault either drops the connection or replies, not both")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")

    @property
    def rejects(self) -> bool:
        """True if the fault answers with a 4xx/5xx reply (so nothing is accepted)."""
        return self.reply is not None and self.reply[0] in "45"


@dataclass(frozen=True)
class Received:
    """One message the server accepted (the envelope as accepted, the raw DATA bytes)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message_id: str | None
    mail_options: tuple[str, ...] = ()  # the MAIL FROM parameters, e.g. ("SMTPUTF8",)


@dataclass
class Counters:
    """Commands seen since the server started (failed ones included, unless noted)."""

    connections: int = 0
    ehlo: int = 0
    helo: int = 0
    starttls: int = 0  # completed TLS handshakes after STARTTLS
    auth: int = 0  # successful authentications
    auth_failures: int = 0
    rset: int = 0
    quit: int = 0


def message_id_of(data: bytes) -> str | None:
    """The Message-ID header of a raw message, stripped, or None."""
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(data)
    value = headers.get("Message-ID")
    return str(value).strip() if value is not None else None


async def drop_connection(server: SMTP) -> None:
    """Close the client's connection without a reply and park until aiosmtpd cancels us."""
    transport = server.transport
    if isinstance(transport, asyncio.Transport):
        transport.abort()  # no reply, no flush
    elif transport is not None:
        transport.close()
    await asyncio.sleep(3600)  # connection_lost() cancels the session task


async def apply(server: SMTP, fault: Fault | None) -> str | None:
    """Wait, then drop (never returns) or return the reply to send (None: carry on normally)."""
    if fault is None:
        return None
    if fault.delay:
        await asyncio.sleep(fault.delay)
    if fault.drop:
        await drop_connection(server)
    return fault.reply


class _FaultySMTP(SMTP):
    """aiosmtpd's SMTP with the stages that have no handler hook: greeting, DATA, STARTTLS."""

    greeting_fault: Fault | None = None

    @property
    def state(self) -> SmtpServer:
        owner: SmtpServer = self.event_handler.owner
        return owner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.state.open_connections.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self.state.open_connections.discard(self)
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        state = self.state
        if state.live:
            state.bump("connections")
            reply = await apply(self, state.take("connect"))
            if reply is not None:
                await self.push(reply)  # instead of the 220 greeting
                assert self.transport is not None
                self.transport.close()
                return
        await super()._handle_client()

    async def push(self, status: Any) -> None:
        await super().push(status)
        text = status.decode() if isinstance(status, bytes) else str(status)
        if text.startswith("421") and self.transport is not None:
            self.transport.close()

    async def smtp_STARTTLS(self, arg: str) -> None:
        if not self.state.advertise_starttls:
            await self.push("454 4.7.0 TLS not available")
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_DATA(self, arg: str) -> None:
        rcpts = self.envelope.rcpt_tos if self.envelope is not None else []
        reply = await apply(self, self.state.take("data", rcpts) if rcpts and not arg else None)
        if reply is not None:
            await self.push(reply)
            return
        await super().smtp_DATA(arg)


class _Handler:
    """aiosmtpd handler hooks for the stages that have one."""

    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_EHLO(
        self, server: _FaultySMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:  # fmt: skip
        state = self.owner
        state.bump("ehlo")
        server.greeting_fault = fault = state.take("ehlo")
        reply = await apply(server, fault)
        if reply is not None:
            return [reply]
        server.greeting_fault = None
        session.host_name = hostname  # a 5-argument EHLO hook must set it itself
        if not state.advertise_starttls:
            responses = [r for r in responses if r[4:].upper() != "STARTTLS"]
        return responses

    async def handle_HELO(
        self, server: _FaultySMTP, session: Session, envelope: Envelope, hostname: str
    ) -> Any:
        self.owner.bump("helo")
        fault = server.greeting_fault  # a failed EHLO fails the HELO fallback the same way
        if fault is not None and fault.reply is not None:
            return fault.reply
        return MISSING

    async def handle_MAIL(
        self, server: _FaultySMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> Any:  # fmt: skip
        state = self.owner
        if state.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        reply = await apply(server, state.take("mail"))
        return MISSING if reply is None else reply

    async def handle_RCPT(
        self, server: _FaultySMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> Any:  # fmt: skip
        reply = await apply(server, self.owner.take("rcpt", [address]))
        return MISSING if reply is None else reply

    async def handle_DATA(self, server: _FaultySMTP, session: Session, envelope: Envelope) -> str:
        state = self.owner
        fault = state.take("after_data", envelope.rcpt_tos)
        if fault is None or not fault.rejects:
            data = bytes(envelope.original_content or b"")
            received = Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=data,
                message_id=message_id_of(data),
                mail_options=tuple(envelope.mail_options),
            )
            with state.lock:
                state.received.append(received)
        reply = await apply(server, fault)
        return "250 2.0.0 OK queued" if reply is None else reply

    async def handle_RSET(self, server: _FaultySMTP, session: Session, envelope: Envelope) -> Any:
        self.owner.bump("rset")
        return MISSING

    async def handle_QUIT(self, server: _FaultySMTP, session: Session, envelope: Envelope) -> Any:
        self.owner.bump("quit")
        return MISSING

    def handle_STARTTLS(self, server: _FaultySMTP, session: Session, envelope: Envelope) -> bool:
        self.owner.bump("starttls")
        return True

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        state = self.owner
        ok = (
            state.auth is not None
            and isinstance(data, LoginPassword)
            and state.auth.get(data.login.decode(errors="replace"))
            == data.password.decode(errors="replace")
        )
        state.bump("auth" if ok else "auth_failures")
        if ok:
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)  # -> 535 5.7.8


class _Controller(Controller):
    """A Controller that binds port 0 (it learns the port before its start-up self-test)."""

    def factory(self) -> SMTP:
        return _FaultySMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SmtpServer:
    """A fault-injecting SMTP server on 127.0.0.1, on a free port, in a thread of this process."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        tls: TlsMode = "none",
        auth: dict[str, str] | None = None,
        advertise_starttls: bool = True,
        require_starttls: bool = False,
        auth_require_tls: bool | None = None,
        smtputf8: bool = False,
    ) -> None:
        """`auth_require_tls` (offer AUTH only after STARTTLS) defaults to True for
        tls="starttls" and False otherwise (aiosmtpd cannot see implicit TLS). `smtputf8`
        advertises SMTPUTF8 (RFC 6531) and takes UTF-8 addresses and headers."""
        if tls not in ("none", "starttls", "implicit"):
            raise ValueError(f"unknown tls mode {tls!r}")
        self.tls: TlsMode = tls
        self.auth = dict(auth) if auth is not None else None
        self.advertise_starttls = advertise_starttls
        self.lock = threading.Lock()
        self.counters = Counters()
        self.received: list[Received] = []
        self.live = False
        self.open_connections: set[SMTP] = set()  # touched only in the server's thread
        self._queues: dict[str, deque[Fault]] = {stage: deque() for stage in STAGES}
        self._address_faults: dict[str, list[Fault]] = {}
        self._standing: dict[str, Fault] = {}
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert("127.0.0.1", "localhost", SERVER_NAME)
        handler = _Handler(self)
        kwargs: dict[str, Any] = {
            "server_hostname": SERVER_NAME,
            "authenticator": handler.authenticate,
            "auth_require_tls": (tls == "starttls")
            if auth_require_tls is None
            else auth_require_tls,
            "enable_SMTPUTF8": smtputf8,
        }
        if tls == "starttls":
            kwargs["tls_context"] = self.server_ssl_context()
            kwargs["require_starttls"] = require_starttls
        elif tls == "implicit":
            kwargs["ssl_context"] = self.server_ssl_context()
        self._controller = _Controller(handler, hostname=self.host, port=0, **kwargs)
        self.port = 0

    # --- TLS --------------------------------------------------------------------------------
    def server_ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        return context

    def client_ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's CA (hostname 127.0.0.1)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(context)
        return context

    # --- faults -----------------------------------------------------------------------------
    def script(self, *faults: Fault) -> None:
        """Queue faults; each applies once, to the next time its stage is reached."""
        with self.lock:
            for fault in faults:
                self._queues[fault.stage].append(fault)

    def fail_address(self, address: str, fault: Fault) -> None:
        """Apply `fault` every time `address` is a recipient (stage rcpt, data or after_data)."""
        if fault.stage not in ADDRESS_STAGES:
            raise ValueError(f"address faults apply at {ADDRESS_STAGES}, not {fault.stage!r}")
        with self.lock:
            self._address_faults.setdefault(address.lower(), []).append(fault)

    def always(self, fault: Fault) -> None:
        """Apply `fault` every time its stage is reached, until `recover()`."""
        with self.lock:
            self._standing[fault.stage] = fault

    def recover(self) -> None:
        """Drop the faults set by `always`: the server behaves normally again."""
        with self.lock:
            self._standing.clear()

    def pending(self) -> list[Fault]:
        """Scripted faults not consumed yet."""
        with self.lock:
            return [fault for stage in STAGES for fault in self._queues[stage]]

    def bump(self, counter: str) -> None:
        with self.lock:
            setattr(self.counters, counter, getattr(self.counters, counter) + 1)

    def take(self, stage: Stage, recipients: list[str] | None = None) -> Fault | None:
        """The fault to apply now at `stage` (internal: called from the server thread)."""
        if not self.live:
            return None
        with self.lock:
            for address in recipients or []:
                for fault in self._address_faults.get(address.lower(), []):
                    if fault.stage == stage:
                        return fault
            queue = self._queues[stage]
            return queue.popleft() if queue else self._standing.get(stage)

    # --- records ----------------------------------------------------------------------------
    @property
    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def clear(self) -> None:
        """Forget messages, counters and every fault."""
        with self.lock:
            self.received.clear()
            self.counters = Counters()
            for queue in self._queues.values():
                queue.clear()
            self._address_faults.clear()
            self._standing.clear()

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> SmtpServer:
        self._controller.start()
        self.port = int(self._controller.port)
        self.live = True  # the controller's own start-up probe is neither counted nor faulted
        return self

    def stop(self) -> None:
        self.live = False
        loop = self._controller.loop
        if loop.is_running():  # close client connections first, or their sockets leak
            asyncio.run_coroutine_threadsafe(self._abort_connections(), loop).result(10)
        self._controller.stop()

    async def _abort_connections(self) -> None:
        for connection in list(self.open_connections):
            if isinstance(connection.transport, asyncio.Transport):
                connection.transport.abort()
        for _ in range(100):
            if not self.open_connections:
                return
            await asyncio.sleep(0.01)

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SmtpServer(tls={self.tls!r}, {self.host}:{self.port})"

    def environment(self) -> dict[str, str]:
        """The OUTREACH_* variables that point the commands at this plain server, unpaced."""
        return {
            "OUTREACH_SMTP__HOST": self.host,
            "OUTREACH_SMTP__PORT": str(self.port),
            "OUTREACH_SMTP__SECURITY": "none",
            "OUTREACH_SENDER__ADDRESS": "appeal@outreach.example.org",
            "OUTREACH_DISPATCH__RATE_PER_MINUTE": "0",
        }


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server (no TLS, no AUTH) for one test."""
    with SmtpServer() as server:
        yield server
