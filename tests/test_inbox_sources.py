"""Inbox sources: ImapSource against a real Dovecot, and the Maildir/mbox/.eml readers."""

from __future__ import annotations

import mailbox
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from outreach.config import ImapSettings, Security
from outreach.inbox.files import FileMessage, read_messages
from outreach.inbox.imap import FetchedMessage, ImapSource, InboxError
from tests.dovecot import Dovecot, dovecot_fixture  # noqa: F401  (provides `dovecot`)


def message(n: int, body: str = "") -> bytes:
    """A small RFC 5322 message with CRLF line ends (as IMAP returns them)."""
    text = (
        f"From: Embassy {n} <reply{n}@embassy.example>\r\n"
        "To: appeal@outreach.example.org\r\n"
        f"Subject: Reply {n}\r\n"
        f"Message-ID: <reply-{n}@embassy.example>\r\n"
        "\r\n"
        f"{body or f'Thank you for letter {n}.'}\r\n"
    )
    return text.encode()


@pytest.fixture
def user(dovecot: Dovecot) -> str:
    """A fresh user with an empty mailbox, so that tests do not see each other's messages."""
    return dovecot.new_user()


@pytest.fixture
def source(dovecot: Dovecot, user: str) -> Iterator[ImapSource]:
    """An open ImapSource for the user over implicit TLS, verified against imap.ca_file."""
    with ImapSource(dovecot.settings(user)) as opened:
        yield opened


def seed(dovecot: Dovecot, user: str, count: int) -> list[bytes]:
    """Deliver `count` messages to the user's INBOX; their bytes."""
    raws = [message(n) for n in range(1, count + 1)]
    for raw in raws:
        dovecot.append(user, raw)
    return raws


# --- select / fetch_new --------------------------------------------------------------------
def test_select_returns_the_uidvalidity(dovecot: Dovecot, user: str, source: ImapSource) -> None:
    seed(dovecot, user, 1)
    status = dovecot.doveadm("-f", "tab", "mailbox", "status", "-u", user, "uidvalidity", "INBOX")
    expected = int(status.splitlines()[1].split("\t")[-1])
    assert source.select("INBOX") == expected
    assert source.select("INBOX") == expected  # stable across selects


def test_select_of_a_missing_folder_is_an_error_and_creates_nothing(
    dovecot: Dovecot, user: str, source: ImapSource
) -> None:
    with pytest.raises(InboxError, match=r"'Nowhere'.*doesn't exist"):
        source.select("Nowhere")
    assert dovecot.folders(user) == ["INBOX"]


def test_fetch_new_streams_only_newer_uids_in_order_and_leaves_them_unseen(
    dovecot: Dovecot, user: str, source: ImapSource
) -> None:
    raws = seed(dovecot, user, 5)
    source.select("INBOX")
    fetched = list(source.fetch_new(2))
    assert fetched == [FetchedMessage(uid, raws[uid - 1]) for uid in (3, 4, 5)]
    assert list(source.fetch_new(0)) == [FetchedMessage(i + 1, raw) for i, raw in enumerate(raws)]
    # BODY.PEEK[]: nothing was marked \Seen.
    assert all("\\Seen" not in flags for flags in dovecot.folder_flags(user, "INBOX").values())


def test_fetch_new_with_nothing_newer_returns_nothing_despite_the_star_quirk(
    dovecot: Dovecot, user: str, source: ImapSource
) -> None:
    seed(dovecot, user, 3)
    source.select("INBOX")
    # "UID 4:*" and "UID 11:*" both answer UID 3, the highest: it must not come back.
    assert list(source.fetch_new(3)) == []
    assert list(source.fetch_new(10)) == []


def test_fetch_new_on_an_empty_folder(source: ImapSource) -> None:
    source.select("INBOX")
    assert list(source.fetch_new(0)) == []


def test_fetch_new_fetches_in_batches_lazily(
    dovecot: Dovecot, user: str, source: ImapSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(dovecot, user, 7)
    source.select("INBOX")
    calls: list[list[int]] = []
    real_fetch = source.client.fetch

    def recording_fetch(uids: list[int], data: list[bytes]) -> Any:
        calls.append(list(uids))
        assert data == [b"BODY.PEEK[]"]
        return real_fetch(uids, data)

    monkeypatch.setattr(source.client, "fetch", recording_fetch)
    stream = source.fetch_new(1, batch=3)
    assert next(stream).uid == 2
    assert calls == [[2, 3, 4]]  # only the first batch so far
    assert [m.uid for m in stream] == [3, 4, 5, 6, 7]
    assert calls == [[2, 3, 4], [5, 6, 7]]
    calls.clear()
    assert [m.uid for m in source.fetch_new(0, batch=3)] == [1, 2, 3, 4, 5, 6, 7]
    assert calls == [[1, 2, 3], [4, 5, 6], [7]]


def test_fetch_new_requires_a_selected_folder(source: ImapSource) -> None:
    with pytest.raises(InboxError, match="select"):
        list(source.fetch_new(0))


# --- move ------------------------------------------------------------------------------------
def test_move_creates_the_folder_and_removes_the_messages_from_inbox(
    dovecot: Dovecot, user: str, source: ImapSource
) -> None:
    raws = seed(dovecot, user, 4)
    source.select("INBOX")
    assert "Processed" not in dovecot.folders(user)
    source.move([1, 3, 2], "Processed")
    assert "Processed" in dovecot.folders(user)
    assert dovecot.folder_uids(user, "INBOX") == [4]
    assert len(dovecot.folder_uids(user, "Processed")) == 3
    assert [m.uid for m in source.fetch_new(0)] == [4]
    source.move([4], "Processed")  # the folder exists now: no second CREATE
    assert list(source.fetch_new(0)) == []
    assert dovecot.folder_uids(user, "INBOX") == []
    # The moved messages are intact in Processed.
    source.select("Processed")
    assert sorted(m.raw for m in source.fetch_new(0)) == sorted(raws)


def test_a_second_fetch_after_the_move_returns_nothing(dovecot: Dovecot, user: str) -> None:
    seed(dovecot, user, 3)
    settings = dovecot.settings(user)
    with ImapSource(settings) as first:
        validity = first.select("INBOX")
        uids = [m.uid for m in first.fetch_new(0, batch=2)]
        first.move(uids, "Processed")
    with ImapSource(settings) as second:
        assert second.select("INBOX") == validity
        assert list(second.fetch_new(max(uids))) == []
        assert list(second.fetch_new(0)) == []


def test_move_interleaved_with_the_stream(dovecot: Dovecot, user: str, source: ImapSource) -> None:
    seed(dovecot, user, 5)
    source.select("INBOX")
    seen = []
    for fetched in source.fetch_new(0, batch=2):
        seen.append(fetched.uid)
        source.move([fetched.uid], "Processed")
    assert seen == [1, 2, 3, 4, 5]
    assert dovecot.folder_uids(user, "INBOX") == []


def test_move_without_move_capability_uses_copy_store_and_uid_expunge(
    dovecot: Dovecot, user: str, source: ImapSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(dovecot, user, 4)
    source.select("INBOX")
    client = source.client
    client.add_flags([4], [b"\\Deleted"])  # someone else's pending deletion: must survive
    real = client.has_capability
    monkeypatch.setattr(client, "has_capability", lambda name: name != "MOVE" and real(name))
    monkeypatch.setattr(client, "move", lambda *args: pytest.fail("MOVE used"))
    source.move([1, 2], "Done/Replies")
    assert dovecot.folder_uids(user, "INBOX") == [3, 4]
    assert "\\Deleted" in dovecot.folder_flags(user, "INBOX")[4]
    assert len(dovecot.folder_uids(user, "Done/Replies")) == 2


def test_move_of_nothing_does_nothing(dovecot: Dovecot, user: str, source: ImapSource) -> None:
    source.select("INBOX")
    source.move([], "Processed")
    assert "Processed" not in dovecot.folders(user)


def test_move_error_carries_the_servers_text(
    dovecot: Dovecot, user: str, source: ImapSource
) -> None:
    seed(dovecot, user, 1)
    source.select("INBOX")
    with pytest.raises(
        InboxError, match=r"cannot create folder '\.\./x': create failed: \[CANNOT\]"
    ):
        source.move([1], "../x")


# --- connection security -------------------------------------------------------------------
def test_starttls_with_a_verified_certificate(dovecot: Dovecot, user: str) -> None:
    raws = seed(dovecot, user, 1)
    settings = dovecot.settings(user, Security.STARTTLS)
    assert settings.port == dovecot.starttls_port
    with ImapSource(settings) as source:
        assert isinstance(source.client.socket(), ssl.SSLSocket)
        source.select("INBOX")
        assert [m.raw for m in source.fetch_new(0)] == raws


@pytest.mark.parametrize("security", [Security.TLS, Security.STARTTLS])
def test_an_untrusted_certificate_is_refused(
    dovecot: Dovecot, user: str, security: Security
) -> None:
    # Without imap.ca_file the system's CAs are trusted, not the test CA.
    settings = dovecot.settings(user, security).model_copy(update={"ca_file": ""})
    with pytest.raises(InboxError, match="CERTIFICATE_VERIFY_FAILED"):
        ImapSource(settings).open()


def test_an_explicit_ssl_context_is_used_instead_of_ca_file(dovecot: Dovecot, user: str) -> None:
    settings = dovecot.settings(user).model_copy(update={"ca_file": ""})
    with ImapSource(settings, ssl_context=dovecot.client_ssl_context()) as source:
        assert source.select("INBOX") > 0


def test_a_certificate_for_another_host_name_is_refused(dovecot: Dovecot, user: str) -> None:
    # The certificate names 127.0.0.1 and localhost: a client that expects another name (here
    # through its context, as the network is 127.0.0.1 only) must refuse it.
    context = dovecot.client_ssl_context()
    original = context.wrap_socket

    def wrap(sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["server_hostname"] = "imap.elsewhere.example"
        return original(sock, *args, **kwargs)

    context.wrap_socket = wrap  # type: ignore[method-assign]
    with pytest.raises(InboxError, match=r"CERTIFICATE_VERIFY_FAILED.*[Hh]ostname mismatch"):
        ImapSource(dovecot.settings(user), ssl_context=context).open()


def test_a_wrong_password_is_refused_with_the_servers_reason(dovecot: Dovecot, user: str) -> None:
    settings = dovecot.settings(user, password="not-the-password-42")
    with pytest.raises(InboxError) as caught:
        ImapSource(settings).open()
    text = str(caught.value)
    assert "login refused: [AUTHENTICATIONFAILED] Authentication failed." in text
    assert user in text
    assert "not-the-password-42" not in text


def test_a_password_with_security_none_is_refused_before_connecting() -> None:
    # ImapSettings refuses this too; ImapSource does not rely on it (settings built otherwise).
    with pytest.raises(ValueError, match="in clear"):
        ImapSettings(host="127.0.0.1", port=1, password=SecretStr("pw"), security=Security.NONE)
    settings = ImapSettings.model_construct(
        host="127.0.0.1", port=1, password=SecretStr("pw"), security=Security.NONE
    )
    with pytest.raises(InboxError, match="in clear"):
        ImapSource(settings).open()  # port 1 would say "cannot connect" had it tried


class FakeImapServer:
    """A scripted IMAP server on 127.0.0.1 for what Dovecot will not do (no STARTTLS, PREAUTH)."""

    def __init__(self, greeting: bytes, capabilities: bytes = b"IMAP4rev1 AUTH=PLAIN") -> None:
        self.greeting = greeting
        self.capabilities = capabilities
        self.commands: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection, connection.makefile("rwb") as stream:
            stream.write(self.greeting + b"\r\n")
            stream.flush()
            for line in stream:
                tag, _, rest = line.strip().partition(b" ")
                command = rest.split(b" ")[0].upper()
                self.commands.append(command)
                if command == b"CAPABILITY":
                    stream.write(b"* CAPABILITY " + self.capabilities + b"\r\n")
                if command == b"LOGOUT":
                    stream.write(b"* BYE\r\n")
                stream.write(tag + b" OK done\r\n")
                stream.flush()
                if command == b"LOGOUT":
                    return

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


def fake_settings(server: FakeImapServer, security: str, password: str | None) -> ImapSettings:
    return ImapSettings(
        host="127.0.0.1",
        port=server.port,
        username="appeal",
        password=SecretStr(password) if password else None,
        security=security,
    )


def test_starttls_is_required_when_configured() -> None:
    server = FakeImapServer(b"* OK IMAP4rev1 ready")  # offers no STARTTLS
    try:
        with pytest.raises(InboxError, match="does not offer STARTTLS; refusing to log in"):
            ImapSource(fake_settings(server, "starttls", "secret")).open()
        server.thread.join(5)
        assert b"LOGIN" not in server.commands
    finally:
        server.close()


def test_security_none_works_with_a_preauthenticated_session() -> None:
    server = FakeImapServer(b"* PREAUTH IMAP4rev1 logged in as appeal")
    try:
        with ImapSource(fake_settings(server, "none", None)) as source:
            assert source.client is not None
        server.thread.join(5)
        assert b"LOGIN" not in server.commands
        assert server.commands[-1] == b"LOGOUT"
    finally:
        server.close()


def test_a_preauth_greeting_is_refused_when_starttls_is_required() -> None:
    server = FakeImapServer(b"* PREAUTH IMAP4rev1 ready", b"IMAP4rev1 STARTTLS")
    try:
        with pytest.raises(InboxError, match="PREAUTH, so STARTTLS is impossible"):
            ImapSource(fake_settings(server, "starttls", "secret")).open()
    finally:
        server.close()
    assert b"SELECT" not in server.commands


def test_security_none_without_preauth_needs_a_password() -> None:
    server = FakeImapServer(b"* OK IMAP4rev1 ready")
    try:
        with pytest.raises(InboxError, match="no password is set; set OUTREACH_IMAP__PASSWORD"):
            ImapSource(fake_settings(server, "none", None)).open()
    finally:
        server.close()


def test_a_closed_port_is_an_inbox_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ImapSettings(host="127.0.0.1", port=port, security="tls")
    with pytest.raises(InboxError, match=f"127.0.0.1:{port}: cannot connect"):
        ImapSource(settings, timeout=5).open()


# --- files -----------------------------------------------------------------------------------
def test_maildir_messages_from_new_and_cur(tmp_path: Path) -> None:
    raws = [message(n).replace(b"\r\n", b"\n") for n in (1, 2)]  # as stored on disk
    folder = mailbox.Maildir(tmp_path / "Maildir", create=True)
    first = folder.add(raws[0])
    second = folder.add(raws[1])
    moved = folder.get_message(second)
    moved.set_subdir("cur")
    moved.add_flag("S")
    folder[second] = moved
    assert len(list((tmp_path / "Maildir" / "cur").iterdir())) == 1
    assert len(list((tmp_path / "Maildir" / "new").iterdir())) == 1
    read = list(read_messages(tmp_path / "Maildir"))
    assert sorted(read, key=lambda m: m.raw) == [
        FileMessage(f"maildir:{first}", raws[0]),
        FileMessage(f"maildir:{second}", raws[1]),
    ]


MBOX = (
    b"From reply1@embassy.example Mon Mar  6 09:00:00 2023\n"
    b"From: reply1@embassy.example\n"
    b"Subject: one\n"
    b"\n"
    b"Our answer follows.\n"
    b"\n"
    b">From here on, the ministry will answer.\n"
    b">>From a quoted line.\n"
    b"\n"
    b"From mailer-daemon@embassy.example Tue Mar  7 10:00:00 2023\n"
    b"From: mailer-daemon@embassy.example\n"
    b"Subject: two\n"
    b"\n"
    b"Delivery failed.\n"
    b"\n"
)


def test_mbox_messages_with_a_quoted_from_line_in_a_body(tmp_path: Path) -> None:
    path = tmp_path / "replies.mbox"
    path.write_bytes(MBOX)
    read = list(read_messages(path))
    second_offset = MBOX.index(b"From mailer-daemon")
    assert [m.ref for m in read] == ["mbox:0", f"mbox:{second_offset}"]
    assert read[0].raw == (
        b"From: reply1@embassy.example\nSubject: one\n\nOur answer follows.\n\n"
        b"From here on, the ministry will answer.\n>From a quoted line.\n"
    )
    assert read[1].raw == (
        b"From: mailer-daemon@embassy.example\nSubject: two\n\nDelivery failed.\n"
    )


def test_mbox_written_by_the_stdlib_reads_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "archive"  # no suffix: recognised by its first line
    box = mailbox.mbox(path, create=True)
    originals = [
        message(1, "From now on we write in French."),
        message(2),
        message(3, "line\r\n\r\nFrom the desk of the ambassador"),
    ]
    for raw in originals:
        box.add(raw.replace(b"\r\n", b"\n"))
    box.flush()
    box.close()
    assert b"\n>From now on" in path.read_bytes()
    read = list(read_messages(path))
    assert [m.raw for m in read] == [raw.replace(b"\r\n", b"\n") for raw in originals]
    assert all(m.ref.startswith("mbox:") for m in read)


def test_an_empty_mbox_file_has_no_messages(tmp_path: Path) -> None:
    path = tmp_path / "empty.mbox"
    path.write_bytes(b"")
    assert list(read_messages(path)) == []


def test_a_single_eml_file(tmp_path: Path) -> None:
    path = tmp_path / "bounce.eml"
    path.write_bytes(message(7))
    assert list(read_messages(path)) == [FileMessage("eml:bounce.eml", message(7))]


def test_a_folder_of_eml_files_in_name_order(tmp_path: Path) -> None:
    for name, n in [("b.eml", 2), ("a.eml", 1), ("c.EML", 3)]:
        (tmp_path / name).write_bytes(message(n))
    (tmp_path / "notes.txt").write_text("not a message")
    read = list(read_messages(tmp_path))
    assert [m.ref for m in read] == ["eml:a.eml", "eml:b.eml", "eml:c.EML"]
    assert [m.raw for m in read] == [message(1), message(2), message(3)]


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("notes.txt", lambda p: p.write_text("Dear colleagues,\n")),
        ("missing", lambda p: None),
        ("empty-folder", lambda p: p.mkdir()),
    ],
)
def test_an_unknown_kind_of_path_is_an_error(tmp_path: Path, name: str, make: Any) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(InboxError) as caught:
        read_messages(path)
    assert str(path) in str(caught.value)
    assert "Maildir" in str(caught.value)
    assert "mbox" in str(caught.value)
    assert ".eml" in str(caught.value)
