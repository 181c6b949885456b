"""Matching by hand and the uncoded replies: the domain functions the CLI and dashboard share."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.db import session_scope
from outreach.errors import NotFoundError
from outreach.inbox.manual import match_by_hand
from outreach.inbox.record import ingest
from outreach.models import (
    AuditEvent,
    InboundMessage,
    Letter,
    LetterState,
    MatchMethod,
    Stance,
)
from outreach.positions import Coding, code_reply, uncoded_replies
from tests.test_inbox import NOW, SETTINGS, sent_letters, take_in
from tests.test_positions import APPEAL, REPLY
from tests.test_web import UNMATCHED

SENDER_ONLY = "30-reply-matched-by-sender-only.eml"


@pytest.fixture
def letter(engine: Engine) -> int:
    """A sent letter of the corpus."""
    return min(sent_letters(engine).values())


@pytest.fixture
def unmatched(engine: Engine, letter: int) -> int:
    """A reply tied to no letter."""
    with session_scope(engine) as session:
        return ingest(session, UNMATCHED, "eml:stranger", SETTINGS, now=NOW).id


def row(engine: Engine, inbound: int) -> tuple[int | None, MatchMethod | None, bool]:
    with Session(engine) as session:
        message = session.get(InboundMessage, inbound)
        assert message is not None
        return message.letter_id, message.match_method, message.review


def events(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "reply.match")).all()
        return [(r.actor, r.subject, r.detail) for r in rows]


def test_a_message_matched_by_hand_answers_the_letter(
    engine: Engine, letter: int, unmatched: int
) -> None:
    with session_scope(engine) as session:
        match_by_hand(session, unmatched, letter, SETTINGS, actor="staff", now=NOW)
    assert row(engine, unmatched) == (letter, MatchMethod.MANUAL, False)


def test_matching_a_reply_by_hand_marks_its_letter_replied(
    engine: Engine, letter: int, unmatched: int
) -> None:
    with session_scope(engine) as session:
        match_by_hand(session, unmatched, letter, SETTINGS, actor="staff", now=NOW)
    with Session(engine) as session:
        found = session.get(Letter, letter)
        assert found is not None
        assert found.state is LetterState.REPLIED


def test_matching_by_hand_is_audited(engine: Engine, letter: int, unmatched: int) -> None:
    with session_scope(engine) as session:
        match_by_hand(session, unmatched, letter, SETTINGS, actor="staff", now=NOW)
    assert events(engine) == [("staff", str(unmatched), f'{{"letter": {letter}}}')]


def test_a_weak_match_confirmed_by_hand_needs_no_more_review(engine: Engine, letter: int) -> None:
    weak = take_in(engine, SENDER_ONLY)
    assert weak.id is not None
    assert (weak.match_method, weak.review) == (MatchMethod.SENDER, True)
    assert weak.letter_id is not None
    with session_scope(engine) as session:
        match_by_hand(session, weak.id, weak.letter_id, SETTINGS, actor="staff", now=NOW)
    assert row(engine, weak.id) == (weak.letter_id, MatchMethod.MANUAL, False)


def test_matching_to_a_missing_letter_changes_nothing(engine: Engine, unmatched: int) -> None:
    with pytest.raises(NotFoundError) as caught, session_scope(engine) as session:
        match_by_hand(session, unmatched, 999_999, SETTINGS, actor="staff", now=NOW)
    assert str(caught.value) == "no letter 999999 (see `outreach letters list`)"
    assert row(engine, unmatched) == (None, None, False)
    assert events(engine) == []


def test_matching_a_missing_message_is_not_found(engine: Engine, letter: int) -> None:
    with pytest.raises(NotFoundError) as caught, session_scope(engine) as session:
        match_by_hand(session, 999_999, letter, SETTINGS, actor="staff", now=NOW)
    assert str(caught.value) == "no inbound message 999999 (see `outreach replies list`)"


def uncoded(engine: Engine) -> list[int]:
    with Session(engine) as session:
        query = select(InboundMessage.id).where(uncoded_replies()).order_by(col(InboundMessage.id))
        return [inbound for inbound in session.exec(query) if inbound is not None]


def test_uncoded_replies_are_matched_replies_without_a_position(
    engine: Engine, letter: int, unmatched: int
) -> None:
    reply = take_in(engine, REPLY).id
    take_in(engine, "01-postfix-user-unknown.eml")  # a bounce: never coded
    assert uncoded(engine) == [reply]


def test_a_coded_reply_is_no_longer_uncoded(engine: Engine, letter: int) -> None:
    reply = take_in(engine, REPLY).id
    assert reply is not None
    with session_scope(engine) as session:
        coding = Coding("icj-order", Stance.SUPPORTS, "")
        code_reply(session, reply, APPEAL, [coding], actor="staff", now=NOW)
    assert uncoded(engine) == []
