"""The inbox end to end through a real Dovecot: fetch records each message once against its
letter and moves it; a second fetch records nothing; a crash between the commit and the move
loses nothing and doubles nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach import clock
from outreach.config import Settings
from outreach.db import session_scope
from outreach.inbox.fetch import fetch_imap
from outreach.inbox.manual import confirm_match
from outreach.models import InboundMessage, Letter, LetterState, MatchStrength, Suppression
from outreach.suppression import is_suppressed
from tests.dovecot import Dovecot
from tests.forged_mail import forged_dsn, stranger_reply, token_address
from tests.test_inbox import DATA, TRUSTED, sent_letters

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = {
    "01-postfix-user-unknown.eml": ("bounce", "w2y5a3c3tv"),
    "10-exchange-automatic-reply-ooo.eml": ("auto_reply", None),
    "18-outlook-reply-supports-fact-finding.eml": ("reply", "p3n6r2w5cd"),
    "22-gmail-reply-fr.eml": ("reply", None),
    "38-reply-without-message-id.eml": ("reply", None),
}


def settings_for(dovecot: Dovecot, user: str) -> Settings:
    return Settings(
        imap=dovecot.settings(user).model_dump() | {"ca_file": str(dovecot.ca_file)},
        sender={"address": "appeal@outreach.example.org"},
        inbox={"trusted_domains": TRUSTED},
    )


def seed(dovecot: Dovecot, user: str) -> None:
    for name in MESSAGES:
        dovecot.append(user, (DATA / name).read_bytes())


def rows(engine: Engine) -> list[InboundMessage]:
    with Session(engine) as session:
        return list(session.exec(select(InboundMessage).order_by(col(InboundMessage.id))))


def test_fetch_records_each_message_once_and_moves_it(
    sqlite_engine: Engine, dovecot: Dovecot
) -> None:
    letters = sent_letters(sqlite_engine)
    user = dovecot.new_user()
    seed(dovecot, user)
    report = fetch_imap(sqlite_engine, settings_for(dovecot, user))
    assert (report.taken, report.duplicates, report.moved) == (5, 0, 5)
    assert dict(report.by_kind) == {"bounce": 1, "auto_reply": 1, "reply": 3}
    assert dovecot.folder_uids(user, "INBOX") == []
    assert len(dovecot.folder_uids(user, "Processed")) == 5
    stored = rows(sqlite_engine)
    assert sorted(row.kind.value for row in stored) == [
        "auto_reply",
        "bounce",
        "reply",
        "reply",
        "reply",
    ]
    assert all(row.letter_id is not None for row in stored)
    by_token = {token: letters[token] for _, token in MESSAGES.values() if token}
    assert {row.letter_id for row in stored} >= set(by_token.values())
    with Session(sqlite_engine) as session:
        bounced = session.get(Letter, letters["w2y5a3c3tv"])
        replied = session.get(Letter, letters["p3n6r2w5cd"])
        assert bounced is not None
        assert replied is not None
        assert (bounced.state, replied.state) == (LetterState.BOUNCED, LetterState.REPLIED)


def test_a_second_fetch_records_nothing_new(sqlite_engine: Engine, dovecot: Dovecot) -> None:
    sent_letters(sqlite_engine)
    user = dovecot.new_user()
    seed(dovecot, user)
    settings = settings_for(dovecot, user)
    fetch_imap(sqlite_engine, settings)
    again = fetch_imap(sqlite_engine, settings)
    assert (again.taken, again.duplicates, again.moved) == (0, 0, 0)
    assert len(rows(sqlite_engine)) == 5


def test_new_mail_after_a_fetch_is_taken_in_from_the_cursor(
    sqlite_engine: Engine, dovecot: Dovecot
) -> None:
    sent_letters(sqlite_engine)
    user = dovecot.new_user()
    dovecot.append(user, (DATA / "18-outlook-reply-supports-fact-finding.eml").read_bytes())
    settings = settings_for(dovecot, user)
    fetch_imap(sqlite_engine, settings)
    dovecot.append(user, (DATA / "22-gmail-reply-fr.eml").read_bytes())
    later = fetch_imap(sqlite_engine, settings)
    assert (later.taken, later.moved) == (1, 1)


def test_a_crash_between_commit_and_move_loses_and_doubles_nothing(
    tmp_path: Path, dovecot: Dovecot
) -> None:
    url = f"sqlite:///{tmp_path / 'inbox.db'}"
    from outreach.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    sent_letters(engine)
    user = dovecot.new_user()
    seed(dovecot, user)
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OUTREACH_")},
        "OUTREACH_DATABASE__URL": url,
        "OUTREACH_IMAP__HOST": dovecot.host,
        "OUTREACH_IMAP__PORT": str(dovecot.port),
        "OUTREACH_IMAP__USERNAME": user,
        "OUTREACH_IMAP__PASSWORD": dovecot.password,
        "OUTREACH_IMAP__SECURITY": "tls",
        "OUTREACH_IMAP__CA_FILE": str(dovecot.ca_file),
        "OUTREACH_SENDER__ADDRESS": "appeal@outreach.example.org",
    }
    command = [sys.executable, "-m", "outreach", "inbox", "fetch"]
    crashed = subprocess.run(
        command, cwd=tmp_path, env={**environment, "OUTREACH_CRASH_AT": "after_inbox_commit"},
        capture_output=True, check=False,
    )  # fmt: skip
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr.decode()
    assert len(rows(engine)) == 5  # recorded...
    assert len(dovecot.folder_uids(user, "INBOX")) == 5  # ...but not moved
    finished = subprocess.run(
        command, cwd=tmp_path, env=environment, capture_output=True, check=False
    )
    assert finished.returncode == 0, finished.stderr.decode()
    assert b"taken in 0 (nothing new); duplicates 5" in finished.stdout
    assert len(rows(engine)) == 5
    assert dovecot.folder_uids(user, "INBOX") == []
    assert len(dovecot.folder_uids(user, "Processed")) == 5


def test_forged_mail_fetched_from_the_mailbox_changes_nothing_until_confirmed(
    sqlite_engine: Engine, dovecot: Dovecot
) -> None:
    letters = sent_letters(sqlite_engine)
    victim = "ambassador.fr-am@example.org"  # letter k7m2q9x4ab
    user = dovecot.new_user()
    for raw in (
        forged_dsn(victim),  # to our plain address
        forged_dsn("mission.lv-unny@example.org", to=token_address("k7m2q9x4ab"), number=2),
        stranger_reply(to=token_address("k7m2q9x4ab")),
        stranger_reply(
            in_reply_to="<c094587dab8ecb4fcf74b7060e67ca0b@outreach.example.org>", number=2
        ),
    ):
        dovecot.append(user, raw)
    settings = settings_for(dovecot, user)
    report = fetch_imap(sqlite_engine, settings)
    assert (report.taken, report.moved) == (4, 4)
    stored = rows(sqlite_engine)
    assert [(row.letter_id, row.match_strength) for row in stored] == [
        (letters["k7m2q9x4ab"], MatchStrength.FOR_REVIEW)
    ] * 4
    with Session(sqlite_engine) as session:
        assert session.exec(select(Suppression)).all() == []
        letter = session.get(Letter, letters["k7m2q9x4ab"])
        assert letter is not None
        assert letter.state is LetterState.SENT
    bounce = stored[0].id
    assert bounce is not None
    with session_scope(sqlite_engine) as session:
        confirm_match(session, bounce, settings, actor="staff", now=clock.now())
    with Session(sqlite_engine) as session:
        assert is_suppressed(session, victim)
        letter = session.get(Letter, letters["k7m2q9x4ab"])
        assert letter is not None
        assert letter.state is LetterState.BOUNCED
