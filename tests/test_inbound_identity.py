"""A message is stored once; a reused Message-ID with other content is another message, kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.cli import cli
from outreach.db import session_scope
from outreach.inbox.identity import content_digest
from outreach.inbox.record import ingest
from outreach.models import InboundMessage
from tests.outside_corpora import cpython_email_messages
from tests.test_inbox import DATA, NOW, SETTINGS, sent_letters

REPO = Path(__file__).resolve().parent.parent
REPLY = (DATA / "21-thunderbird-reply-noncommittal.eml").read_bytes()


def stored(engine: Engine) -> list[InboundMessage]:
    with Session(engine) as session:
        return list(session.exec(select(InboundMessage).order_by(col(InboundMessage.id))))


def test_a_second_answer_under_the_same_message_id_is_stored_and_flagged(engine: Engine) -> None:
    sent_letters(engine)
    second = REPLY.replace(b"we \nhave taken note", b"we have decided against", 1)
    assert second != REPLY
    with session_scope(engine) as session:
        first = ingest(session, REPLY, "eml:first", SETTINGS, now=NOW)
        again = ingest(session, second, "eml:second", SETTINGS, now=NOW)
    assert (first.duplicate, again.duplicate) == (False, False)
    assert (first.reused_message_id, again.reused_message_id) == (False, True)
    rows = stored(engine)
    assert [row.message_id for row in rows] == [rows[0].message_id] * 2
    assert [(row.reused_message_id, row.review) for row in rows][1] == (True, True)
    assert rows[1].text is not None
    assert "decided against" in rows[1].text


def test_the_same_message_by_another_route_is_a_duplicate(sqlite_engine: Engine) -> None:
    # Delivered twice (two Received, another Delivered-To), stored with LF endings by an export.
    relayed = (
        b"Received: from relay2.example.net by mx.example.org; Mon, 9 Mar 2026 12:00:00 +0000\r\n"
        b"Delivered-To: archive@outreach.example.org\r\n"
        b"X-Spam-Score: 0.1\r\n" + REPLY
    ).replace(b"\r\n", b"\n")
    with session_scope(sqlite_engine) as session:
        first = ingest(session, REPLY, "imap:inbox:1", SETTINGS, now=NOW)
        again = ingest(session, relayed, "mbox:0", SETTINGS, now=NOW)
    assert (again.duplicate, again.id) == (True, first.id)
    assert len(stored(sqlite_engine)) == 1


def test_refolding_a_header_does_not_change_the_digest() -> None:
    folded = REPLY.replace(b"Subject: ", b"Subject:\r\n  ", 1)
    assert content_digest(folded) == content_digest(REPLY)


def test_a_changed_word_changes_the_digest() -> None:
    assert content_digest(REPLY.replace(b"taken note", b"taken notes", 1)) != content_digest(REPLY)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def cpython_messages(tmp_path: Path) -> Path:
    """CPython's own email test messages, as .eml files in a folder of the test's."""
    folder = tmp_path / "cpython"
    folder.mkdir()
    for path in cpython_email_messages():
        shutil.copy(path, folder / f"{path.stem}.eml")
    return folder


def test_cpython_s_48_test_messages_are_stored_each_once(
    cpython_messages: Path, tmp_path: Path
) -> None:
    assert len(list(cpython_messages.iterdir())) == 48
    assert run("init", "--templates", str(REPO / "templates")).exit_code == 0
    first = run("inbox", "import", str(cpython_messages))
    assert first.exit_code == 0, first.output
    assert "taken in 48 " in first.output
    assert "duplicates 0" in first.output
    # Five of them share one Message-ID and two another: all seven are kept, six flagged.
    assert "5 new message(s) carry a Message-ID that another message has" in first.output
    again = run("inbox", "import", str(cpython_messages))
    assert "taken in 0 (nothing new); duplicates 48" in again.output
    listing = run("replies", "list")
    assert listing.output.count("Message-ID reused") == 5


def test_upgrading_keys_old_messages_by_their_digest(db_url: str) -> None:
    from alembic import command

    from outreach.db import alembic_config, make_engine, upgrade

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0005")
    with engine.begin() as connection:
        # As 0005 stored them: keyed by Message-ID; one erased (no bytes left).
        for key, raw in (
            ("<5c0f1e2d-3a4b-4c5d-8e6f-7a8b9c0d1e2f@example.com>", REPLY),
            ("<gone@x>", b""),
        ):
            connection.execute(
                sa.text(
                    "INSERT INTO inbound_message (dedup_key, message_id, raw, source, received_at,"
                    " kind, reason, review, quarantined, subject, bounce_addresses)"
                    " VALUES (:key, :key, :raw, 'eml', :now, 'reply', 'human reply', false, false,"
                    " '', '')"
                ),
                {"key": key, "raw": raw, "now": NOW},
            )
    upgrade(engine)
    with session_scope(engine) as session:
        again = ingest(session, REPLY, "eml:again", SETTINGS, now=NOW)
    assert again.duplicate
    keys = [row.dedup_key for row in stored(engine)]
    assert keys == ["sha256:" + content_digest(REPLY), "<gone@x>"]
    engine.dispose()


def test_the_web_marks_a_reused_message_id(cheap_hashing: None, world: object) -> None:
    from tests.test_web import World, client_for, sign_in

    assert isinstance(world, World)
    with session_scope(world.engine) as session:
        first = ingest(session, REPLY, "eml:1", SETTINGS, now=NOW)
        second = ingest(
            session, REPLY.replace(b"taken note", b"decided"), "eml:2", SETTINGS, now=NOW
        )
    with client_for(world) as client:
        sign_in(client, "vera")
        listing = client.get("/replies?show=all").text
        pages = [client.get(f"/replies/{row.id}").text for row in (first, second)]
    assert listing.count("Message-ID reused") == 1
    warning = "Another message stored before carries the same Message-ID with other content"
    assert [warning in page for page in pages] == [False, True]


def test_a_mail_program_s_export_of_a_message_is_the_same_message(sqlite_engine: Engine) -> None:
    exported = (
        b"X-Mozilla-Status: 0001\r\nX-Mozilla-Keys: $label1\r\nX-Account-Key: account3\r\n"
        b"X-Gmail-Labels: Inbox,Important\r\nX-GM-THRID: 1784512345678901234\r\n" + REPLY
    )
    with session_scope(sqlite_engine) as session:
        first = ingest(session, REPLY, "imap:inbox:1", SETTINGS, now=NOW)
        again = ingest(session, exported, "mbox:0", SETTINGS, now=NOW)
    assert (again.duplicate, again.id) == (True, first.id)


def test_a_message_erased_before_the_digest_keys_is_not_stored_again(db_url: str) -> None:
    from alembic import command

    from outreach.db import alembic_config, make_engine, upgrade

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0005")
    with engine.begin() as connection:  # taken in and erased under 0005: a key, no bytes
        connection.execute(
            sa.text(
                "INSERT INTO inbound_message (dedup_key, message_id, raw, source, received_at,"
                " kind, reason, review, quarantined, subject, bounce_addresses)"
                " VALUES (:key, NULL, :raw, 'eml', :now, 'reply', 'human reply', false, false,"
                " '', '')"
            ),
            {"key": "<5c0f1e2d-3a4b-4c5d-8e6f-7a8b9c0d1e2f@example.com>", "raw": b"", "now": NOW},
        )
    upgrade(engine)
    with session_scope(engine) as session:
        again = ingest(session, REPLY, "eml:again", SETTINGS, now=NOW)
    assert again.duplicate
    assert len(stored(engine)) == 1
    engine.dispose()
