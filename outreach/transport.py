"""SMTP transport (aiosmtplib): TLS required with a password, verified certificates, no database."""

from __future__ import annotations

import ssl

import aiosmtplib

from outreach.config import Security, SmtpSettings
from outreach.policy import SmtpOutcome, Stage, readable


class TransportError(Exception):
    """A delivery step failed; `outcome` says at which stage and what the server said."""

    def __init__(self, outcome: SmtpOutcome) -> None:
        super().__init__(f"{outcome.stage}: {outcome.code} {outcome.text}".strip())
        self.outcome = outcome


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """A verifying TLS context: the system's CAs, or those of smtp.ca_file."""
    return ssl.create_default_context(cafile=settings.ca_file or None)


def failure(stage: Stage, error: BaseException) -> TransportError:
    """The TransportError for an aiosmtplib (or socket/TLS) error at a stage."""
    if isinstance(error, aiosmtplib.SMTPResponseException) and error.code > 0:
        return TransportError(SmtpOutcome(stage, error.code, readable(error.message)))
    return TransportError(SmtpOutcome(stage, None, readable(f"{type(error).__name__}: {error}")))


ERRORS = (aiosmtplib.SMTPException, OSError, ssl.SSLError, TimeoutError)


class SmtpTransport:
    """One SMTP connection, reused for many letters, each sent in three steps.

    The steps are separate so that the dispatcher can commit `sending` between the envelope
    (MAIL, RCPT) and DATA: the only window in which a crash can leave a letter's fate unknown.
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.client: aiosmtplib.SMTP | None = None

    @property
    def connected(self) -> bool:
        """Whether a usable connection is open."""
        return self.client is not None and self.client.is_connected

    async def connect(self) -> None:
        """Connect, upgrade to TLS as configured, and log in; raise TransportError if not."""
        settings = self.settings
        password = settings.password.get_secret_value() if settings.password else None
        client = aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            timeout=settings.timeout,
            use_tls=settings.security is Security.TLS,
            # True, not aiosmtplib's default None: None means "opportunistic", which would send
            # the password in clear to a server that does not offer STARTTLS.
            start_tls=settings.security is Security.STARTTLS,
            validate_certs=True,
            tls_context=None if settings.security is Security.NONE else tls_context(settings),
        )
        try:
            await client.connect()
            if settings.username:
                await client.login(settings.username, password or "")
        except ERRORS as error:
            await self.drop(client)
            raise failure(Stage.CONNECT, error) from None
        except BaseException:
            await self.drop(client)  # whatever went wrong, no socket is left open behind it
            raise
        self.client = client

    async def envelope(self, sender: str, recipient: str, *, smtputf8: bool = False) -> None:
        """MAIL FROM and RCPT TO for one letter, in their wire forms (`encode_address`).

        `smtputf8`: the addresses or the headers are not ASCII. Such a letter goes only to a
        server that offers SMTPUTF8, with the parameter on MAIL FROM (RFC 6531 §3.4); to any
        other, it is refused here, before a byte of it is sent (a local failure of that letter).
        """
        client = self.require()
        try:
            if smtputf8 and not await self.offers(client, "SMTPUTF8"):
                raise TransportError(
                    SmtpOutcome(
                        Stage.ENVELOPE,
                        None,
                        f"not sent: {recipient} or the letter's headers need SMTPUTF8 "
                        f"(RFC 6531), which {self.settings.host}:{self.settings.port} does not "
                        "offer; send it through a server that does, or record an ASCII address",
                        local=True,
                    )
                )
            encoding = "utf-8" if smtputf8 else "ascii"
            await client.mail(sender, options=["SMTPUTF8"] if smtputf8 else [], encoding=encoding)
            await client.rcpt(recipient, encoding=encoding)
        except ERRORS as error:
            raise failure(Stage.ENVELOPE, error) from None
        except ValueError as error:
            # aiosmtplib's refusal to write the address on the command line (a character that
            # would break it, or one the encoding cannot carry): nothing of it was sent.
            raise TransportError(
                SmtpOutcome(Stage.ENVELOPE, None, readable(f"not sent: {error}"), local=True)
            ) from None

    async def offers(self, client: aiosmtplib.SMTP, extension: str) -> bool:
        """Whether the server advertised the extension in its EHLO reply (EHLO first if due)."""
        if client.is_ehlo_or_helo_needed:
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                return False  # no ESMTP at all; MAIL will fall back to HELO by itself
        return client.supports_extension(extension)

    async def data(self, message: bytes) -> SmtpOutcome:
        """DATA with the letter's stored bytes; the server's final reply."""
        client = self.require()
        try:
            response = await client.data(message)
        except ERRORS as error:
            raise failure(Stage.DATA, error) from None
        return SmtpOutcome(Stage.DATA, response.code, readable(response.message))

    async def reset(self) -> None:
        """RSET after a refused envelope, so the connection can carry the next letter."""
        if self.client is None:
            return
        try:
            await self.client.rset()
        except ERRORS:
            await self.close()

    async def close(self) -> None:
        """QUIT politely if possible; forget the connection either way."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit()
        except ERRORS:
            client.close()

    async def drop(self, client: aiosmtplib.SMTP) -> None:
        """Close a connection that failed while opening."""
        if client.is_connected:
            client.close()

    def require(self) -> aiosmtplib.SMTP:
        """The open connection (connect() first)."""
        if self.client is None:
            raise TransportError(SmtpOutcome(Stage.CONNECT, None, "not connected"))
        return self.client
