"""A private Dovecot 2.3 IMAP server for the inbox tests (adapted from the checked recipe).

    def test_something(dovecot: Dovecot) -> None:
        user = dovecot.new_user()                   # an empty mailbox of its own
        dovecot.append(user, raw_message_bytes)     # seeded with doveadm, not over IMAP
        with ImapSource(dovecot.settings(user)) as source:   # implicit TLS, ca_file = test CA
            ...

One server per test session, under its own world-traversable temporary root (as root, Dovecot
stores mail as `nobody`, which must be able to reach it), reading nothing from /etc/dovecot. It
listens on 127.0.0.1 only, on two free ports: `port` speaks implicit TLS (RFC 8314) and
`starttls_port` plain IMAP offering STARTTLS (RFC 3501 section 6.2.1), both with a certificate
for 127.0.0.1 from a trustme CA, which `settings()` names in `ca_file` and
`client_ssl_context()` trusts. Every user name logs in with the password "secret". The fixture
installs nothing: without Dovecot it fails and says to run scripts/system-deps.sh.
"""

from __future__ import annotations

import contextlib
import grp
import itertools
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pydantic import SecretStr

from outreach.config import ImapSettings, Security

PASSWORD = "secret"
USERS = ("test@example.org", "appeal@outreach.example.org", "ambassador@embassy.example")
HOST = "127.0.0.1"
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
INSTALL_HINT = (
    "Dovecot is not installed (no `dovecot`/`doveadm` found); run `scripts/system-deps.sh` "
    "as root, which installs the Debian package dovecot-imapd"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def running(pid: int) -> bool:
    """Whether a process is alive: an exited daemon may stay a zombie until init reaps it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


class Dovecot:
    """One running private Dovecot; see the module docstring."""

    def __init__(self) -> None:
        dovecot = shutil.which("dovecot", path=SEARCH_PATH)
        doveadm = shutil.which("doveadm", path=SEARCH_PATH)
        if dovecot is None or doveadm is None:
            pytest.fail(INSTALL_HINT, pytrace=False)
        self.dovecot_bin: str = dovecot
        self.doveadm_bin: str = doveadm
        self.host = HOST
        self.port = free_port()  # implicit TLS
        self.starttls_port = free_port()  # plain, STARTTLS offered
        self.users: tuple[str, ...] = USERS
        self.password = PASSWORD
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert(HOST, "localhost")
        self._serial = itertools.count(1)
        # mkdtemp makes a 0700 folder; the mail user (nobody) must traverse it.
        self.root = Path(tempfile.mkdtemp(prefix="outreach-dovecot-"))
        self.root.chmod(0o755)
        self.conf = self.root / "dovecot.conf"
        self.ca_file = self.root / "ca.pem"  # the test CA, for ImapSettings.ca_file
        self.log = self.root / "dovecot.log"
        if os.geteuid() == 0:
            # Dovecot refuses mail access as uid 0: store mail as an unprivileged user.
            mail_user, mail_group = "nobody", "nogroup"
            login_user, internal_user, internal_group = "dovenull", "dovecot", "dovecot"
        else:
            # Rootless: every process runs as the invoking user.
            mail_user = pwd.getpwuid(os.getuid()).pw_name
            mail_group = grp.getgrgid(os.getgid()).gr_name
            login_user, internal_user, internal_group = mail_user, mail_user, mail_group
        self.mail_uid = pwd.getpwnam(mail_user).pw_uid
        self.mail_gid = grp.getgrnam(mail_group).gr_gid
        self._login_user = login_user
        self._internal_user = internal_user
        self._internal_group = internal_group

    # --- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Write the configuration, start the daemon and wait until both ports accept."""
        for name in ("run", "state", "home"):
            (self.root / name).mkdir()
        self._cert.private_key_pem.write_to_path(str(self.root / "key.pem"))
        self._cert.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
        for extra in self._cert.cert_chain_pems[1:]:
            with (self.root / "cert.pem").open("ab") as handle:
                handle.write(extra.bytes())
        (self.root / "key.pem").chmod(0o600)
        os.chown(self.root / "home", self.mail_uid, self.mail_gid)
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        for user in self.users:
            self._make_home(user)
        self.conf.write_text(self._config())
        self._run([self.dovecot_bin, "-c", str(self.conf)], what="start Dovecot")
        deadline = time.monotonic() + 10
        for port in (self.port, self.starttls_port):
            while True:
                with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
                    break
                if time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"Dovecot did not listen on {HOST}:{port}; log:\n{self.logs()}")
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the daemon (and wait for its master process to go) and remove its root."""
        pid_file = self.root / "run" / "master.pid"
        pid = int(pid_file.read_text()) if pid_file.exists() else None
        if pid is not None:
            # What `dovecot stop` does, without its coarse polling (about 3 s).
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while pid is not None and running(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        """The server's log so far (for failure messages)."""
        return self.log.read_text(errors="replace") if self.log.exists() else "(no log)"

    # --- mailboxes --------------------------------------------------------------------------
    def new_user(self, prefix: str = "user") -> str:
        """A new user with the usual password and an empty mailbox, for one test's isolation."""
        user = f"{prefix}{next(self._serial)}@example.org"
        self._make_home(user)
        return user

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver raw message bytes into a folder of a user (created if missing)."""
        if folder != "INBOX" and folder not in self.folders(user):
            self.doveadm("mailbox", "create", "-u", user, folder)
        self.doveadm("save", "-u", user, "-m", folder, input=raw)

    def folders(self, user: str) -> list[str]:
        """The user's folder names."""
        return self.doveadm("mailbox", "list", "-u", user).split()

    def folder_uids(self, user: str, folder: str) -> list[int]:
        """UIDs of the messages in a folder, ascending ([] for a missing folder)."""
        return sorted(self.folder_flags(user, folder))

    def folder_flags(self, user: str, folder: str) -> dict[int, set[str]]:
        """Each message's flags by UID ({} for a missing folder)."""
        if folder not in self.folders(user):
            return {}
        out = self.doveadm("-f", "tab", "fetch", "-u", user, "uid flags", "mailbox", folder, "all")
        flags: dict[int, set[str]] = {}
        for line in out.splitlines()[1:]:  # the first line is the header "uid\tflags"
            uid, _, names = line.partition("\t")
            flags[int(uid)] = set(names.split())
        return flags

    def doveadm(self, *args: str, input: bytes | None = None) -> str:
        """Run doveadm against this server's configuration; its standard output."""
        return self._run([self.doveadm_bin, "-c", str(self.conf), *args], input=input)

    # --- clients ----------------------------------------------------------------------------
    def settings(
        self, user: str, security: Security | str = Security.TLS, password: str | None = PASSWORD
    ) -> ImapSettings:
        """ImapSettings for a user: implicit TLS on `port`, else `starttls_port`; trusts the CA."""
        security = Security(security)
        return ImapSettings(
            host=self.host,
            port=self.port if security is Security.TLS else self.starttls_port,
            username=user,
            password=SecretStr(password) if password is not None else None,
            security=security,
            ca_file=str(self.ca_file),
        )

    def client_ssl_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's CA (hostname 127.0.0.1)."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(context)
        return context

    # --- internals --------------------------------------------------------------------------
    def _make_home(self, user: str) -> None:
        home = self.root / "home" / user
        home.mkdir()
        os.chown(home, self.mail_uid, self.mail_gid)

    def _run(self, command: list[str], input: bytes | None = None, what: str = "") -> str:
        # Files, not pipes: the daemonized master inherits them and would keep a pipe open.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            code = subprocess.run(command, input=input, stdout=out, stderr=err, check=False)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if code.returncode != 0:
            pytest.fail(
                f"{what or ' '.join(command)} failed ({code.returncode}): "
                f"{stderr.decode(errors='replace')}\nlog:\n{self.logs()}"
            )
        return stdout.decode(errors="replace")

    # What a subclass changes (tests/mailloop.py adds LMTP and Sieve); the rest is shared.
    instance = "outreach-test"
    protocols = "imap"

    def _extra_settings(self) -> str:
        """Top-level settings added to the shared ones (each line ending in a newline)."""
        return ""

    def _userdb(self) -> str:
        """The userdb block's body: every user is the one mail user, at home in the root."""
        return (
            "  driver = static\n"
            f"  args = uid={self.mail_uid} gid={self.mail_gid} home={self.root}/home/%u\n"
        )

    def _extra_sections(self) -> str:
        """Sections added after the IMAP service."""
        return ""

    def _config(self) -> str:
        root = self.root
        chroot = "" if os.geteuid() == 0 else "  chroot =\n"
        # No anvil auth penalty (up to 15 s per failed login from one IP): the tests log in
        # with a wrong password on purpose.
        anvil = "service anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n"
        anvil += "}\n" if os.geteuid() == 0 else "  chroot =\n}\n"
        return f"""\
# Self-contained test configuration (Dovecot 2.3 syntax; no !include of /etc/dovecot).
instance_name = {self.instance}-{self.port}
base_dir = {root}/run
state_dir = {root}/state
protocols = {self.protocols}
listen = {HOST}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
default_login_user = {self._login_user}
default_internal_user = {self._internal_user}
default_internal_group = {self._internal_group}
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
first_valid_uid = 1
{self._extra_settings()}# Every user name exists, with the one password: the recipe's passwd-file is re-read at most
# once a second, too slow for a fresh user per test.
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
{self._userdb()}}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = {HOST}
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.port}
    ssl = yes
  }}
}}
{self._extra_sections()}{anvil}"""


@pytest.fixture(scope="session", name="dovecot")
def dovecot_fixture() -> Iterator[Dovecot]:
    """A private Dovecot for the whole session, stopped (and its files removed) at the end.

    Import it into a test module (`from tests.dovecot import dovecot_fixture`) or list
    "tests.dovecot" in the root conftest's pytest_plugins; tests ask for `dovecot`.
    """
    server = Dovecot()
    server.start()
    try:
        yield server
    finally:
        server.stop()
