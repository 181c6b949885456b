"""IMAP source (imapclient): verified TLS, UID-ordered streaming with BODY.PEEK[], MOVE."""

from __future__ import annotations

import contextlib
import imaplib
import logging
import re
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

# imapclient ships no type information (no py.typed marker, no stubs package).
from imapclient import IMAPClient  # type: ignore[import-untyped]

from outreach.config import ImapSettings, Security
from outreach.errors import OutreachError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0  # seconds for connecting and for each server reply
MOVE_CHUNK = 500  # UIDs per MOVE/COPY/STORE/EXPUNGE command, to keep command lines short
DELETED = b"\\Deleted"
# Everything imaplib/imapclient raise (IMAP4.abort and .readonly are subclasses of IMAP4.error),
# and socket, timeout and TLS failures (ssl.SSLError and TimeoutError are OSErrors).
ERRORS = (imaplib.IMAP4.error, OSError)


class InboxError(OutreachError):
    """The mailbox (IMAP server or mail file) cannot be read or changed; the message says why."""


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message of the selected folder: its UID and its bytes exactly as stored."""

    uid: int
    raw: bytes


def server_text(error: BaseException) -> str:
    """An imaplib/imapclient/socket error as readable text (the server's own words kept)."""
    text = str(error) or type(error).__name__
    # imaplib puts the server's reply in messages as a bytes repr: b'[AUTHENTICATIONFAILED] ...'
    return re.sub(r"""\bb(['"])(.*?)\1""", r"\2", text)


class ImapSource:
    """One IMAP session on the campaign mailbox; use it as a context manager.

    The password comes from `settings.password` (OUTREACH_IMAP__PASSWORD) and is sent only over
    TLS: implicit TLS (RFC 8314) for `security = tls`, STARTTLS (RFC 3501 section 6.2.1) for
    `starttls`, which is required, never opportunistic. `security = none` is for a server that
    pre-authenticates the session (RFC 3501 section 7.1.4, PREAUTH greeting); with a password
    set it is refused, as for SMTP. Certificates and the host name are always verified: against
    `ssl_context` if given, else against imap.ca_file or the system's CAs.
    """

    def __init__(
        self,
        settings: ImapSettings,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.client: Any = None  # IMAPClient: untyped
        self.folder: str | None = None

    @property
    def where(self) -> str:
        """The server and login name, for error messages (never the password)."""
        settings = self.settings
        user = f" ({settings.username})" if settings.username else ""
        return f"imap {settings.host}:{settings.port}{user}"

    def __enter__(self) -> ImapSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- session ----------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, secure the connection as configured, and log in; InboxError if not."""
        settings = self.settings
        if settings.security is Security.NONE and settings.password is not None:
            raise InboxError(
                f"{self.where}: security is none but a password is set: the password would "
                "cross the network in clear; use tls (port 993) or starttls (port 143)"
            )
        context = self.ssl_context or ssl.create_default_context(cafile=settings.ca_file or None)
        implicit = settings.security is Security.TLS
        try:
            client = IMAPClient(
                settings.host,
                port=settings.port,
                ssl=implicit,
                ssl_context=context if implicit else None,
                timeout=self.timeout,
            )
        except ERRORS as error:
            raise InboxError(f"{self.where}: cannot connect: {server_text(error)}") from None
        try:
            if settings.security is Security.STARTTLS:
                # A PREAUTH greeting leaves no state in which STARTTLS is allowed (RFC 3501
                # section 6.2.1): accepting it would run the session in clear (CVE-2020-12398).
                if preauthenticated(client):
                    raise InboxError(
                        f"{self.where}: the server greeted with PREAUTH, so STARTTLS is "
                        "impossible; refusing an unencrypted session"
                    )
                # RFC 3501 section 6.2.1 / RFC 2595: without STARTTLS the login would be in
                # clear, so a server (or a man in the middle) that does not offer it is refused.
                if not client.has_capability("STARTTLS"):
                    raise InboxError(
                        f"{self.where}: the server does not offer STARTTLS; refusing to log "
                        "in without TLS (use security = tls on port 993 if it speaks that)"
                    )
                client.starttls(context)  # imapclient then forgets the pre-TLS capabilities
            self.login(client)
        except InboxError:
            shutdown(client)
            raise
        except ERRORS as error:
            shutdown(client)
            raise InboxError(f"{self.where}: {server_text(error)}") from None
        self.client = client

    def login(self, client: Any) -> None:
        """LOGIN (RFC 3501 section 6.2.3) unless the server pre-authenticated the session."""
        if preauthenticated(client):
            return
        password = self.settings.password
        if password is None:
            raise InboxError(
                f"{self.where}: the server asks for a login but no password is set; "
                "set OUTREACH_IMAP__PASSWORD"
            )
        try:
            client.login(self.settings.username, password.get_secret_value())
        except imaplib.IMAP4.error as error:
            # The server's reason, e.g. "[AUTHENTICATIONFAILED] Authentication failed." (RFC 5530)
            raise InboxError(f"{self.where}: login refused: {server_text(error)}") from None

    def close(self) -> None:
        """LOGOUT politely if possible; forget the connection either way."""
        client, self.client, self.folder = self.client, None, None
        if client is None:
            return
        try:
            client.logout()
        except ERRORS:
            shutdown(client)

    def require(self) -> Any:
        """The logged-in client (use the source as a context manager first)."""
        if self.client is None:
            raise InboxError(f"{self.where}: not connected")
        return self.client

    # --- reading ----------------------------------------------------------------------------
    def select(self, folder: str) -> int:
        """SELECT a folder read-write (creating nothing); its UIDVALIDITY (RFC 3501 2.3.1.1)."""
        client = self.require()
        try:
            response = client.select_folder(folder)
        except ERRORS as error:
            raise InboxError(
                f"{self.where}: cannot select folder {folder!r}: {server_text(error)}"
            ) from None
        uidvalidity = response.get(b"UIDVALIDITY")
        if not isinstance(uidvalidity, int):
            # Mandatory since RFC 3501; without it a stored last UID could point anywhere.
            raise InboxError(f"{self.where}: folder {folder!r}: the server sent no UIDVALIDITY")
        self.folder = folder
        return uidvalidity

    def fetch_new(self, after_uid: int, batch: int = 100) -> Iterator[FetchedMessage]:
        """The selected folder's messages with UID > after_uid, in UID order, `batch` at a time.

        BODY.PEEK[] leaves \\Seen alone (RFC 3501 section 6.4.5), unlike RFC822 or BODY[].
        The UIDs are searched once; bodies are fetched one batch at a time, so memory holds at
        most one batch. The caller may move() what it has consumed between two messages.
        """
        if after_uid < 0 or batch < 1:
            raise ValueError("after_uid must be >= 0 and batch >= 1")
        client = self.require()
        folder = self.folder
        if folder is None:
            raise InboxError(f"{self.where}: select() a folder before fetching")
        try:
            found = client.search(["UID", f"{after_uid + 1}:*"])
        except ERRORS as error:
            raise InboxError(
                f"{self.where}: {folder}: search failed: {server_text(error)}"
            ) from None
        # RFC 3501 section 6.4.8: "n:*" always includes the highest UID, even when it is below n
        # (nothing new), so that one is filtered out here.
        uids = sorted(int(uid) for uid in found if int(uid) > after_uid)
        for start in range(0, len(uids), batch):
            chunk = uids[start : start + batch]
            try:
                response = client.fetch(chunk, [b"BODY.PEEK[]"])
            except ERRORS as error:
                raise InboxError(
                    f"{self.where}: {folder}: fetch failed: {server_text(error)}"
                ) from None
            for uid in chunk:
                raw = response.get(uid, {}).get(b"BODY[]")
                if raw is None:
                    continue  # expunged by another client since the search
                yield FetchedMessage(uid=uid, raw=bytes(raw))

    # --- moving -----------------------------------------------------------------------------
    def move(self, uids: list[int], folder: str) -> None:
        """Move messages of the selected folder to `folder`, creating it if missing.

        UID MOVE (RFC 6851) when the server offers it; else UID COPY, UID STORE +FLAGS \\Deleted
        and UID EXPUNGE of exactly those UIDs (RFC 4315, UIDPLUS). A server with neither gets
        the copies and the \\Deleted flags; a plain EXPUNGE would also remove messages others
        marked \\Deleted, so the originals are left for the mail client to expunge.
        """
        if not uids:
            return
        client = self.require()
        source = self.folder
        if source is None:
            raise InboxError(f"{self.where}: select() a folder before moving messages")
        self.ensure_folder(folder)
        ordered = sorted(set(uids))
        try:
            can_move = client.has_capability("MOVE")
            can_expunge_uids = client.has_capability("UIDPLUS")
            for start in range(0, len(ordered), MOVE_CHUNK):
                chunk = ordered[start : start + MOVE_CHUNK]
                if can_move:
                    client.move(chunk, folder)
                    continue
                client.copy(chunk, folder)
                client.add_flags(chunk, [DELETED], silent=True)
                if can_expunge_uids:
                    client.uid_expunge(chunk)
            if not can_move and not can_expunge_uids:
                log.warning(
                    "%s: no MOVE or UIDPLUS: %d message(s) copied to %s and flagged \\Deleted "
                    "in %s, not expunged",
                    self.where,
                    len(ordered),
                    folder,
                    source,
                )
        except ERRORS as error:
            raise InboxError(
                f"{self.where}: cannot move {len(ordered)} message(s) from {source} to "
                f"{folder}: {server_text(error)}"
            ) from None

    def ensure_folder(self, folder: str) -> None:
        """CREATE the folder unless LIST shows it (RFC 3501 sections 6.3.3, 6.3.8)."""
        client = self.require()
        try:
            if client.folder_exists(folder):
                return
            client.create_folder(folder)
        except ERRORS as error:
            # Another client may have created it in between ([ALREADYEXISTS], RFC 5530).
            try:
                if client.folder_exists(folder):
                    return
            except ERRORS:
                pass
            raise InboxError(
                f"{self.where}: cannot create folder {folder!r}: {server_text(error)}"
            ) from None


def preauthenticated(client: Any) -> bool:
    """Whether the server's greeting was PREAUTH (RFC 3501 section 7.1.4)."""
    return bytes(client.welcome or b"").upper().startswith(b"* PREAUTH")


def shutdown(client: Any) -> None:
    """Close a connection without LOGOUT (it failed, or is being abandoned)."""
    with contextlib.suppress(*ERRORS):
        client.shutdown()
