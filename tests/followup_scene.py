"""A campaign of three ambassadors in three time zones, its letters sent, for follow-up tests."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.approval import approve_campaign
from outreach.campaign import create_campaign, get_campaign
from outreach.config import Settings
from outreach.db import session_scope
from outreach.inbox.record import ingest
from outreach.letter import Composer
from outreach.models import Campaign, CampaignState, InboundMessage, Letter, LetterState, Stance
from outreach.planner import PlanReport, plan_campaign
from outreach.positions import Coding, code_reply
from outreach.recipients.importer import import_files
from outreach.steps import declare_steps

REPO = Path(__file__).resolve().parent.parent
NAME = "spring"
SENDER = "appeal@outreach.example.org"
DEMANDS = ("un-fact-finding", "icj-order", "accountability")
# Monday 27 April 2026: the campaign is approved before office hours everywhere.
APPROVED = dt.datetime(2026, 4, 27, 0, 30, tzinfo=dt.UTC)
# Thursday 30 April 2026, 08:00 UTC: a Thursday in Brussels, New York and Tokyo alike.
SENT = dt.datetime(2026, 4, 30, 8, 0, tzinfo=dt.UTC)
HEADER = (
    "key,kind,role,courtesy_title,gender,given_name,family_name,organisation,country,"
    "host_country,city,tz,email,languages,committees,delegations,political_group,"
    "political_group_raw,national_party,tags,priority,source,source_date,status\n"
)
ROWS = {
    "emb-nl-be": "Ms,f,Anna,Voorbeeld,Embassy of the Netherlands in Belgium,NL,BE,Brussels,"
    "Europe/Brussels,ambassador.nl-be@example.org",
    "emb-fr-us": "Mr,m,Jean,Exemple,Embassy of France in the United States,FR,US,Washington,"
    "America/New_York,ambassador.fr-us@example.org",
    "emb-de-jp": "Ms,f,Erika,Beispiel,Embassy of Germany in Japan,DE,JP,Tokyo,Asia/Tokyo,"
    "ambassador.de-jp@example.net",
}


def settings() -> Settings:
    """Settings with the repository's templates and the sender that replies are matched on."""
    return Settings(
        paths={"templates": str(REPO / "templates")},
        sender={"name": "Appeal", "address": SENDER, "organisation": "Example Coalition"},
    )


def recipients_file(folder: Path) -> Path:
    """The three ambassadors as a recipients CSV (English letters)."""
    path = folder / "ambassadors.csv"
    lines = [
        f"{key},embassy,ambassador,{values},en,,,,,,,1,test,2026-01-15,active\n"
        for key, values in ROWS.items()
    ]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def campaign_sent(
    engine: Engine, folder: Path, *, steps: int = 1, after: int = 10, declare: bool = True
) -> None:
    """Import, create with `steps` follow-ups, approve, and mark every letter sent at SENT."""
    assert import_files(engine, [recipients_file(folder)], actor="staff").committed
    composer = Composer.load(settings())
    with time_machine.travel(APPROVED, tick=False), session_scope(engine) as session:
        campaign = create_campaign(
            session,
            NAME,
            appeal_slug=composer.appeal.slug,
            where=[],
            window="Mon-Fri 09:00-12:00",
            start_at=None,
            closed_dates=[],
            actor="staff",
        )
        session.flush()
        if declare:
            declare_steps(
                session,
                campaign,
                composer,
                after_days=after,
                template="followup",
                count=steps,
                actor="staff",
            )
        approve_campaign(session, campaign, composer, actor="approver", skip_problems=False)
    mark_sent(engine, step=0, at=SENT)


def mark_sent(engine: Engine, *, step: int, at: dt.datetime) -> None:
    """The dispatcher's work, done by hand: every queued letter of `step` was accepted at `at`."""
    with engine.begin() as connection:
        connection.execute(
            sa.update(Letter)
            .where(col(Letter.step) == step, col(Letter.state) == LetterState.QUEUED)
            .values(state=LetterState.SENT, sent_at=at, attempts=1)
        )
        # The dispatcher's first claim moves an approved campaign to running.
        connection.execute(
            sa.update(Campaign)
            .where(col(Campaign.state) == CampaignState.APPROVED)
            .values(state=CampaignState.RUNNING)
        )


def plan(engine: Engine, at: dt.datetime) -> PlanReport:
    """One planner run at `at`."""
    with session_scope(engine) as session:
        campaign = get_campaign(session, NAME)
        return plan_campaign(session, campaign, Composer.load(settings()), at)


def letter_of(engine: Engine, key: str, step: int = 0) -> Letter:
    """The letter of `step` to the recipient `key`."""
    with Session(engine) as session:
        return session.exec(
            select(Letter).where(Letter.recipient_key == key, Letter.step == step)
        ).one()


def follow_ups(engine: Engine) -> list[Letter]:
    """Every follow-up letter, by recipient and step."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Letter)
                .where(col(Letter.step) > 0)
                .order_by(col(Letter.recipient_key), col(Letter.step))
            ).all()
        )


def parsed(letter: Letter) -> EmailMessage:
    """A letter's bytes read back as a message."""
    message = email.message_from_bytes(letter.mime, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def receive(engine: Engine, raw: bytes, at: dt.datetime) -> InboundMessage:
    """Take in one inbound message at `at`."""
    with session_scope(engine) as session:
        done = ingest(session, raw, "test", settings(), now=at)
        row = session.get(InboundMessage, done.id)
        assert row is not None
        session.expunge(row)
        return row


def reply(letter: Letter, body: str, *, message_id: str = "<reply-1@example.org>") -> bytes:
    """A recipient's answer to `letter`, threaded to it."""
    return (
        f"From: Ambassador <{letter.to_address}>\r\n"
        f"To: appeal+{letter.token}@outreach.example.org\r\n"
        f"Subject: Re: {letter.subject}\r\n"
        "Date: Mon, 04 May 2026 09:47:13 +0200\r\n"
        f"Message-ID: {message_id}\r\n"
        f"In-Reply-To: {letter.message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def out_of_office(letter: Letter, body: str) -> bytes:
    """An automatic answer (RFC 3834) to `letter`."""
    return (
        f"From: Ambassador <{letter.to_address}>\r\n"
        f"To: appeal+{letter.token}@outreach.example.org\r\n"
        f"Subject: Automatic reply: {letter.subject}\r\n"
        "Date: Thu, 30 Apr 2026 10:05:00 +0200\r\n"
        "Message-ID: <ooo-1@example.org>\r\n"
        f"In-Reply-To: {letter.message_id}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def bounce(letter: Letter) -> bytes:
    """A permanent delivery failure report (RFC 3464) for `letter`."""
    return (
        "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n"
        f"To: {SENDER}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Thu, 30 Apr 2026 08:01:00 +0000\r\n"
        "Message-ID: <bounce-1@mx.example.org>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\n"
        f"<{letter.to_address}>: 550 5.1.1 User unknown\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {letter.to_address}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Appeal <{SENDER}>\r\nTo: {letter.to_address}\r\n"
        f"Subject: {letter.subject}\r\nMessage-ID: {letter.message_id}\r\n\r\n"
        "--B--\r\n"
    ).encode()


def code(engine: Engine, inbound_id: int, stances: dict[str, str], at: dt.datetime) -> None:
    """Staff code a reply: one stance per demand."""
    composer = Composer.load(settings())
    with session_scope(engine) as session:
        code_reply(
            session,
            inbound_id,
            composer.appeal,
            [Coding(key, Stance(stance), "") for key, stance in stances.items()],
            actor="coder",
            now=at,
        )
