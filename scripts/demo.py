"""`make demo`: the whole job on the embedded default, on loopback only, in about half a minute.

A fresh SQLite database in ./demo, the sample recipients, the seed appeal; a capture SMTP server
(aiosmtpd) started here that files every letter in a Maildir; a campaign approved and
dispatched; sample replies (fr, de, ru, en, es), a bounce and an out-of-office written to a
local Maildir and taken in; their positions coded; the report printed and written as HTML.
Every step runs the real `outreach` command, shown as it is typed.
"""

from __future__ import annotations

import datetime as dt
import json
import mailbox
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from email.utils import format_datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Where the demo's files go: ./demo, or DEMO_DIR (the test of the demo uses a temporary folder).
DEMO = Path(os.environ.get("DEMO_DIR") or ROOT / "demo").resolve()
OUTREACH = str(ROOT / ".venv" / "bin" / "outreach")
CAMPAIGN = "demo-2026"
SENDER = "appeal@outreach.example.org"

# Replies in the recipients' languages, and how staff code them (demand=stance).
REPLIES: dict[str, tuple[str, dict[str, str]]] = {
    "emb-fr-am-head": (
        "Madame, Monsieur,\n\nNous soutenons l'appel à une mission d'établissement des faits des "
        "Nations Unies et nous appelons au respect de l'ordonnance de la Cour internationale de "
        "Justice. Pour le reste, nous avons pris note de votre déclaration.\n\nL'Ambassadrice",
        {"un-fact-finding": "supports", "icj-order": "supports", "accountability": "noncommittal"},
    ),
    "emb-de-am-head": (
        "Sehr geehrte Damen und Herren,\n\nwir werden die Frage der Anordnung des "
        "Internationalen Gerichtshofs bei den anstehenden Konsultationen in Berlin ansprechen. "
        "Zu einer Untersuchungsmission der Vereinten Nationen können wir uns derzeit nicht "
        "äußern.\n\nMit freundlichen Grüßen\nDer Botschafter",
        {"icj-order": "commits", "un-fact-finding": "noncommittal"},
    ),
    "emb-ru-am-head": (
        "Уважаемые коллеги,\n\nМы не считаем целесообразным направление миссии ООН по "
        "установлению фактов и не поддерживаем ваше заявление.\n\nПосольство",
        {"un-fact-finding": "declines", "icj-order": "declines", "accountability": "declines"},
    ),
    "un-ohchr-hc": (
        "Dear colleagues,\n\nThank you for your statement. The Office supports an independent "
        "UN fact-finding mission and will continue to call for accountability for unlawful "
        "killings.\n\nOffice of the High Commissioner",
        {"un-fact-finding": "supports", "accountability": "commits", "icj-order": "not_addressed"},
    ),
    "un-pga": (
        "Estimados colegas:\n\nAgradecemos su carta. La Presidencia apoya el cumplimiento de la "
        "orden de la Corte Internacional de Justicia.\n\nOficina del Presidente",
        {"icj-order": "supports"},
    ),
}
AWAY = "mep-999002"  # an out-of-office with a return date
BOUNCED = "emb-pl-am-head"  # the address no longer exists


def step(number: int, text: str) -> None:
    """Say what comes next."""
    print(f"\n== {number}. {text}", flush=True)


def outreach(*args: str, show: bool = True, quiet: bool = False, may_fail: bool = False) -> str:
    """Run one outreach command in ./demo, as typed, and return what it printed."""
    if show:
        print(f"$ outreach {shlex.join(args)}", flush=True)
    done = subprocess.run([OUTREACH, *args], cwd=DEMO, capture_output=True, text=True, check=False)
    if done.returncode != 0 and not may_fail:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"demo: `outreach {shlex.join(args)}` failed ({done.returncode})")
    if show and not quiet:
        print(done.stdout.rstrip(), flush=True)
    return done.stdout


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_capture(maildir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """aiosmtpd on 127.0.0.1, filing every message it accepts in `maildir`."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    server.terminate()
    raise SystemExit("demo: the capture SMTP server did not start")


def message(headers: dict[str, str], body: str) -> bytes:
    """A plain-text message."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    mime = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    mime += "Content-Transfer-Encoding: 8bit\r\n"
    return (head + mime + "\r\n" + body.replace("\n", "\r\n") + "\r\n").encode("utf-8")


def inbound(letters: dict[str, dict[str, Any]]) -> list[bytes]:
    """The sample answers to this run's letters: replies, an out-of-office, a bounce."""
    now = format_datetime(dt.datetime.now(dt.UTC))
    made = []
    for number, (key, (text, _)) in enumerate(REPLIES.items()):
        letter = letters[key]
        made.append(
            message(
                {
                    "From": f"<{letter['to']}>",
                    "To": f"<appeal+{letter['token']}@outreach.example.org>",
                    "Subject": f"Re: {letter['subject']}"[:200],
                    "Date": now,
                    "Message-ID": f"<demo-reply-{number}@example.net>",
                    "In-Reply-To": letter["message_id"],
                },
                text,
            )
        )
    away = letters[AWAY]
    made.append(
        message(
            {
                "From": f"<{away['to']}>",
                "To": f"<appeal+{away['token']}@outreach.example.org>",
                "Subject": "Abwesenheitsnotiz",
                "Date": now,
                "Message-ID": "<demo-ooo@example.net>",
                "In-Reply-To": away["message_id"],
                "Auto-Submitted": "auto-replied",
            },
            "Ich bin bis zum 15. Januar 2027 nicht im Büro und lese meine E-Mails nur "
            "eingeschränkt.",
        )
    )
    gone = letters[BOUNCED]
    report = (
        "This is the mail system at host mx.example.net.\n\n"
        f"<{gone['to']}>: host mx.example.net said: 550 5.1.1 User unknown\n"
    )
    made.append(
        (
            "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n"
            f"To: appeal+{gone['token']}@outreach.example.org\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            f"Date: {now}\r\nMessage-ID: <demo-bounce@mx.example.net>\r\n"
            "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            f"--B\r\nContent-Type: text/plain\r\n\r\n{report}\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.net\r\n\r\n"
            f"Final-Recipient: rfc822; {gone['to']}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
            "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: {SENDER}\r\nTo: {gone['to']}\r\nMessage-ID: {gone['message_id']}\r\n\r\n"
            "--B--\r\n"
        ).encode()
    )
    return made


def main() -> None:
    """Run the demo, step by step."""
    started = time.monotonic()
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    sent_mail, inbox = DEMO / "sent-mail", DEMO / "inbox"
    step(1, f"A fresh configuration and SQLite database in {DEMO}")
    outreach("init", "--templates", str(ROOT / "templates"))
    step(2, f"A capture SMTP server on loopback, filing every letter in the Maildir {sent_mail}")
    server, port = start_capture(sent_mail)
    # The documented way to point a run at another server: OUTREACH_<SECTION>__<KEY>.
    os.environ.update(
        {
            "OUTREACH_SMTP__HOST": "127.0.0.1",
            "OUTREACH_SMTP__PORT": str(port),
            "OUTREACH_SMTP__SECURITY": "none",
            "OUTREACH_SENDER__ADDRESS": SENDER,
            "OUTREACH_SENDER__ORGANISATION": "Demo Coalition",
            "OUTREACH_DISPATCH__RATE_PER_MINUTE": "0",
            "OUTREACH_DISPATCH__DOMAIN_RATE_PER_MINUTE": "0",
        }
    )
    print(f"aiosmtpd listening on 127.0.0.1:{port} (pid {server.pid})")
    try:
        run_campaign(inbox)
    finally:
        server.terminate()
        server.wait(timeout=10)
    step(11, "Where the results are")
    print(f"letters as sent (a Maildir: open it with mutt -f, or read the files): {sent_mail}/new/")
    print(f"the replies taken in (a Maildir): {inbox}/new/")
    print(f"the report: {DEMO / 'report.html'} (and as text: {DEMO / 'report.txt'})")
    print(f"the database: {DEMO / 'outreach.db'}")
    print(f"try: cd demo && ../.venv/bin/outreach campaign followups {CAMPAIGN}")
    print(f"done in {time.monotonic() - started:.1f} s; nothing left loopback")


def run_campaign(inbox: Path) -> None:
    """Steps 3 to 10: recipients, campaign, dispatch, replies, positions, report."""
    step(3, "Importing the sample recipients (recipients/*.csv, recipients/*.yaml)")
    files = sorted(str(path) for path in (ROOT / "recipients").glob("*.csv"))
    files += sorted(str(path) for path in (ROOT / "recipients").glob("*.yaml"))
    outreach("recipients", "import", *files)
    step(
        4,
        "A campaign of the seed appeal to every recipient, with a follow-up after ten working days",
    )
    outreach(
        "campaign",
        "create",
        CAMPAIGN,
        "--window",
        "Mon-Sun 00:00-24:00",
        "--every-day",
        "--followup-after",
        "10 working days",
    )
    print("(--every-day: so that the demo sends now, whatever the day; a real campaign keeps")
    print(" to its recipients' working days)")
    step(5, "Checking every letter, then approving: the letters are made and frozen")
    outreach("campaign", "check", CAMPAIGN, may_fail=True)
    print("(expected: the sample data has an MEP without an e-mail address, a do_not_contact")
    print(" and an inactive recipient; approval records the first as skipped)")
    outreach("campaign", "approve", CAMPAIGN, "--skip-problems")
    step(6, "Sending what is due, through the capture server")
    outreach("dispatch", "--once")
    outreach("campaign", "status", CAMPAIGN)
    step(7, f"Replies, an out-of-office and a bounce arrive in a local mailbox ({inbox})")
    listed = json.loads(outreach("letters", "list", "--campaign", CAMPAIGN, "--json", show=False))
    letters = {row["recipient"]: row for row in listed}
    folder = mailbox.Maildir(inbox, create=True)
    for raw in inbound(letters):
        folder.add(raw)
    print(f"{len(REPLIES) + 2} messages written to {inbox}/new/")
    step(8, "Taking them in: classified, matched to their letters, stored once")
    outreach("inbox", "import", str(inbox))
    outreach("replies", "list")
    step(9, "Coding the replies: a stance on each demand, as staff confirm them")
    rows = json.loads(outreach("replies", "list", "--kind", "reply", "--json", show=False))
    first = True
    for row in rows:
        key = letters_by_id(letters)[row["letter"]]
        if first:
            outreach("replies", "show", str(row["id"]))
            first = False
        stances = REPLIES[key][1]
        args = [
            item
            for demand, stance in stances.items()
            for item in ("--demand", f"{demand}={stance}")
        ]
        outreach("replies", "code", str(row["id"]), *args)
    step(10, "The report: letters, replies, positions on each demand, who to call")
    outreach("report", CAMPAIGN, "--out", str(DEMO / "report.txt"))
    outreach("report", CAMPAIGN, "--format", "html", "--out", str(DEMO / "report.html"))
    report = json.loads(outreach("report", CAMPAIGN, "--format", "json", show=False))
    print_summary(report)


def print_summary(report: dict[str, Any]) -> None:
    """The report's headline figures: the letters, and every demand's positions."""
    letters = report["funnel"][0]["counts"]
    print(
        f"\nletters: {letters['sent']} sent, {letters['bounced']} bounced, "
        f"{letters['auto_replied']} auto-replied, {letters['replied']} replied; "
        f"{letters['suppressed']} not written to, {letters['skipped']} without a letter"
    )
    columns = ("supports", "commits", "noncommittal", "declines", "not_addressed", "uncoded")
    print(f"{'demand':<16} " + " ".join(f"{name:>13}" for name in columns))
    for row in report["positions"]:
        if row["dimension"] == "all":
            counts = row["counts"]
            print(f"{row['demand']:<16} " + " ".join(f"{counts[name]:>13}" for name in columns))


def letters_by_id(letters: dict[str, dict[str, Any]]) -> dict[int, str]:
    """Recipient keys by letter id."""
    return {row["id"]: key for key, row in letters.items()}


if __name__ == "__main__":
    main()
