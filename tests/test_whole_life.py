"""The promises across a campaign's whole life, as a Hypothesis state machine (RELIABILITY.md).

Staff import and re-import the recipients (with a list that shares mailboxes), create and
approve campaigns of two appeals, send ad hoc, dispatch to a faulting aiosmtpd (greylisting,
spam refusals, a lost reply after DATA, a full server, closed mailboxes), kill workers at the
named crash points (a forked copy of this process) and run others after them, let hours pass,
settle unknown letters on the server's evidence, take in replies, bounces, out-of-office
notices, the same message again and another message under a reused Message-ID, forged mail
(and confirm some of what was matched for review), suppress
addresses and erase people (the lists are imported again as they are). After every step:

- no mailbox has one appeal twice (at the server, and among the letters that went or may go);
- nothing went to an address suppressed before the dispatch began;
- every distinct inbound message is stored once;
- an erased person appears nowhere: not in a full dump of the database, not in the SQLite file
  or its WAL, not in any file of the working folder;
- every letter the server received is byte for byte the letter approved;
- forged mail (a report to our plain address, or naming another address; a stranger writing to
  a token address or citing a Message-ID) changes no suppression and no letter's state until
  staff confirm it, and a confirmation is audited.

Bounded for `make test` (15 examples on SQLite and 10 on PostgreSQL, up to 25 steps each: about
two minutes on two cores); OUTREACH_SOAK=1 runs 100 examples of up to 50 steps. LIFE_VERBOSE=1
prints each step and what the examples did.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach import clock, crashpoint
from outreach.adhoc import enqueue, prepare
from outreach.approval import approve_campaign
from outreach.campaign import CampaignError, create_campaign, get_campaign
from outreach.config import Settings
from outreach.crashpoint import POINTS
from outreach.db import make_engine, session_scope, upgrade
from outreach.dispatch import Dispatcher
from outreach.inbox.fetch import import_path
from outreach.inbox.identity import dedup_key
from outreach.inbox.manual import confirm_match
from outreach.letter import Composer
from outreach.models import (
    AuditEvent,
    InboundKind,
    InboundMessage,
    Letter,
    LetterState,
    MatchStrength,
    Recipient,
    Suppression,
    SuppressionSource,
)
from outreach.outbox import resolve_letter
from outreach.privacy import erase_recipient
from outreach.recipients.importer import import_files
from outreach.repeats import ALREADY, lock_appeal
from outreach.suppression import address_hash, suppress
from tests.smtp_server import Fault, SmtpServer

ROOT = Path(__file__).resolve().parent.parent
SEED = "nk-appeal-2023-03-07"
SECOND = "second-appeal-2024-01-15"
SOAK = bool(os.environ.get("OUTREACH_SOAK"))
SENDER = "appeal@outreach.example.org"
SEGMENTS = (
    (),
    ("kind=embassy",),
    ("kind=mep",),
    ("kind=embassy", "kind=mep"),
    ("language=fr",),
)
# A second list that shares mailboxes with the first: an embassy's office beside its ambassador
# (another case of the address), and a new record for an address already written to.
SHARED = """\
key,kind,role,courtesy_title,gender,given_name,family_name,organisation,country,host_country,city,tz,email,languages,priority
emb-fr-am-office,embassy,office,,unknown,,,Embassy of France in Armenia,FR,AM,Yerevan,Asia/Yerevan,Ambassador.FR-AM@example.org,fr|en,3
mep-999001-office,mep,office,,unknown,,,European Parliament office of Marie Exemple-Durand,FR,BE,Brussels,Europe/Brussels,marie.exemple-durand@example.org,fr|en,2
"""
FAULTS = {
    "none": (),
    "greylisted": (Fault("rcpt", reply="451 4.7.1 Greylisted, try again later"),),
    "spam": tuple(Fault("rcpt", reply="554 5.7.1 Message rejected as spam") for _ in range(3)),
    "lost reply": (Fault("after_data", drop=True),),
    "data refused": (Fault("data", reply="452 4.3.1 Insufficient system storage"),),
}

# Forged inbound mail (FORGERIES, below, writes each).
FORGERY_KINDS = (
    "report to our address",
    "report naming another",
    "stranger to the token",
    "stranger in reply",
)


STATISTICS: Counter[str] = Counter()  # what the examples did, printed with LIFE_VERBOSE=1


@dataclass
class Erased:
    """What an erased person was, to look for afterwards."""

    key: str
    address: str | None  # None when another recipient shares it (it is kept)
    name: str | None
    named_by: tuple[str, ...] = ()  # other recipients whose own record names them (kept)
    had: str = ""  # the hash of the address they had, shared or not


@dataclass
class World:
    """The test's own record of what happened, to check the system against."""

    approved: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # message-id → appeal
    suppressed: set[str] = field(default_factory=set)  # address hashes, as staff and bounces did
    inbound: set[str] = field(default_factory=set)  # distinct messages taken in (dedup keys)
    erased: list[Erased] = field(default_factory=list)
    campaigns: int = 0
    messages: int = 0  # inbound messages made up so far


def second_appeal(templates: Path) -> None:
    """A second appeal beside the seed: the same texts under another slug and date."""
    folder = templates / SECOND
    shutil.copytree(templates / SEED, folder)
    data = (folder / "appeal.yaml").read_text("utf-8")
    data = data.replace(f"slug: {SEED}", f"slug: {SECOND}").replace(
        "date: 2023-03-07", "date: 2024-01-15", 1
    )
    (folder / "appeal.yaml").write_text(data, "utf-8")


class WholeLife(RuleBasedStateMachine):
    """One organisation's campaigns over weeks, on one database."""

    server: SmtpServer
    dialect: str
    pg_admin: str

    @initialize()
    def start(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="outreach-life-"))
        self.project = self.folder / "project"  # the working folder staff run commands in
        self.outside = self.folder / "outside"  # the sources and mail files they are given
        self.project.mkdir()
        self.outside.mkdir()
        # The appeals are staff's own files, beside the lists: not what outreach writes.
        shutil.copytree(ROOT / "templates", self.outside / "templates")
        second_appeal(self.outside / "templates")
        shutil.copy(ROOT / "recipients/diplomats.csv", self.outside / "diplomats.csv")
        shutil.copy(ROOT / "recipients/un-and-eu.yaml", self.outside / "un-and-eu.yaml")
        (self.outside / "shared.csv").write_text(SHARED, "utf-8")
        if self.dialect == "sqlite":
            self.url = f"sqlite:///{self.project / 'outreach.db'}"
            self.database = None
        else:
            self.database = f"outreach_life_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(self.pg_admin, autocommit=True) as connection:
                connection.execute(f'CREATE DATABASE "{self.database}"')
            self.url = f"{self.pg_admin.rsplit('/', 1)[0]}/{self.database}"
        self.engine: Engine = make_engine(self.url)
        upgrade(self.engine)
        self.settings = Settings(
            database={"url": self.url},
            paths={"templates": str(self.outside / "templates")},
            sender={"name": "Appeal", "address": SENDER},
            smtp={"host": "127.0.0.1", "port": self.server.port, "security": "none", "timeout": 5},
            dispatch={
                "rate_per_minute": 0,
                "domain_rate_per_minute": 0,
                "connections": 2,
                "batch": 20,
                "lease_seconds": 600,
                "retry_hours": 72,
            },
        )
        self.world = World()
        self.offset = dt.timedelta()  # how far the workers' clock is ahead of the wall clock
        self.server.clear()
        self.seen_at_server = 0
        self.import_recipients(shared=False)  # staff begin with their list

    def teardown(self) -> None:
        with Session(self.engine) as session:
            for state, number in session.exec(
                select(Letter.state, sa.func.count()).group_by(Letter.state)
            ):
                STATISTICS[f"letters {state}"] += number
            STATISTICS["inbound messages"] += len(session.exec(select(InboundMessage.id)).all())
        STATISTICS["people erased"] += len(self.world.erased)
        STATISTICS["examples"] += 1
        self.engine.dispose()
        if self.database is not None:
            with psycopg.connect(self.pg_admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.folder, ignore_errors=True)

    def now(self) -> dt.datetime:
        return clock.now() + self.offset

    # --- staff actions ------------------------------------------------------------------------

    @rule(shared=st.booleans())
    def import_recipients(self, shared: bool) -> None:
        """A routine (re-)import of the lists; sometimes with a list that shares mailboxes."""
        files = [self.outside / "diplomats.csv", self.outside / "un-and-eu.yaml"]
        if shared:
            files.append(self.outside / "shared.csv")
        report = import_files(self.engine, files, actor="staff", skip_invalid=True)
        assert report.committed

    @rule(appeal=st.sampled_from([SEED, SECOND]), segment=st.sampled_from(SEGMENTS))
    def create_and_approve(self, appeal: str, segment: tuple[str, ...]) -> None:
        """A campaign over a segment, approved at once (recipients without a letter skipped)."""
        self.world.campaigns += 1
        name = f"c{self.world.campaigns}"
        composer = Composer.load(self.settings, appeal)
        try:
            with session_scope(self.engine) as session:
                create_campaign(
                    session,
                    name,
                    appeal_slug=appeal,
                    where=list(segment),
                    window="Mon-Sun 00:00-24:00",
                    start_at=None,
                    closed_dates=[],
                    actor="staff",
                )
                session.flush()
                approve_campaign(
                    session, get_campaign(session, name), composer, actor="boss", skip_problems=True
                )
        except CampaignError as error:
            if "has no letter to send" not in str(error):
                raise
            STATISTICS["approvals with no letter to send"] += 1
            return
        STATISTICS["approvals"] += 1
        with Session(self.engine) as session:
            for letter in session.exec(select(Letter).where(col(Letter.mime) != b"")):
                self.world.approved.setdefault(letter.message_id, (letter.appeal_slug, letter.mime))

    @precondition(lambda self: self.recipients())
    @rule(appeal=st.sampled_from([SEED, SECOND]), pick=st.integers(min_value=0))
    def send_ad_hoc(self, appeal: str, pick: int) -> None:
        """Someone on the team sends the appeal to one recipient from the command line."""
        people = self.recipients()
        key, _, _ = people[pick % len(people)]
        composer = Composer.load(self.settings, appeal)
        with session_scope(self.engine) as session:
            lock_appeal(session, appeal)
            prepared = prepare(
                session, composer, [key], [], language=None, again=False, now=self.now()
            )
            enqueue(session, prepared, now=self.now(), actor="staff")
            self.world.approved.update(
                (item.letter.message_id, (appeal, item.letter.mime))
                for item in prepared
                if item.letter is not None
            )

    @precondition(lambda self: self.waiting())
    @rule(fault=st.sampled_from(sorted(FAULTS)))
    def dispatch(self, fault: str) -> None:
        """A worker's run, against a server that misbehaves as told."""
        self.server.script(*FAULTS[fault])
        self.remember_suppressions()
        Dispatcher(self.engine, self.settings, now=self.now).run_once()
        self.check_nothing_to_suppressed()

    @precondition(lambda self: self.waiting())
    @rule(point=st.sampled_from(POINTS))
    def kill_a_worker(self, point: str) -> None:
        """A worker killed (SIGKILL, no clean-up) at a named point of its first letter.

        A forked copy of this process is the worker (a new interpreter per kill would cost
        two seconds): it opens its own connections and dies where the crash point says.
        """
        self.remember_suppressions()
        self.engine.dispose()  # no connection of ours may cross the fork
        child = os.fork()
        if child == 0:  # pragma: no cover - the worker's side
            try:
                os.environ["OUTREACH_CRASH_AT"] = f"{point}:1"
                crashpoint._reached.clear()
                worker = make_engine(self.url)
                Dispatcher(worker, self.settings, now=self.now).run_once()
            finally:
                os._exit(0)
        _, status = os.waitpid(child, 0)
        assert os.WIFEXITED(status) or os.WTERMSIG(status) == signal.SIGKILL, status
        STATISTICS["workers killed"] += os.WIFSIGNALED(status)
        self.check_nothing_to_suppressed()

    @precondition(lambda self: self.recipients())
    @rule(pick=st.integers(min_value=0))
    def a_mailbox_is_closed(self, pick: int) -> None:
        """A recipient's server refuses their address from now on, naming it (550 5.1.1)."""
        people = self.recipients()
        _, address, _ = people[pick % len(people)]
        self.server.fail_address(
            address, Fault("rcpt", reply=f"550 5.1.1 <{address}>: Recipient address rejected")
        )

    @rule()
    def time_passes(self) -> None:
        """Hours go by: deferred letters come due, dead workers' leases run out."""
        self.offset += dt.timedelta(hours=3)

    @rule()
    def settle_unknown_letters(self) -> None:
        """Staff settle each unknown letter on the evidence (the server's own record)."""
        at_server = {message.message_id for message in self.server.messages}
        with session_scope(self.engine) as session:
            unknown = session.exec(select(Letter).where(Letter.state == LetterState.UNKNOWN))
            for letter in list(unknown):
                assert letter.id is not None
                resolve_letter(
                    session,
                    letter.id,
                    sent=letter.message_id in at_server,
                    actor="staff",
                    now=self.now(),
                )

    @precondition(lambda self: self.sent_letters())
    @rule(
        kind=st.sampled_from(["reply", "bounce", "auto_reply", "again", "reused"]),
        pick=st.integers(min_value=0),
    )
    def take_in(self, kind: str, pick: int) -> None:
        """Mail comes back: a reply, a bounce, an out-of-office, the same message again, or
        another message under a Message-ID already taken in."""
        letters = self.sent_letters()
        message_id, token, address = letters[pick % len(letters)]
        self.world.messages += 1
        number = self.world.messages
        if kind == "again" and self.last_inbound is not None:
            raw = self.last_inbound
        elif kind == "reused" and self.last_inbound is not None:
            raw = self.last_inbound.replace(b"\r\n\r\n", b"\r\n\r\nA second answer.\r\n", 1)
        elif kind == "bounce":
            raw = bounce_for(address, token, message_id, number)
        else:
            raw = reply_for(address, token, message_id, number, auto=kind == "auto_reply")
        self.last_inbound = raw
        path = self.outside / f"in-{number}.eml"
        path.write_bytes(raw)
        import_path(self.engine, self.settings, path, now=self.now)
        path.unlink()
        self.world.inbound.add(dedup_key(raw))
        if kind == "bounce":
            self.world.suppressed.add(address_hash(address))

    last_inbound: bytes | None = None

    @precondition(lambda self: self.sent_letters())
    @rule(kind=st.sampled_from(FORGERY_KINDS), pick=st.integers(0), other=st.integers(0))
    def forged_mail(self, kind: str, pick: int, other: int) -> None:
        """A stranger forges mail about a letter: a delivery report naming its address (to our
        plain address) or another address (to its token), a reply to its token address or
        citing its Message-ID. Nothing changes before a person confirms it."""
        letters = self.sent_letters()
        message_id, token, address = letters[pick % len(letters)]
        named = letters[other % len(letters)][2]
        self.world.messages += 1
        number = self.world.messages
        if address_hash(named) == address_hash(address):
            named = f"someone.else.{number}@example.net"
        raw = FORGERIES[kind](address, token, message_id, named, number)
        before = self.effects()
        path = self.outside / f"forged-{number}.eml"
        path.write_bytes(raw)
        import_path(self.engine, self.settings, path, now=self.now)
        path.unlink()
        self.world.inbound.add(dedup_key(raw))
        assert self.effects() == before, kind
        with Session(self.engine) as session:
            row = session.exec(
                select(InboundMessage).where(InboundMessage.dedup_key == dedup_key(raw))
            ).one()
        assert row.match_strength is MatchStrength.FOR_REVIEW, (kind, row.match_note)
        STATISTICS[f"forged: {kind}"] += 1

    @precondition(lambda self: self.suggestions())
    @rule(pick=st.integers(0))
    def confirm_a_suggestion(self, pick: int) -> None:
        """Staff confirm a match for review: its effects follow, and the audit trail says so."""
        suggestions = self.suggestions()
        inbound = suggestions[pick % len(suggestions)]
        with session_scope(self.engine) as session:
            message = confirm_match(session, inbound, self.settings, actor="staff", now=self.now())
            letter = session.get(Letter, message.letter_id)
            assert letter is not None
            if message.kind is InboundKind.BOUNCE and message.bounce_permanent:
                self.world.suppressed.add(letter.address_hash)
        with Session(self.engine) as session:
            audited = session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "reply.confirm", AuditEvent.subject == str(inbound)
                )
            ).all()
        assert len(audited) == 1
        STATISTICS["suggestions confirmed"] += 1

    def suggestions(self) -> list[int]:
        """The messages matched for review."""
        with Session(self.engine) as session:
            return [
                inbound
                for inbound in session.exec(
                    select(InboundMessage.id)
                    .where(InboundMessage.match_strength == MatchStrength.FOR_REVIEW)
                    .order_by(col(InboundMessage.id))
                )
                if inbound is not None
            ]

    def effects(self) -> tuple[frozenset[str], dict[int | None, LetterState]]:
        """What inbound mail can change: the suppressions and every letter's state."""
        with Session(self.engine) as session:
            return (
                frozenset(session.exec(select(Suppression.address_hash)).all()),
                dict(session.exec(select(Letter.id, Letter.state)).all()),
            )

    @precondition(lambda self: self.recipients())
    @rule(pick=st.integers(min_value=0))
    def suppress_an_address(self, pick: int) -> None:
        """Someone asks not to be written to."""
        keys = self.recipients()
        _, address, _ = keys[pick % len(keys)]
        with session_scope(self.engine) as session:
            suppress(
                session, address, reason="asked", source=SuppressionSource.REQUEST, actor="staff"
            )
        self.world.suppressed.add(address_hash(address))

    @precondition(lambda self: self.recipients())
    @rule(pick=st.integers(min_value=0))
    def erase_a_person(self, pick: int) -> None:
        """Someone asks to be forgotten (the source lists are imported again as they are)."""
        people = self.recipients()
        key, address, name = people[pick % len(people)]
        erasure = erase_recipient(self.engine, key, actor="staff")
        # An address another recipient has now is theirs too: it stays, and is not suppressed.
        shared = any(kept.lower() == address.lower() for kept, _ in erasure.kept)
        named_by = tuple(other for other, _ in erasure.named_by)
        self.world.erased.append(
            Erased(key, None if shared else address, name, named_by, address_hash(address))
        )
        if not shared:
            self.world.suppressed.add(address_hash(address))

    # --- what the checks read -------------------------------------------------------------------

    def waiting(self) -> bool:
        """Whether any letter waits to be sent, or is held by a worker."""
        with Session(self.engine) as session:
            return (
                session.exec(
                    select(Letter.id).where(
                        col(Letter.state).in_(
                            [LetterState.QUEUED, LetterState.DEFERRED, LetterState.CLAIMED]
                        )
                    )
                ).first()
                is not None
            )

    def sent_letters(self) -> list[tuple[str, str, str]]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(Letter.message_id, Letter.token, Letter.to_address)
                .where(col(Letter.state).in_([LetterState.SENT, LetterState.REPLIED]))
                .where(col(Letter.to_address) != "")
                .order_by(col(Letter.id))
            ).all()
        return [(m, t, a) for m, t, a in rows]

    def recipients(self) -> list[tuple[str, str, str | None]]:
        with Session(self.engine) as session:
            rows = session.exec(
                select(Recipient).where(col(Recipient.email).is_not(None)).order_by(Recipient.key)
            ).all()
        return [
            (
                row.key,
                row.email or "",
                " ".join(p for p in (row.given_name, row.family_name) if p) or None,
            )
            for row in rows
        ]

    def remember_suppressions(self) -> None:
        with Session(self.engine) as session:
            self.suppressed_before = set(session.exec(select(Suppression.address_hash)).all())
        self.seen_at_server = len(self.server.messages)

    def check_nothing_to_suppressed(self) -> None:
        for message in self.server.messages[self.seen_at_server :]:
            for rcpt in message.rcpt_tos:
                assert address_hash(rcpt) not in self.suppressed_before, rcpt

    # --- the promises ---------------------------------------------------------------------------

    @invariant()
    def one_appeal_per_mailbox(self) -> None:
        if not hasattr(self, "engine"):
            return
        at_server: Counter[tuple[str, str]] = Counter()
        for message in self.server.messages:
            assert message.message_id in self.world.approved, message.message_id
            appeal, _ = self.world.approved[message.message_id]
            for rcpt in message.rcpt_tos:
                at_server[(appeal, address_hash(rcpt))] += 1
        twice = [key for key, count in at_server.items() if count > 1]
        assert not twice, twice
        with Session(self.engine) as session:
            going = session.exec(
                select(Letter.appeal_slug, Letter.address_hash, sa.func.count())
                .where(col(Letter.state).in_(ALREADY), Letter.step == 0)
                .group_by(Letter.appeal_slug, Letter.address_hash)
                .having(sa.func.count() > 1)
            ).all()
        assert not going, going

    @invariant()
    def sent_bytes_are_approved_bytes(self) -> None:
        if not hasattr(self, "engine"):
            return
        for message in self.server.messages:
            _, approved = self.world.approved[message.message_id]
            assert message.data == approved, message.message_id

    @invariant()
    def every_distinct_message_is_stored_once(self) -> None:
        if not hasattr(self, "engine"):
            return
        with Session(self.engine) as session:
            keys = session.exec(select(InboundMessage.dedup_key)).all()
        assert len(keys) == len(set(keys))
        assert set(keys) == self.world.inbound

    @invariant()
    def erased_people_appear_nowhere(self) -> None:
        if not hasattr(self, "engine") or not self.world.erased:
            return
        # Read by another process, as an attacker would, while this one keeps its connections
        # open as `outreach run` does (so SQLite keeps its -wal file): closing a descriptor of
        # a database file here would drop this process's POSIX locks on it
        # (sqlite.org/howtocorrupt.html §2.2).
        files = [
            subprocess.run(["cat", str(path)], capture_output=True, check=True).stdout
            for path in self.project.rglob("*")
            if path.is_file()
        ]
        for person in self.world.erased:
            exact = []
            if not self.has_successor(person):
                exact.append(rb"(?<![\w.+-])" + re.escape(person.key.encode()) + rb"(?![\w+-])")
            if person.address:
                exact.append(re.escape(person.address.lower().encode()))
            name = [re.escape(person.name.lower().encode())] if person.name else []
            # Other recipients' own records that the erasure said name them (an office called
            # after them) are staff's to correct: their rows are left out of the name search.
            others = [re.escape(key.encode()) for key in person.named_by]
            dump = self.dump().lower()
            named = dump
            if others:
                keep = re.compile(rb"(?<![\w-])(?:" + rb"|".join(others) + rb")(?![\w-])")
                named = b"\n".join(line for line in dump.split(b"\n") if not keep.search(line))
            searches = [(dump, exact), (named, name)]
            searches += [(file.lower(), exact if others else exact + name) for file in files]
            for haystack, needles in searches:
                for needle in needles:
                    assert re.search(needle, haystack) is None, (person, needle)

    def has_successor(self, person: Erased) -> bool:
        """Whether a later list gave the erased key another address: the role's next holder
        (docs/privacy.md), whose record is theirs, not the erased person's."""
        with Session(self.engine) as session:
            now = session.exec(select(Recipient).where(Recipient.key == person.key)).first()
        if now is None:
            return False
        assert now.email is not None, person
        assert address_hash(now.email) != person.had, person
        return True

    def dump(self) -> bytes:
        """Everything the database holds, as text."""
        if self.database is None:
            connection = sqlite3.connect(self.project / "outreach.db")
            try:
                return "\n".join(connection.iterdump()).encode()
            finally:
                connection.close()
        pg_dump = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))[-1]
        return subprocess.run(
            [str(pg_dump), "--data-only", self.url], capture_output=True, check=True
        ).stdout


def bounce_for(address: str, token: str, message_id: str, number: int) -> bytes:
    """A standard delivery status notification (RFC 3464) for our letter to `address`."""
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: <appeal+{token}@outreach.example.org>\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <bounce-{number}@mx.example.net>\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver it.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{address}>: user unknown\r\n\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nTo: <{address}>\r\n\r\n--b--\r\n"
    ).encode()


def reply_for(address: str, token: str, message_id: str, number: int, *, auto: bool) -> bytes:
    """A human reply from the recipient, or their out-of-office notice."""
    auto_headers = "Auto-Submitted: auto-replied\r\n" if auto else ""
    text = (
        "I am out of the office until 30 November 2026."
        if auto
        else "Dear colleagues, we support the call for a fact-finding mission."
    )
    return (
        f"From: <{address}>\r\nTo: <appeal+{token}@outreach.example.org>\r\n"
        f"Subject: Re: your letter\r\nMessage-ID: <answer-{number}@example.org>\r\n"
        f"In-Reply-To: {message_id}\r\n{auto_headers}"
        "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\n"
        f"{text}\r\n"
    ).encode()


def forged_report(address: str, token: str, message_id: str, named: str, number: int) -> bytes:
    """A "delivery failure" from anyone, to our plain address, naming the letter's address."""
    return (
        bounce_for(address, token, "<unrelated@example.net>", number)
        .replace(f"<appeal+{token}@outreach.example.org>".encode(), SENDER.encode())
        .replace(
            f"Message-ID: <bounce-{number}@".encode(), f"Message-ID: <forged-{number}@".encode()
        )
    )


def report_naming_another(address: str, token: str, message_id: str, named: str, n: int) -> bytes:
    """A report to the letter's token address that names another address."""
    return bounce_for(named, token, "<unrelated@example.net>", n).replace(
        f"Message-ID: <bounce-{n}@".encode(), f"Message-ID: <forged-{n}@".encode()
    )


def stranger_to_token(address: str, token: str, message_id: str, named: str, n: int) -> bytes:
    """A stranger's "reply on behalf of the government" to the letter's token address."""
    return reply_for(f"press.{n}@example.net", token, "<unrelated@example.net>", n, auto=False)


def stranger_in_reply(address: str, token: str, message_id: str, named: str, n: int) -> bytes:
    """A stranger's reply to our plain address, threaded to the letter's Message-ID."""
    return reply_for(f"press.{n}@example.net", token, message_id, n, auto=False).replace(
        f"<appeal+{token}@outreach.example.org>".encode(), SENDER.encode()
    )


FORGERIES = dict(
    zip(
        FORGERY_KINDS,
        (forged_report, report_naming_another, stranger_to_token, stranger_in_reply),
        strict=True,
    )
)
EXAMPLES = {"sqlite": 15, "postgresql": 10}


def run_machine(dialect: str, server: SmtpServer, pg_admin: str = "") -> None:
    WholeLife.server = server
    WholeLife.dialect = dialect
    WholeLife.pg_admin = pg_admin
    STATISTICS.clear()
    run_state_machine_as_test(
        WholeLife,
        settings=settings(
            max_examples=100 if SOAK else EXAMPLES[dialect],
            stateful_step_count=50 if SOAK else 25,
            deadline=None,
            verbosity=Verbosity.verbose if os.environ.get("LIFE_VERBOSE") else Verbosity.normal,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    if os.environ.get("LIFE_VERBOSE"):
        print(dict(sorted(STATISTICS.items())))


@pytest.fixture
def server() -> SmtpServer:
    with SmtpServer() as running:
        yield running  # type: ignore[misc]


def test_the_promises_hold_over_a_campaign_s_life_on_sqlite(server: SmtpServer) -> None:
    run_machine("sqlite", server)


@pytest.mark.postgres
def test_the_promises_hold_over_a_campaign_s_life_on_postgresql(
    server: SmtpServer, pg_admin: str
) -> None:
    run_machine("postgresql", server, pg_admin)
