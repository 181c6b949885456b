"""Settling an unknown letter on a person's evidence: `outbox.resolve_letter`, which the CLI's
`letters resolve` and the dashboard both call."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach import outbox
from outreach.db import session_scope
from outreach.errors import NotFoundError, StateError
from outreach.models import AuditEvent, Letter, LetterState
from tests import factory

NOW = dt.datetime(2026, 2, 11, 9, 30, tzinfo=dt.UTC)


def letter_in(engine: Engine, state: LetterState) -> int:
    """A letter of a running campaign, put in `state`."""
    [letter] = factory.letters(engine, factory.campaign(engine), 1)
    with engine.begin() as connection:
        connection.execute(sa.update(Letter).where(col(Letter.id) == letter).values(state=state))
    return letter


def resolve(engine: Engine, letter: int, *, sent: bool) -> None:
    with session_scope(engine) as session:
        outbox.resolve_letter(session, letter, sent=sent, actor="anna", now=NOW)


def state_of(engine: Engine, letter: int) -> tuple[LetterState, dt.datetime | None]:
    with Session(engine) as session:
        row = session.get(Letter, letter)
        assert row is not None
        return row.state, row.sent_at


def events(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "letter.resolve"))
        return [(r.actor, r.subject, r.detail) for r in rows]


def test_an_unknown_letter_resolved_as_sent_is_sent(engine: Engine) -> None:
    letter = letter_in(engine, LetterState.UNKNOWN)
    resolve(engine, letter, sent=True)
    state, sent_at = state_of(engine, letter)
    assert (state, sent_at is not None and sent_at.replace(tzinfo=dt.UTC)) == (
        LetterState.SENT,
        NOW,
    )


def test_an_unknown_letter_resolved_as_not_sent_is_queued_again(engine: Engine) -> None:
    letter = letter_in(engine, LetterState.UNKNOWN)
    resolve(engine, letter, sent=False)
    assert state_of(engine, letter) == (LetterState.QUEUED, None)


def test_resolving_is_audited_with_the_outcome(engine: Engine) -> None:
    letter = letter_in(engine, LetterState.UNKNOWN)
    resolve(engine, letter, sent=False)
    assert events(engine) == [("anna", str(letter), '{"outcome": "not-sent"}')]


def test_only_an_unknown_letter_is_resolved(engine: Engine) -> None:
    letter = letter_in(engine, LetterState.FAILED)
    with pytest.raises(StateError) as caught:
        resolve(engine, letter, sent=True)
    assert str(caught.value) == f"letter {letter} is failed: only an unknown letter is resolved"
    assert (state_of(engine, letter), events(engine)) == ((LetterState.FAILED, None), [])


def test_resolving_a_missing_letter_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError) as caught:
        resolve(engine, 999_999, sent=True)
    assert str(caught.value) == "no letter 999999 (see `outreach letters list`)"
