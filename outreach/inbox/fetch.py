"""Intake: messages from IMAP or files → recorded once each; IMAP moves only what is committed."""

from __future__ import annotations

import datetime as dt
import ssl
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach import clock
from outreach.config import Settings
from outreach.crashpoint import reach
from outreach.db import session_scope
from outreach.inbox.files import read_messages
from outreach.inbox.imap import ImapSource
from outreach.inbox.record import Ingested, ingest
from outreach.models import MailboxCursor, MatchStrength

CHUNK = 50
T = TypeVar("T")


@dataclass
class IntakeReport:
    """What an intake took in."""

    taken: int = 0
    duplicates: int = 0
    unmatched: int = 0
    quarantined: int = 0
    reused_message_ids: int = 0  # new messages under a Message-ID another message has
    for_review: int = 0  # matched, but without effect until a person confirms
    moved: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)

    def add(self, result: Ingested) -> None:
        """Count one message."""
        if result.duplicate:
            self.duplicates += 1
            return
        self.taken += 1
        self.by_kind[result.kind.value] += 1
        self.unmatched += result.letter_id is None
        self.quarantined += result.quarantined
        self.reused_message_ids += result.reused_message_id
        self.for_review += result.strength is MatchStrength.FOR_REVIEW


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def fetch_imap(
    engine: Engine,
    settings: Settings,
    *,
    source: Callable[[], ImapSource] | None = None,
    now: Callable[[], dt.datetime] = clock.now,
) -> IntakeReport:
    """Read the folder from the last UID on, record in chunks, then move what was committed.

    The cursor advances only after the move: a crash after the commit re-reads those messages
    next time, finds them recorded (duplicates), and moves them then. Nothing lost, nothing twice.
    """
    imap_settings = settings.imap
    mailbox = f"{imap_settings.username}@{imap_settings.host}"
    folder = imap_settings.folder
    report = IntakeReport()
    with (source or (lambda: default_source(settings)))() as imap:
        uidvalidity = imap.select(folder)
        last_uid = cursor_position(engine, mailbox, folder, uidvalidity)
        for chunk in chunks(imap.fetch_new(last_uid), CHUNK):
            with session_scope(engine) as session:
                for message in chunk:
                    where = f"imap:{mailbox}/{folder};uidvalidity={uidvalidity};uid={message.uid}"
                    report.add(ingest(session, message.raw, where, settings, now=now()))
            uids = [message.uid for message in chunk]
            reach("after_inbox_commit")
            imap.move(uids, imap_settings.processed_folder)
            report.moved += len(uids)
            advance_cursor(engine, mailbox, folder, uidvalidity, max(uids))
    return report


def default_source(settings: Settings) -> ImapSource:
    """The configured mailbox, its certificate verified (imap.ca_file for a private CA)."""
    context = ssl.create_default_context(cafile=settings.imap.ca_file or None)
    return ImapSource(settings.imap, ssl_context=context)


def cursor_position(engine: Engine, mailbox: str, folder: str, uidvalidity: int) -> int:
    """The last UID taken in; 0 when the folder is new or its UIDVALIDITY changed (RFC 3501)."""
    with session_scope(engine) as session:
        cursor = find_cursor(session, mailbox, folder)
        if cursor is None:
            session.add(MailboxCursor(mailbox=mailbox, folder=folder, uidvalidity=uidvalidity))
            return 0
        if cursor.uidvalidity != uidvalidity:
            # The server renumbered the folder: UIDs mean nothing any more. Read it all again;
            # what was taken in before is recognised as a duplicate.
            cursor.uidvalidity, cursor.last_uid = uidvalidity, 0
            session.add(cursor)
        return cursor.last_uid


def advance_cursor(engine: Engine, mailbox: str, folder: str, uidvalidity: int, uid: int) -> None:
    """Remember that every UID up to `uid` is recorded and moved."""
    with session_scope(engine) as session:
        cursor = find_cursor(session, mailbox, folder)
        if cursor is not None and cursor.uidvalidity == uidvalidity and uid > cursor.last_uid:
            cursor.last_uid = uid
            session.add(cursor)


def find_cursor(session: Session, mailbox: str, folder: str) -> MailboxCursor | None:
    """The cursor of a folder."""
    return session.exec(
        select(MailboxCursor).where(
            MailboxCursor.mailbox == mailbox, MailboxCursor.folder == folder
        )
    ).first()


def import_path(
    engine: Engine, settings: Settings, path: Path, *, now: Callable[[], dt.datetime] = clock.now
) -> IntakeReport:
    """Take in every message of a Maildir, an mbox, an .eml file or a folder of them (streamed)."""
    report = IntakeReport()
    for chunk in chunks(read_messages(path), CHUNK):
        with session_scope(engine) as session:
            for message in chunk:
                report.add(ingest(session, message.raw, message.ref, settings, now=now()))
    return report
