"""Hostile data for the inert-text tests: the payloads, a report made of them, and a campaign
whose data is hostile, made through the real commands.

Two embassies are imported from a CSV whose names and organisations are spreadsheet formulas;
the campaign is approved and sent to the test SMTP server; the first embassy answers with a
subject and a body full of terminal control sequences, taken in by `outreach inbox import`;
staff code it with formulas and an escape sequence as the quoted evidence.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path

import time_machine
from click.testing import CliRunner, Result

from outreach.cli import cli
from outreach.reports.model import (
    DEMAND_COLUMNS,
    FUNNEL,
    Cell,
    Day,
    DemandRow,
    FunnelRow,
    MatrixRow,
    Report,
    Silent,
)
from tests.smtp_server import SmtpServer

REPO = Path(__file__).resolve().parent.parent
# Approval plans each letter in its recipient's working hours; planning on the Tuesday before
# "now" makes every letter due by the time the test dispatches.
TUESDAY = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)

# The spreadsheet payloads of the issue, and the terminal ones.
HYPERLINK = '=HYPERLINK("http://evil.example")'
FORMULAS = (HYPERLINK, "@SUM(1)", "+1", "-1", "\t=1", "\r=1")
CLEAR = "\x1b[2J"  # CSI: erase the whole screen
OSC8 = "\x1b]8;;http://evil.example/\x1b\\official page\x1b]8;;\x1b\\"  # a disguised link
TITLE = "\x1b]0;outreach: all sent\x07"  # OSC 0: retitle the window, ended by BEL
C1_CSI = "\u009b31m"  # the 8-bit CSI: red text on terminals that take C1 controls
OVERWRITE = "declines\rsupports"  # a lone CR: "supports" is printed over "declines"
BACKSPACE = "no\x08\x08yes"
RLO = "\u202eevil.example\u202c"  # RIGHT-TO-LEFT OVERRIDE: shows "elpmaxe.live"
TERMINAL = (CLEAR, OSC8, TITLE, C1_CSI, OVERWRITE, BACKSPACE, RLO)

RECIPIENTS = [
    {
        "key": "emb-fr-am-head",
        "kind": "embassy",
        "role": "ambassador",
        "courtesy_title": "Ms",
        "gender": "f",
        "given_name": "@SUM(1)",
        "family_name": "+1",
        "organisation": HYPERLINK,
        "country": "FR",
        "host_country": "AM",
        "city": "Yerevan",
        "tz": "Asia/Yerevan",
        "email": "ambassador.fr-am@example.org",
        "languages": "en",
    },
    {
        "key": "emb-br-am-cda",
        "kind": "embassy",
        "role": "charge_d_affaires",
        "courtesy_title": "Mr",
        "gender": "m",
        "given_name": "-1",
        "family_name": "Exemplo",
        "organisation": "-Embassy of Brazil in Armenia",
        "country": "BR",
        "host_country": "AM",
        "city": "Yerevan",
        "tz": "Asia/Yerevan",
        "email": "chancery.br-am@example.net",
        "languages": "en",
    },
]


def run(*args: str) -> Result:
    """A command as on a terminal: click strips no escape sequence (color=True)."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, color=True)


def recipients_csv(rows: list[dict[str, str]]) -> str:
    """Rows as a recipient CSV file, as a spreadsheet would save it."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def reply_eml(message_id: str, to_token: str) -> bytes:
    """A reply from the first embassy whose subject and body carry every terminal payload."""
    subject = f"Re: appeal {CLEAR}{TITLE}{C1_CSI}{RLO}"
    encoded = base64.b64encode(subject.encode()).decode()
    body = (
        f"Dear colleagues,{CLEAR}\n"
        f"see our {OSC8}.\n"
        f"Our position: {OVERWRITE}.\n"
        f"{TITLE}{C1_CSI}Kind regards, {RLO}\n"
        "The Embassy\n"
    )
    return (
        "From: Ambassador <ambassador.fr-am@example.org>\r\n"
        f"To: appeal+{to_token}@outreach.example.org\r\n"
        f"Subject: =?utf-8?b?{encoded}?=\r\n"
        "Message-ID: <hostile-reply-1@example.org>\r\n"
        f"In-Reply-To: {message_id}\r\n"
        f"References: {message_id}\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    ).encode() + body.replace("\n", "\r\n").encode()


@dataclass(frozen=True)
class Scene:
    """What the scene made: the folder it ran in and the reply's id."""

    folder: Path
    reply_id: int


def make_scene(folder: Path, server: SmtpServer) -> Scene:
    """Import, send, take in the reply and code it, each through its command."""
    assert run("init", "--templates", str(REPO / "templates")).exit_code == 0
    (folder / "hostile.csv").write_text(recipients_csv(RECIPIENTS), encoding="utf-8")
    imported = run("recipients", "import", str(folder / "hostile.csv"))
    assert imported.exit_code == 0, imported.output
    created = run("campaign", "create", "spring", "--window", "Mon-Sun 00:00-24:00")
    assert created.exit_code == 0, created.output
    with time_machine.travel(TUESDAY, tick=True):
        approved = run("campaign", "approve", "spring")
    assert approved.exit_code == 0, approved.output
    assert "claimed 2: sent 2" in run("dispatch", "--once").output
    assert len(server.messages) == 2
    letters = json.loads(run("letters", "list", "--json").output)
    [first] = [letter for letter in letters if letter["recipient"] == "emb-fr-am-head"]
    inbox = folder / "inbox"
    inbox.mkdir()
    (inbox / "reply.eml").write_bytes(reply_eml(first["message_id"], first["token"]))
    assert run("inbox", "import", str(inbox)).exit_code == 0
    [reply] = json.loads(run("replies", "list", "--json").output)
    assert reply["letter"] == first["id"], reply
    coded = run(
        "replies",
        "code",
        str(reply["id"]),
        "--demand",
        "un-fact-finding=supports",
        "--evidence",
        HYPERLINK,
        "--demand",
        "icj-order=noncommittal",
        "--evidence",
        f"@SUM(1) {CLEAR}",
        "--demand",
        "accountability=declines",
        "--evidence",
        "\t=1",
    )
    assert coded.exit_code == 0, coded.output
    return Scene(folder, int(reply["id"]))


def report_with(text: str, number: int) -> Report:
    """A report with `text` in every text field and `number` in every numeric one."""
    cell = Cell(stance=None, status=text, date=dt.date(2026, 2, 1), evidence=text)
    return Report(
        campaign=text,
        appeal=text,
        appeal_title=text,
        state=text,
        generated_at=dt.datetime(2026, 2, 2, tzinfo=dt.UTC),
        segment=[text],
        demands={"d1": text},
        funnel=[FunnelRow(text, dict.fromkeys(FUNNEL, number), number / 3)],
        positions=[DemandRow(text, text, text, dict.fromkeys(DEMAND_COLUMNS, number))],
        matrix=[MatrixRow(text, text, text, text, text, text, text, {"d1": cell})],
        silent=[Silent(text, text, text, text, dt.date(2026, 2, 1), number, True)],
        median_days_to_reply=float(number),
        timeline=[Day(dt.date(2026, 2, 1), number, number)],
    )
