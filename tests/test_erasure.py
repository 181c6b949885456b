"""Erase means erased: after a person's whole history, no byte of them is left anywhere.

The history is made with the real commands, as staff would over some weeks: an import, a name
corrected, a message from the person before any letter, a campaign dispatched through aiosmtpd
that answers 550 naming the address, a bounce naming it, the letter sent again ad hoc, a reply
coded with evidence quoting the person's name, and a suppression whose reason names them. Then
`recipients erase`, and the database is read as an attacker would: its dump, its files' bytes,
every file in the working folder, and on PostgreSQL `pg_dump`.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result

from outreach.cli import cli
from tests.samples import SAMPLE_CSV
from tests.smtp_server import Fault, SmtpServer

REPO = Path(__file__).resolve().parent.parent
KEY = "pm-lv-unny"
ADDRESS = "Liga.Piemera@example.org"
NEIGHBOUR = "emb-fr-am-head"
# What must be gone, compared without case: the address (its punycode form is the same, the
# domain being ASCII), the names as imported and as corrected, with and without accents.
TRACES = ("liga.piemera", "piemēra", "piemera", "līga", "liga piemera", KEY)
# Approval plans letters in working hours; planning on the Tuesday before makes them due now.
TUESDAY = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)

FIRST_CONTACT = f"""\
From: =?utf-8?q?L=C4=AAGA_PIEM=C4=92RA?= <{ADDRESS.upper()}>
To: appeal@outreach.example.org
Subject: =?utf-8?q?Meeting_request_from_L=C4=ABga_Piem=C4=93ra?=
Date: Mon, 16 Nov 2026 09:00:00 +0000
Message-ID: <first-contact.7781@mission.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Dear colleagues,

could we meet during the session? Please write to me at {ADDRESS}.

L=C4=ABga Piem=C4=93ra
Permanent Representative
"""

BOUNCE = f"""\
From: MAILER-DAEMON@mx2.example.org (Mail Delivery System)
To: appeal@outreach.example.org
Subject: Undelivered Mail Returned to Sender
Date: Wed, 25 Nov 2026 09:00:00 +0000
Message-ID: <bounce.5521@mx2.example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=us-ascii

<{ADDRESS.lower()}>: host mx2.example.org said: 550 5.1.1 <{ADDRESS.lower()}>:
    Recipient address rejected: User unknown (in reply to RCPT TO command)

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx2.example.org

Final-Recipient: rfc822; {ADDRESS.upper()}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{ADDRESS.lower()}>: User unknown

--B--
"""


def reply(sender: str, in_reply_to: str, message_id: str, body: str) -> str:
    """A plain human reply to one of our letters."""
    return (
        f"From: {sender}\nTo: appeal@outreach.example.org\nSubject: Re: Appeal\n"
        f"Date: Thu, 26 Nov 2026 10:00:00 +0000\nMessage-ID: <{message_id}>\n"
        f"In-Reply-To: {in_reply_to}\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{body}\n"
    )


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def work(
    tmp_path: Path, db_url: str, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The working folder of an initialised project (its SQLite file in it, on SQLite)."""
    for name, value in smtp_server.environment().items():
        monkeypatch.setenv(name, value)
    run("init", "--templates", str(REPO / "templates"), "--database", db_url)
    return tmp_path


@pytest.fixture
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside the working folder, as staff's own mail exports are."""
    return tmp_path_factory.mktemp("inputs")


def write(inputs: Path, name: str, text: str) -> str:
    """An input file, with the line ends of mail."""
    path = inputs / name
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return str(path)


def message_id_of_letter_to(server: SmtpServer, address: str) -> str:
    [message] = [m for m in server.messages if address.lower() in map(str.lower, m.rcpt_tos)]
    assert message.message_id is not None
    return message.message_id


def inbound_id(subject_or_sender: str) -> int:
    rows = json.loads(run("replies", "list", "--json").output)
    [row] = [r for r in rows if subject_or_sender in json.dumps(r, ensure_ascii=False)]
    return int(row["id"])


def live_history(inputs: Path, server: SmtpServer) -> None:
    """The person's history, and a neighbour's, through the commands staff use."""
    people = SAMPLE_CSV.replace(
        "Ms,f,Līga,Piemēra,Permanent Mission of Latvia",
        "Ms,f,Liga,Piemēra,Permanent Mission of Latvia",
    ).replace("mission.lv-unny@example.org", ADDRESS)
    run("recipients", "import", write(inputs, "people.csv", people))
    run("recipients", "set", KEY, "given_name=Līga")
    run("inbox", "import", write(inputs, "first.eml", FIRST_CONTACT))
    run(
        "campaign", "create", "spring", "--window", "Mon-Sun 00:00-24:00",
        "--where", f"key={KEY}", "--where", f"key={NEIGHBOUR}",
    )  # fmt: skip
    with time_machine.travel(TUESDAY, tick=True):
        run("campaign", "approve", "spring")
    server.fail_address(
        ADDRESS,
        Fault("rcpt", reply=f"550 5.1.1 <{ADDRESS}>: Recipient address rejected: User unknown"),
    )
    assert "claimed 2: failed 1, sent 1" in run("dispatch", "--once").output
    neighbour_letter = message_id_of_letter_to(server, "ambassador.fr-am@example.org")
    run("inbox", "import", write(inputs, "bounce.eml", BOUNCE))
    server.clear()  # the mission fixed its mailbox: the letter is sent again by hand
    run("send", "--to", KEY, "--no-dry-run")
    theirs = reply(
        f"Līga Piemēra <{ADDRESS}>",
        message_id_of_letter_to(server, ADDRESS),
        "reply.1@mission.example.org",
        "Dear colleagues,\n\nLatvia supports the fact-finding mission.\n\nLīga Piemēra",
    )
    run("inbox", "import", write(inputs, "reply.eml", theirs))
    run(
        "replies", "code", str(inbound_id("reply.1@mission.example.org")),
        "--demand", "un-fact-finding=supports",
        "--evidence", "Līga Piemēra: Latvia supports the fact-finding mission",
    )  # fmt: skip
    neighbours = reply(
        "Claire Exemple <ambassador.fr-am@example.org>",
        neighbour_letter,
        "reply.2@ambafrance.example.org",
        "Madame, Monsieur,\n\nLa France soutient la mission d'établissement des faits.\n\n"
        "Claire Exemple",
    )
    run("inbox", "import", write(inputs, "neighbour.eml", neighbours))
    run(
        "replies", "code", str(inbound_id("reply.2@ambafrance.example.org")),
        "--demand", "un-fact-finding=supports", "--evidence", "Claire Exemple: la France soutient",
    )  # fmt: skip
    run("recipients", "suppress", ADDRESS, "--reason", "Dr Piemēra asked us to stop")


def found_in(text: str) -> list[str]:
    """The traces of the person in a text, compared without case."""
    folded = text.casefold()
    return [trace for trace in TRACES if trace.casefold() in folded]


def unhexed(dump: str) -> str:
    """A dump with its binary values (X'…' in SQLite, \\x… in PostgreSQL) decoded as text."""
    blobs = re.findall(r"X'([0-9a-fA-F]+)'|\\\\?x([0-9a-fA-F]{8,})", dump)
    decoded = [bytes.fromhex(a or b).decode("utf-8", "replace") for a, b in blobs]
    return dump + "\n".join(decoded)


def pg_dump(url: str) -> str:
    [program] = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))[-1:]
    return subprocess.run(
        [program, "--no-owner", url], check=True, capture_output=True, text=True
    ).stdout


def sqlite_dump(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def test_export_before_erasure_holds_the_unmatched_mail_and_the_attempts(
    work: Path, inputs: Path, smtp_server: SmtpServer
) -> None:
    live_history(inputs, smtp_server)
    data = json.loads(run("recipients", "export", KEY).output)
    assert [(m["sender"], m["kind"], m["letter"]) for m in data["messages"]] == [
        (ADDRESS.lower(), "reply", None),  # written before any letter: matched to none
        ("mailer-daemon@mx2.example.org", "bounce", None),  # names only the address
        (ADDRESS.lower(), "reply", data["letters"][1]["id"]),
    ]
    assert [(a["outcome"], a["smtp_code"], a["reply"]) for a in data["attempts"]] == [
        ("failed", 550, f"5.1.1 <{ADDRESS}>: Recipient address rejected: User unknown"),
        ("sent", 250, "2.0.0 OK queued"),
    ]
    assert [(e["action"], e["detail"]) for e in data["audit"]] == [
        ("recipient.edit", {"given_name": "Līga"}),
        ("letter.adhoc", {"letter": data["letters"][1]["id"]}),
        ("reply.code", {"demand": "un-fact-finding", "stance": "supports"}),
        ("suppress", {"reason": "Dr Piemēra asked us to stop", "source": "manual"}),
    ]
    assert data["mentions"] == [{"table": "campaign", "row_id": 1, "column": "segment"}]


def test_after_erasure_the_person_is_nowhere(
    work: Path, inputs: Path, smtp_server: SmtpServer, db_url: str
) -> None:
    live_history(inputs, smtp_server)
    # Another program has the database open, as `outreach run` or `outreach web` would: SQLite
    # then keeps its write-ahead log after the erasure's connection is gone.
    reader = sqlite3.connect(work / "outreach.db") if db_url.startswith("sqlite") else None
    if reader is not None:
        assert reader.execute("SELECT count(*) FROM recipient").fetchone() == (8,)
    run("recipients", "erase", KEY, "--yes")
    if reader is not None:
        assert found_in(unhexed(sqlite_dump(work / "outreach.db"))) == []
        for path in sorted(work.rglob("*")):  # the .db, -wal and -shm files among them
            assert (path.name, found_in(path.read_bytes().decode("utf-8", "ignore"))) == (
                path.name,
                [],
            )
        reader.close()
    else:
        assert found_in(unhexed(pg_dump(db_url))) == []
        for path in sorted(work.rglob("*")):
            assert found_in(path.read_bytes().decode("utf-8", "ignore")) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_erase_empties_sqlite_s_log_while_another_program_reads(work: Path, inputs: Path) -> None:
    run("recipients", "import", write(inputs, "people.csv", SAMPLE_CSV))
    reader = sqlite3.connect(work / "outreach.db")  # `outreach run` or `outreach web`
    assert reader.execute("SELECT count(*) FROM recipient").fetchone() == (8,)
    run("recipients", "erase", KEY, "--yes")
    log = work / "outreach.db-wal"
    assert (log.stat().st_size, found_in(log.read_bytes().decode("utf-8", "ignore"))) == (0, [])
    reader.close()


def test_erase_says_what_it_removed(work: Path, inputs: Path, smtp_server: SmtpServer) -> None:
    live_history(inputs, smtp_server)
    output = run("recipients", "erase", KEY, "--yes").output
    assert output.splitlines()[1:] == [
        "scrubbed 2 letter(s), 2 attempt(s), 3 message(s), 1 position(s), 4 audit entr(ies); "
        "1 mention(s) elsewhere redacted"
    ]


def test_an_erasure_leaves_the_neighbour_whole(
    work: Path, inputs: Path, smtp_server: SmtpServer
) -> None:
    live_history(inputs, smtp_server)
    before = json.loads(run("recipients", "export", NEIGHBOUR).output)
    run("recipients", "erase", KEY, "--yes")
    after = json.loads(run("recipients", "export", NEIGHBOUR).output)
    assert after == before
    assert "Claire Exemple" in after["letters"][0]["message"]
    assert after["positions"][0]["evidence"] == "Claire Exemple: la France soutient"


def test_an_erasure_keeps_the_counts_reports_need(
    work: Path, inputs: Path, smtp_server: SmtpServer
) -> None:
    live_history(inputs, smtp_server)
    run("recipients", "erase", KEY, "--yes")
    status = json.loads(run("campaign", "status", "spring", "--json").output)
    assert (status["letters"]["failed"], status["letters"]["replied"]) == (1, 1)
    [entry] = [
        e
        for e in json.loads(run("recipients", "suppressions", "--json").output)
        if e["address"] is None
    ]
    assert (entry["source"], entry["reason"]) == ("erasure", "personal data erased")


def test_a_re_import_of_the_same_list_does_not_bring_an_erased_person_back(
    work: Path, inputs: Path
) -> None:
    people = write(inputs, "people.csv", SAMPLE_CSV)
    run("recipients", "import", people)
    run("recipients", "erase", KEY, "--yes")
    again = run("recipients", "import", people)
    assert "note: 1 record(s) of people erased on request were not imported again" in (again.output)
    assert CliRunner().invoke(cli, ["recipients", "show", KEY]).exit_code == 66
    # Known by the key too, for a source that carries no address (the EP's XML list).
    unaddressed = SAMPLE_CSV.replace("mission.lv-unny@example.org", "")
    assert (
        "1 record(s) of people erased"
        in run("recipients", "import", write(inputs, "unaddressed.csv", unaddressed)).output
    )
    assert CliRunner().invoke(cli, ["recipients", "show", KEY]).exit_code == 66


def test_a_list_that_gives_another_record_the_erased_address_does_not_bring_it_back(
    work: Path, inputs: Path
) -> None:
    # Found by tests/test_whole_life.py: erase an MEP, then import an office list that gives
    # her office her own address; the office record existed already, so it was updated.
    people = write(inputs, "people.csv", SAMPLE_CSV)
    run("recipients", "import", people)
    office = SAMPLE_CSV.replace(KEY, "office-lv").replace(
        "mission.lv-unny@example.org", "office.lv@example.org"
    )
    run("recipients", "import", write(inputs, "office.csv", office))
    run("recipients", "erase", KEY, "--yes")
    takes_her_address = SAMPLE_CSV.replace(KEY, "office-lv")
    again = run("recipients", "import", write(inputs, "office-again.csv", takes_her_address))
    assert "1 record(s) of people erased" in again.output
    assert "office.lv@example.org" in run("recipients", "show", "office-lv").output
    assert "mission.lv-unny" not in run("recipients", "list").output


def test_a_person_erased_at_a_shared_mailbox_is_not_imported_again(
    work: Path, inputs: Path
) -> None:
    # Found by tests/test_whole_life.py: the address stays (a colleague's too) and is not
    # suppressed, so the re-import must know the person by their key and that address.
    [row] = [line for line in SAMPLE_CSV.splitlines() if line.startswith(f"{KEY},")]
    header = SAMPLE_CSV.splitlines()[0]
    run("recipients", "import", write(inputs, "people.csv", SAMPLE_CSV))
    office = f"{header}\n{row.replace(KEY, 'office-lv', 1)}\n"
    run("recipients", "import", write(inputs, "office.csv", office))
    erased = run("recipients", "erase", KEY, "--yes")
    assert "office-lv" in erased.output  # the address is kept: the office has it
    again = run("recipients", "import", write(inputs, "again.csv", SAMPLE_CSV))
    assert "1 record(s) of people erased" in again.output
    assert CliRunner().invoke(cli, ["recipients", "show", KEY]).exit_code == 66


def test_the_next_holder_of_an_erased_role_key_is_imported(work: Path, inputs: Path) -> None:
    people = write(inputs, "people.csv", SAMPLE_CSV)
    run("recipients", "import", people)
    run("recipients", "erase", KEY, "--yes")
    successor = SAMPLE_CSV.replace("mission.lv-unny@example.org", "next.pr@example.org")
    imported = run("recipients", "import", write(inputs, "next.csv", successor))
    assert "created 1," in imported.output
    assert "erased" not in imported.output
    assert "next.pr@example.org" in run("recipients", "show", KEY).output
