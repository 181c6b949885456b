"""The whole mail loop on loopback: a private Postfix delivering over LMTP to a private Dovecot
with Sieve, for end-to-end tests (adapted from the checked recipes in ../shared/recipes/).

    def test_something(mail_loop: MailLoop) -> None:
        mail_loop.empty(PROBE)                               # a clean mailbox for this test
        mail_loop.send(message)                              # SMTP into the private Postfix
        [answer] = mail_loop.wait_for(PROBE, 1)              # polls IMAP until it is there

One loop per test session, each server under its own world-traversable temporary root, on free
ports of 127.0.0.1 only (never a standard port):

- Postfix, `postfix -c ROOT/etc` with its own main.cf, master.cf, queue and log file (the
  system's /etc/postfix is neither read for settings nor written). It takes SMTP from
  127.0.0.1 without TLS or authentication, makes no DNS lookup, and delivers the two test
  domains, example.org and example.net, over LMTP to Dovecot; mail to any other domain is
  discarded, so nothing leaves the machine. Dovecot refuses a mailbox it does not have
  (550 5.1.1), so Postfix returns a real DSN to the envelope sender.
- Dovecot (tests.dovecot.Dovecot, with LMTP and Pigeonhole Sieve added): the mailboxes in
  MAILBOXES (password "secret"; IMAP over implicit TLS, certificate from a trustme CA in
  `ca_file`), delivering `local+detail@` to `local@` (recipient_delimiter = +), and a Sieve
  `vacation` rule on AWAY that answers once per sender, through the private Postfix, saying
  when its owner is back (`return_date`: thirty days after the session starts, so that it stays
  in the future).

Both need root: Postfix's master process starts as root (its daemons run as `postfix`), and
Dovecot stores mail as `nobody`. Without the binaries, or not as root, the tests that ask for
`mail_loop` are skipped with the reason, except under CI (the `CI` variable set), where they
fail: `scripts/system-deps.sh` installs postfix, dovecot-imapd, dovecot-lmtpd and dovecot-sieve.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient  # type: ignore[import-untyped]  # no type information

from tests.dovecot import HOST, SEARCH_PATH, Dovecot, free_port, running

HOSTNAME = "mx.example.org"  # the loop's own name, in Received fields and the DSN's From
DOMAINS = ("example.org", "example.net")
CAMPAIGN = "appeal@example.org"  # the campaign's mailbox: its letters' From and Reply-To
PROBE = "probe@example.org"  # a sender of the loop's own tests, to receive their answers
AMBASSADOR = "ambassador@example.net"
RAPPORTEUR = "rapporteur@example.net"
MEP = "mep@example.net"
ATTACHE = "attache@example.net"
AWAY = "away@example.net"  # has the Sieve vacation rule
NOBODY = "nobody@example.net"  # no such mailbox: mail to it bounces
MAILBOXES = (CAMPAIGN, PROBE, AMBASSADOR, RAPPORTEUR, MEP, ATTACHE, AWAY)
VACATION_SUBJECT = "Automatic reply: out of the office"
BINARIES = ("postfix", "postconf", "dovecot", "doveadm")
DOVECOT_PARTS = ("/usr/lib/dovecot/lmtp", "/usr/lib/dovecot/modules/lib90_sieve_plugin.so")
INSTALL_HINT = (
    "run `scripts/system-deps.sh` as root, which installs the Debian packages postfix, "
    "dovecot-imapd, dovecot-lmtpd and dovecot-sieve"
)
START_SECONDS = 20.0


def missing() -> str | None:
    """Why the loop cannot run on this machine, or None when it can."""
    absent = [name for name in BINARIES if shutil.which(name, path=SEARCH_PATH) is None]
    absent += [Path(path).name for path in DOVECOT_PARTS if not Path(path).exists()]
    if absent:
        return f"the mail loop needs {', '.join(absent)}, not installed here; {INSTALL_HINT}"
    if os.geteuid() != 0:
        return "the mail loop needs root: Postfix's master process starts only as root"
    return None


def wait_listening(port: int, deadline: float) -> bool:
    """Whether something accepts connections on HOST:port before the deadline."""
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
            return True
        time.sleep(0.02)
    return False


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, for failure messages."""
    if not path.exists():
        return f"(no {path.name})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def vacation_text(back: dt.date) -> str:
    """What the vacation rule answers: it states the return date in words."""
    return (
        f"I am out of the office until {back.day} {back:%B} {back.year} and will read "
        "your message when I am back."
    )


class Postfix:
    """One private Postfix instance; see the module docstring."""

    def __init__(self, port: int, lmtp_port: int) -> None:
        self.binary = shutil.which("postfix", path=SEARCH_PATH) or "postfix"
        self.port = port
        self.lmtp_port = lmtp_port
        # Root-owned and world-traversable, as Postfix's own checks want its queue's parents.
        self.root = Path(tempfile.mkdtemp(prefix="outreach-postfix-"))
        self.root.chmod(0o755)
        self.etc = self.root / "etc"
        self.log = self.root / "maillog"

    def start(self) -> None:
        """Write the configuration, start the master and wait until SMTP accepts."""
        for name in ("etc", "spool", "data"):
            (self.root / name).mkdir()
        shutil.chown(self.root / "data", user="postfix")  # master.lock is made as postfix
        (self.etc / "main.cf").write_text(self.main_cf())
        (self.etc / "master.cf").write_text(self.master_cf())
        self.postfix("check")
        self.postfix("start")
        if not wait_listening(self.port, time.monotonic() + START_SECONDS):
            self.stop()
            pytest.fail(f"Postfix did not listen on {HOST}:{self.port}; log:\n{tail(self.log)}")

    def stop(self) -> None:
        """Stop the master (and wait for it to go), then remove the instance's files."""
        pid_file = self.root / "spool" / "pid" / "master.pid"
        with contextlib.suppress(OSError, ValueError):
            pid = int(pid_file.read_text().split()[0])
            # What `postfix stop` does, without its postfix-script round.
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while running(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        shutil.rmtree(self.root, ignore_errors=True)

    def postfix(self, *args: str) -> None:
        """Run `postfix -c ETC ARGS`; fail the test with its output and log if it fails."""
        # Files, not pipes: the daemonized master inherits them and would keep a pipe open.
        with tempfile.TemporaryFile() as out:
            done = subprocess.run(
                [self.binary, "-c", str(self.etc), *args], stdout=out, stderr=out, check=False
            )
            out.seek(0)
            output = out.read().decode(errors="replace")
        if done.returncode != 0:
            pytest.fail(
                f"postfix {' '.join(args)} failed ({done.returncode}): {output}\n"
                f"log:\n{tail(self.log)}"
            )

    def main_cf(self) -> str:
        """main.cf: loopback only, no DNS, the test domains over LMTP, everything else dropped."""
        discard = "discard:the test instance delivers only its test domains"
        return f"""\
compatibility_level = 3.6
queue_directory = {self.root}/spool
data_directory = {self.root}/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-outreach-test
maillog_file = {self.log}
maillog_file_prefixes = {self.root}
myhostname = {HOSTNAME}
mydomain = example.org
myorigin = $myhostname
inet_interfaces = {HOST}
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
local_recipient_maps =
relayhost =
recipient_delimiter = +
virtual_mailbox_domains = {" ".join(DOMAINS)}
virtual_transport = lmtp:inet:{HOST}:{self.lmtp_port}
default_transport = {discard}
relay_transport = {discard}
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtp_host_lookup = native
lmtp_host_lookup = native
smtputf8_enable = no
biff = no
alias_maps =
alias_database =
"""

    def master_cf(self) -> str:
        """master.cf: the recipe's services, with SMTP on the loop's port."""
        return f"""\
{HOST}:{self.port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


class LoopDovecot(Dovecot):
    """The private Dovecot of tests.dovecot, with LMTP, Sieve and only the loop's mailboxes."""

    def __init__(self, submission_port: int, return_date: dt.date) -> None:
        super().__init__()
        self.users = MAILBOXES
        self.lmtp_port = free_port()
        self.submission_port = submission_port
        self.return_date = return_date
        self.userdb = self.root / "users"

    def start(self) -> None:
        """The user list, then the daemon, then the vacation rule; wait for LMTP too."""
        # A passwd-file userdb, so that LMTP refuses a mailbox that is not in it.
        self.userdb.write_text(
            "".join(
                f"{user}::{self.mail_uid}:{self.mail_gid}::{self.root}/home/{user}::\n"
                for user in self.users
            )
        )
        super().start()
        home = self.root / "home" / AWAY
        script = home / ".dovecot.sieve"
        script.write_text(
            'require ["vacation"];\n'
            f'vacation :days 1 :subject "{VACATION_SUBJECT}"\n'
            f'  "{vacation_text(self.return_date)}";\n'
        )
        os.chown(script, self.mail_uid, self.mail_gid)
        if not wait_listening(self.lmtp_port, time.monotonic() + START_SECONDS):
            self.stop()
            pytest.fail(f"Dovecot LMTP did not listen on {HOST}:{self.lmtp_port}:\n{self.logs()}")

    instance = "outreach-mailloop"
    protocols = "imap lmtp"

    def _extra_settings(self) -> str:
        """Plus-addressing, and Sieve's vacation replies sent through the private Postfix."""
        return (
            f"hostname = {HOSTNAME}\n"
            "recipient_delimiter = +\n"
            "lmtp_save_to_detail_mailbox = no\n"
            "postmaster_address = postmaster@example.org\n"
            f"submission_host = {HOST}:{self.submission_port}\n"
        )

    def _userdb(self) -> str:
        """Only the listed mailboxes exist: LMTP refuses any other, and Postfix bounces it."""
        return f"  driver = passwd-file\n  args = username_format=%u {self.userdb}\n"

    def _extra_sections(self) -> str:
        """LMTP on loopback, with Sieve."""
        return f"""service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {self.lmtp_port}
  }}
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
"""


class MailLoop:
    """Postfix and Dovecot, started together; what a test needs to use them."""

    def __init__(self) -> None:
        self.host = HOST
        self.return_date = dt.date.today() + dt.timedelta(days=30)
        self.vacation_text = vacation_text(self.return_date)
        smtp_port = free_port()
        self.dovecot = LoopDovecot(smtp_port, self.return_date)
        self.postfix = Postfix(smtp_port, self.dovecot.lmtp_port)
        self.password = self.dovecot.password

    # --- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Dovecot first (Postfix delivers to it), then Postfix."""
        self.dovecot.start()
        try:
            self.postfix.start()
        except BaseException:
            self.dovecot.stop()
            raise

    def stop(self) -> None:
        """Both servers stopped and their files removed."""
        try:
            self.postfix.stop()
        finally:
            self.dovecot.stop()

    # --- where things are -------------------------------------------------------------------
    @property
    def smtp_port(self) -> int:
        """Postfix's SMTP port on 127.0.0.1 (no TLS, no authentication)."""
        return self.postfix.port

    @property
    def imap_port(self) -> int:
        """Dovecot's IMAP port on 127.0.0.1 (implicit TLS; trust `ca_file`)."""
        return self.dovecot.port

    @property
    def ca_file(self) -> Path:
        """The test CA that issued Dovecot's certificate."""
        return self.dovecot.ca_file

    def environment(self, mailbox: str = CAMPAIGN) -> dict[str, str]:
        """OUTREACH_* variables that point outreach's [smtp], [imap] and [sender] at the loop."""
        return {
            "OUTREACH_SMTP__HOST": self.host,
            "OUTREACH_SMTP__PORT": str(self.smtp_port),
            "OUTREACH_SMTP__SECURITY": "none",
            "OUTREACH_IMAP__HOST": self.host,
            "OUTREACH_IMAP__PORT": str(self.imap_port),
            "OUTREACH_IMAP__SECURITY": "tls",
            "OUTREACH_IMAP__USERNAME": mailbox,
            "OUTREACH_IMAP__PASSWORD": self.password,
            "OUTREACH_IMAP__CA_FILE": str(self.ca_file),
            "OUTREACH_SENDER__ADDRESS": mailbox,
        }

    # --- mail -------------------------------------------------------------------------------
    def send(
        self, message: EmailMessage, *, sender: str | None = None, to: Sequence[str] = ()
    ) -> None:
        """Submit a message to Postfix over SMTP (envelope: `sender`/`to`, else its headers)."""
        with smtplib.SMTP(self.host, self.smtp_port, "client.example.net", timeout=10) as smtp:
            smtp.send_message(message, from_addr=sender, to_addrs=list(to) or None)

    def messages(self, user: str, folder: str = "INBOX") -> list[EmailMessage]:
        """The messages in a user's folder, oldest first, read over IMAP without marking them."""
        with self.imap(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            fetched = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        parsed = []
        for uid in sorted(fetched):
            raw = fetched[uid][b"BODY[]"]
            assert isinstance(raw, bytes)
            message = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            parsed.append(message)
        return parsed

    def wait_for(
        self, user: str, count: int, folder: str = "INBOX", timeout: float = 15.0
    ) -> list[EmailMessage]:
        """Poll until at least `count` messages are in the folder; all of them, oldest first.

        Fails the test, saying what did arrive and what the servers logged, after `timeout`.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(user, folder)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = "".join(f"\n  {m['From']}: {m['Subject']}" for m in found) or " none"
                pytest.fail(
                    f"{user} {folder}: {len(found)} of {count} message(s) after {timeout:g} s;"
                    f" there:{seen}\n{self.logs()}"
                )
            time.sleep(0.05)

    def empty(self, *users: str) -> None:
        """Delete every message in every folder of these users (a clean start for a test)."""
        for user in users:
            self.dovecot.doveadm("expunge", "-u", user, "mailbox", "*", "all")

    @contextlib.contextmanager
    def imap(self, user: str) -> Iterator[IMAPClient]:
        """A logged-in IMAP client for a mailbox (TLS, verified against the test CA)."""
        context = self.dovecot.client_ssl_context()
        client = IMAPClient(self.host, port=self.imap_port, ssl=True, ssl_context=context)
        try:
            client.login(user, self.password)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def logs(self) -> str:
        """The end of both servers' logs, for failure messages."""
        return (
            f"--- Postfix ({self.postfix.log}):\n{tail(self.postfix.log)}\n"
            f"--- Dovecot ({self.dovecot.log}):\n{tail(self.dovecot.log)}"
        )


@pytest.fixture(scope="session", name="mail_loop")
def mail_loop_fixture() -> Iterator[MailLoop]:
    """The mail loop for the whole session, stopped (and its files removed) at the end.

    Skipped when Postfix, Dovecot's LMTP or Sieve is missing or not running as root, unless the
    CI variable is set: in CI a missing loop is a failure.
    """
    reason = missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is not skipped)", pytrace=False)
        pytest.skip(reason)
    loop = MailLoop()
    loop.start()
    try:
        yield loop
    finally:
        loop.stop()
