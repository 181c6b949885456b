"""End to end on a real mail loop (tests/mailloop.py): a private Postfix on loopback delivering
over LMTP to a private Dovecot with a Sieve vacation rule.

First the loop itself: a message arrives, a plus-address lands in its mailbox, a missing mailbox
bounces with a real Postfix DSN, and the away mailbox answers with a real Sieve vacation reply.

Then a campaign through it, with the command line as staff use it: six recipients imported,
the seed appeal approved and dispatched through Postfix; the recipients' mail servers answer
(a DSN for nobody@, a vacation reply from away@) and three recipients reply to the letter in
their mailbox; `outreach inbox fetch` takes it all in over IMAP; the replies are coded; and the
letters, the inbound messages, the positions and the report come out as they must.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner, Result

from outreach.cli import cli
from tests.mailloop import (
    AMBASSADOR,
    ATTACHE,
    AWAY,
    CAMPAIGN,
    HOSTNAME,
    MAILBOXES,
    MEP,
    NOBODY,
    PROBE,
    RAPPORTEUR,
    VACATION_SUBJECT,
    MailLoop,
)

REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def note(sender: str, to: str, subject: str) -> EmailMessage:
    """A short plain-text message with a Message-ID of its own."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.org")
    message.set_content("A message through the loop.\n")
    return message


# --- the loop itself --------------------------------------------------------------------------


def test_a_message_to_an_existing_mailbox_arrives(mail_loop: MailLoop) -> None:
    mail_loop.empty(ATTACHE)
    sent = note(PROBE, ATTACHE, "Arrives")
    mail_loop.send(sent)
    [received] = mail_loop.wait_for(ATTACHE, 1)
    assert (received["Message-ID"], received["Subject"]) == (sent["Message-ID"], "Arrives")
    assert received["Delivered-To"] == ATTACHE


def test_a_plus_address_lands_in_its_mailbox(mail_loop: MailLoop) -> None:
    mail_loop.empty(PROBE)
    sent = note(ATTACHE, "probe+a1b2c3d4@example.org", "Plus-addressed")
    mail_loop.send(sent)
    [received] = mail_loop.wait_for(PROBE, 1)
    assert received["Message-ID"] == sent["Message-ID"]
    assert received["Delivered-To"] == "probe+a1b2c3d4@example.org"


def test_a_message_to_a_missing_mailbox_comes_back_as_a_postfix_dsn(mail_loop: MailLoop) -> None:
    mail_loop.empty(PROBE)
    sent = note(PROBE, NOBODY, "To nobody")
    mail_loop.send(sent, sender="probe+dsn@example.org")
    [dsn] = mail_loop.wait_for(PROBE, 1)
    assert dsn["From"] == f"Mail Delivery System <MAILER-DAEMON@{HOSTNAME}>"
    assert dsn["To"] == "probe+dsn@example.org"
    assert (dsn.get_content_type(), dsn.get_param("report-type")) == (
        "multipart/report",
        "delivery-status",
    )
    [status] = [part for part in dsn.walk() if part.get_content_type() == "message/delivery-status"]
    groups = status.get_payload()  # the per-message fields, then one group per recipient
    assert isinstance(groups, list)
    [_, recipient] = groups
    assert isinstance(recipient, Message)
    assert (recipient["Final-Recipient"], recipient["Action"], recipient["Status"]) == (
        "rfc822; nobody@example.net",
        "failed",
        "5.1.1",
    )
    [returned] = [part for part in dsn.walk() if part.get_content_type() == "message/rfc822"]
    original = returned.get_content()
    assert isinstance(original, EmailMessage)
    assert original["Message-ID"] == sent["Message-ID"]


def test_a_message_to_the_away_mailbox_gets_a_sieve_vacation_reply(mail_loop: MailLoop) -> None:
    mail_loop.empty(PROBE)
    sent = note(PROBE, AWAY, "Are you there?")
    mail_loop.send(sent, sender="probe+vacation@example.org")
    [reply] = mail_loop.wait_for(PROBE, 1)
    assert (reply["From"], reply["To"], reply["Subject"]) == (
        AWAY,
        "probe+vacation@example.org",
        VACATION_SUBJECT,
    )
    assert (reply["Auto-Submitted"], reply["In-Reply-To"]) == (
        "auto-replied (vacation)",
        sent["Message-ID"],
    )
    assert reply.get_content().strip() == mail_loop.vacation_text


# --- a campaign through the loop --------------------------------------------------------------

RECIPIENTS = """\
recipients:
  - key: loop-ambassador
    kind: embassy
    role: ambassador
    courtesy_title: Ms
    gender: f
    given_name: Claire
    family_name: Exemple
    organisation: Embassy of France in Armenia
    country: FR
    host_country: AM
    city: Yerevan
    email: ambassador@example.net
    languages: [en]
  - key: loop-attache
    kind: embassy
    role: office
    organisation: Embassy of Germany in Armenia
    country: DE
    host_country: AM
    city: Yerevan
    email: attache@example.net
    languages: [en]
  - key: loop-away
    kind: embassy
    role: ambassador
    courtesy_title: Mr
    gender: m
    given_name: Paulo
    family_name: Exemplo
    organisation: Embassy of Brazil in Armenia
    country: BR
    host_country: AM
    city: Yerevan
    email: away@example.net
    languages: [en]
  - key: loop-nobody
    kind: embassy
    role: office
    organisation: Embassy of Ruritania in Armenia
    country: XA
    host_country: AM
    city: Yerevan
    email: nobody@example.net
    languages: [en]
  - key: loop-rapporteur
    kind: un_special_procedure
    role: special_rapporteur
    courtesy_title: Ms
    gender: f
    given_name: Ana
    family_name: Ejemplo
    organisation: Special Rapporteur on extrajudicial, summary or arbitrary executions
    host_country: CH
    city: Geneva
    tz: Europe/Zurich
    email: rapporteur@example.net
    languages: [en]
    tags: [mandate-executions]
  - key: loop-mep
    kind: mep
    role: mep
    courtesy_title: Mr
    gender: m
    given_name: Jan
    family_name: Voorbeeld
    organisation: European Parliament
    country: NL
    host_country: BE
    city: Brussels
    tz: Europe/Brussels
    email: mep@example.net
    languages: [en]
    political_group: Renew
"""


@dataclass(frozen=True)
class Answer:
    """A recipient's reply to the letter, and how staff code it: (demand, stance, evidence)."""

    mailbox: str
    text: str
    codings: tuple[tuple[str, str, str], ...]


ANSWERS = (
    Answer(
        AMBASSADOR,
        "Thank you for your letter. France supports the deployment of a UN fact-finding\n"
        "mission to the Lachin corridor, and we are committed to raising the order of the\n"
        "International Court of Justice with our partners.",
        (
            ("un-fact-finding", "supports", "France supports the deployment of a UN mission"),
            ("icj-order", "commits", "we are committed to raising the order of the ICJ"),
            ("accountability", "not_addressed", ""),
        ),
    ),
    Answer(
        RAPPORTEUR,
        "Dear colleagues,\n\nThe perpetrators of the killing of 5 March must be identified\n"
        "and brought to justice; I will raise the case with the Government concerned.",
        (("accountability", "supports", "The perpetrators ... must be brought to justice"),),
    ),
    Answer(
        MEP,
        "Thank you for writing. I follow the situation closely but cannot take a position on\n"
        "a fact-finding mission at this stage, and I do not see the blockade as a matter for\n"
        "the Parliament.",
        (
            ("un-fact-finding", "noncommittal", "cannot take a position on a fact-finding mission"),
            ("icj-order", "declines", "I do not see the blockade as a matter for the Parliament"),
            ("accountability", "not_addressed", ""),
        ),
    ),
)


@dataclass(frozen=True)
class Outcome:
    """What the campaign left behind, as the command line and the mailboxes show it."""

    approved: str
    dispatched: str
    fetched: str
    delivered: dict[str, EmailMessage]  # by recipient mailbox: the letter as it arrived there
    letters: dict[str, dict[str, Any]]  # `letters list --json`, by recipient key
    inbound: list[dict[str, Any]]  # `replies list --json`
    shown: str  # `replies show` of the ambassador's reply
    coded: dict[str, str]  # `replies code` output, by recipient mailbox
    suppressions: list[dict[str, Any]]  # `recipients suppressions --json`
    status: dict[str, Any]  # `campaign status --json`
    report: dict[str, Any]  # `report --format json`
    inbox: int  # messages left in the campaign mailbox's INBOX
    processed: int  # messages in its Processed folder
    return_date: dt.date  # what the vacation rule says


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def reply_to(letter: EmailMessage, answer: Answer) -> EmailMessage:
    """What a recipient's mail client sends on "Reply": to Reply-To, threaded, quoting."""
    reply = EmailMessage()
    reply["From"] = answer.mailbox
    reply["To"] = letter["Reply-To"]
    reply["Subject"] = f"Re: {letter['Subject']}"
    reply["Message-ID"] = make_msgid(domain="example.net")
    reply["In-Reply-To"] = letter["Message-ID"]
    reply["References"] = letter["Message-ID"]
    body = letter.get_body(("plain",))
    assert body is not None
    quoted = "".join(f"> {line}\n" for line in body.get_content().splitlines()[:6])
    reply.set_content(f"{answer.text}\n\nOn {letter['Date']}, {letter['From']} wrote:\n{quoted}")
    return reply


@pytest.fixture(scope="module")
def outcome(mail_loop: MailLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    """The whole campaign, run once for this module's tests."""
    folder = tmp_path_factory.mktemp("campaign")
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("OUTREACH_"):
                patch.delenv(name)
        patch.chdir(folder)
        for name, value in mail_loop.environment(CAMPAIGN).items():
            patch.setenv(name, value)
        patch.setenv("OUTREACH_DISPATCH__RATE_PER_MINUTE", "0")
        patch.setenv("OUTREACH_DISPATCH__DOMAIN_RATE_PER_MINUTE", "0")
        mail_loop.empty(*MAILBOXES)
        ok(run("init", "--templates", str(REPO / "templates")))
        (folder / "recipients.yaml").write_text(RECIPIENTS, encoding="utf-8")
        ok(run("recipients", "import", "recipients.yaml"))
        ok(run("campaign", "create", "loop", "--window", "Mon-Sun 00:00-24:00"))
        # Approved two weeks ago, so that every letter is due now, whatever today's weekday
        # and holidays in the recipients' countries.
        with time_machine.travel(dt.datetime.now(dt.UTC) - dt.timedelta(days=14), tick=True):
            approved = ok(run("campaign", "approve", "loop"))
        dispatched = ok(run("dispatch", "--once"))
        # The recipients' side: the DSN and the vacation reply come back by themselves...
        mail_loop.wait_for(CAMPAIGN, 2)
        delivered = {}
        for mailbox in (AMBASSADOR, ATTACHE, AWAY, RAPPORTEUR, MEP):
            [delivered[mailbox]] = mail_loop.wait_for(mailbox, 1)
        # ...and three people answer the letter in their mailbox.
        for answer in ANSWERS:
            mail_loop.send(reply_to(delivered[answer.mailbox], answer))
        mail_loop.wait_for(CAMPAIGN, 5)
        fetched = ok(run("inbox", "fetch"))
        inbound = json.loads(ok(run("replies", "list", "--json")))
        reply_ids = {row["sender"]: str(row["id"]) for row in inbound if row["kind"] == "reply"}
        coded = {}
        for answer in ANSWERS:
            arguments = []
            for demand, stance, evidence in answer.codings:
                arguments += ["--demand", f"{demand}={stance}", "--evidence", evidence]
            coded[answer.mailbox] = ok(
                run("replies", "code", reply_ids[answer.mailbox], *arguments)
            )
        letters = json.loads(ok(run("letters", "list", "--campaign", "loop", "--json")))
        yield Outcome(
            approved=approved,
            dispatched=dispatched,
            fetched=fetched,
            delivered=delivered,
            letters={letter["recipient"]: letter for letter in letters},
            inbound=inbound,
            shown=ok(run("replies", "show", reply_ids[AMBASSADOR])),
            coded=coded,
            suppressions=json.loads(ok(run("recipients", "suppressions", "--json"))),
            status=json.loads(ok(run("campaign", "status", "loop", "--json"))),
            report=json.loads(ok(run("report", "loop", "--format", "json"))),
            inbox=len(mail_loop.messages(CAMPAIGN)),
            processed=len(mail_loop.messages(CAMPAIGN, "Processed")),
            return_date=mail_loop.return_date,
        )


def inbound_of(outcome: Outcome, kind: str) -> list[dict[str, Any]]:
    return [row for row in outcome.inbound if row["kind"] == kind]


def test_approval_queues_a_letter_for_each_of_the_six_recipients(outcome: Outcome) -> None:
    assert (
        "approved loop: 6 letter(s) queued, 0 not written to, 0 left out (mailbox has the "
        "appeal, or shares it), 0 without a letter" in outcome.approved
    )


def test_dispatch_hands_every_letter_to_postfix(outcome: Outcome) -> None:
    assert outcome.dispatched.splitlines()[0] == "claimed 6: sent 6"


def test_each_existing_mailbox_receives_its_letter_with_a_plus_addressed_reply_to(
    outcome: Outcome,
) -> None:
    by_mailbox = {letter["to"]: letter for letter in outcome.letters.values()}
    for mailbox, received in outcome.delivered.items():
        letter = by_mailbox[mailbox]
        [to] = received["To"].addresses
        assert (received["Message-ID"], to.addr_spec, received["Reply-To"]) == (
            letter["message_id"],
            letter["to"],
            f"appeal+{letter['token']}@example.org",
        ), mailbox


def test_fetch_takes_in_the_bounce_the_auto_reply_and_three_replies_and_moves_them(
    outcome: Outcome,
) -> None:
    assert outcome.fetched.splitlines() == [
        "taken in 5 (auto_reply 1, bounce 1, reply 3); duplicates 0; unmatched 0; quarantined 0",
        "moved 5 to Processed",
    ]
    assert (outcome.inbox, outcome.processed) == (0, 5)


def test_the_postfix_dsn_is_a_permanent_bounce_matched_to_the_letter_to_nobody(
    outcome: Outcome,
) -> None:
    [bounce] = inbound_of(outcome, "bounce")
    assert {key: bounce[key] for key in ("sender", "subject", "reason", "review")} == {
        "sender": f"mailer-daemon@{HOSTNAME}",
        "subject": "Undelivered Mail Returned to Sender",
        "reason": "RFC 3464 delivery status notification: permanent failure 5.1.1",
        "review": False,
    }
    assert (bounce["letter"], bounce["recipient"], bounce["match"]) == (
        outcome.letters["loop-nobody"]["id"],
        "loop-nobody",
        "token",
    )


def test_the_bounced_letter_is_bounced_and_its_address_suppressed(outcome: Outcome) -> None:
    letter = outcome.letters["loop-nobody"]
    assert (letter["state"], letter["reason"]) == ("bounced", "bounced 5.1.1")
    assert [(s["address"], s["source"], s["reason"]) for s in outcome.suppressions] == [
        (NOBODY, "bounce", "permanent bounce 5.1.1")
    ]


def test_the_sieve_vacation_reply_is_an_auto_reply_with_its_return_date(
    outcome: Outcome,
) -> None:
    [auto] = inbound_of(outcome, "auto_reply")
    assert (auto["sender"], auto["subject"], auto["review"]) == (AWAY, VACATION_SUBJECT, False)
    assert auto["return_date"] == outcome.return_date.isoformat()
    assert (auto["letter"], auto["recipient"], auto["match"]) == (
        outcome.letters["loop-away"]["id"],
        "loop-away",
        "token",
    )


def test_an_auto_reply_leaves_its_letter_sent(outcome: Outcome) -> None:
    assert outcome.letters["loop-away"]["state"] == "sent"


def test_each_reply_is_matched_to_the_letter_it_answers(outcome: Outcome) -> None:
    replies = inbound_of(outcome, "reply")
    assert sorted((r["sender"], r["recipient"], r["match"], r["review"]) for r in replies) == [
        (AMBASSADOR, "loop-ambassador", "token", False),
        (MEP, "loop-mep", "token", False),
        (RAPPORTEUR, "loop-rapporteur", "token", False),
    ]
    assert {r["letter"] for r in replies} == {
        outcome.letters[key]["id"] for key in ("loop-ambassador", "loop-mep", "loop-rapporteur")
    }


def test_a_reply_is_kept_without_the_quoted_letter(outcome: Outcome) -> None:
    assert outcome.shown.rstrip().endswith(ANSWERS[0].text)
    assert "wrote:" not in outcome.shown


def test_letters_end_sent_bounced_or_replied(outcome: Outcome) -> None:
    assert {key: letter["state"] for key, letter in outcome.letters.items()} == {
        "loop-ambassador": "replied",
        "loop-attache": "sent",
        "loop-away": "sent",
        "loop-nobody": "bounced",
        "loop-rapporteur": "replied",
        "loop-mep": "replied",
    }
    assert outcome.status["state"] == "finished"
    assert {state: n for state, n in outcome.status["letters"].items() if n} == {
        "sent": 2,
        "bounced": 1,
        "replied": 3,
    }


def test_coding_records_a_stance_on_each_demand_asked(outcome: Outcome) -> None:
    assert outcome.coded == {
        AMBASSADOR: "un-fact-finding: supports\nicj-order: commits\naccountability: not_addressed\n",
        RAPPORTEUR: "accountability: supports\n",
        MEP: "un-fact-finding: noncommittal\nicj-order: declines\naccountability: not_addressed\n",
    }


def test_the_report_funnel_counts_sent_bounced_auto_replied_and_replied(
    outcome: Outcome,
) -> None:
    funnel = {row["group"]: row for row in outcome.report["funnel"]}
    assert list(funnel) == ["all", "embassy", "un_special_procedure", "mep"]
    assert {k: n for k, n in funnel["all"]["counts"].items() if n} == {
        "created": 6,
        "sent": 6,
        "bounced": 1,
        "auto_replied": 1,
        "replied": 3,
    }
    assert funnel["all"]["reply_rate"] == 0.5
    assert {k: n for k, n in funnel["embassy"]["counts"].items() if n} == {
        "created": 4,
        "sent": 4,
        "bounced": 1,
        "auto_replied": 1,
        "replied": 1,
    }


def test_the_report_counts_positions_per_demand(outcome: Outcome) -> None:
    overall = {
        row["demand"]: {k: n for k, n in row["counts"].items() if n}
        for row in outcome.report["positions"]
        if row["dimension"] == "all"
    }
    # Four embassies and the MEP were asked every demand, the rapporteur only accountability;
    # the embassies that did not reply (attaché, away, nobody) are no_reply.
    assert overall == {
        "un-fact-finding": {"supports": 1, "noncommittal": 1, "no_reply": 3},
        "icj-order": {"commits": 1, "declines": 1, "no_reply": 3},
        "accountability": {"supports": 1, "not_addressed": 2, "no_reply": 3},
    }


def test_the_report_matrix_shows_each_recipient_stance_and_evidence(outcome: Outcome) -> None:
    matrix = {
        row["recipient"]: (
            row["letter_state"],
            {demand: cell["stance"] or cell["status"] for demand, cell in row["cells"].items()},
        )
        for row in outcome.report["matrix"]
    }
    no_reply = {
        "un-fact-finding": "no_reply",
        "icj-order": "no_reply",
        "accountability": "no_reply",
    }
    assert matrix == {
        "loop-ambassador": (
            "replied",
            {
                "un-fact-finding": "supports",
                "icj-order": "commits",
                "accountability": "not_addressed",
            },
        ),
        "loop-attache": ("sent", no_reply),
        "loop-away": ("sent", no_reply),
        "loop-mep": (
            "replied",
            {
                "un-fact-finding": "noncommittal",
                "icj-order": "declines",
                "accountability": "not_addressed",
            },
        ),
        "loop-nobody": ("bounced", no_reply),
        "loop-rapporteur": (
            "replied",
            {
                "un-fact-finding": "not_asked",
                "icj-order": "not_asked",
                "accountability": "supports",
            },
        ),
    }
    [ambassador] = [r for r in outcome.report["matrix"] if r["recipient"] == "loop-ambassador"]
    assert ambassador["cells"]["icj-order"]["evidence"] == ANSWERS[0].codings[1][2]


def test_the_report_lists_the_silent_recipients_and_who_is_away(outcome: Outcome) -> None:
    # Both were sent in the same dispatch: the order between them (longest silence first) is
    # a matter of milliseconds.
    assert sorted((s["recipient"], s["auto_replied"]) for s in outcome.report["silent"]) == [
        ("loop-attache", False),
        ("loop-away", True),
    ]
