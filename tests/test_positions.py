"""Positions on demands: coded by staff with evidence, recoding kept as history, suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from outreach.appeal import load_appeal
from outreach.db import session_scope
from outreach.errors import InputError, StateError
from outreach.models import InboundMessage, Stance
from outreach.positions import code_reply, parse_codings, positions_of, suggest
from tests.test_inbox import EXPECTED, NOW, sent_letters, take_in

APPEAL = load_appeal(Path(__file__).resolve().parent.parent / "templates" / "nk-appeal-2023-03-07")
REPLY = "18-outlook-reply-supports-fact-finding.eml"


@pytest.fixture
def reply(sqlite_engine: Engine) -> int:
    sent_letters(sqlite_engine)
    row = take_in(sqlite_engine, REPLY)
    assert row.id is not None
    return row.id


def code(
    engine: Engine,
    inbound: int,
    *demands: str,
    evidence: tuple[str, ...] = (),
    actor: str = "staff",
) -> None:
    with session_scope(engine) as session:
        code_reply(
            session,
            inbound,
            APPEAL,
            parse_codings(list(demands), list(evidence)),
            actor=actor,
            now=NOW,
        )


def current(engine: Engine, inbound: int) -> list[tuple[str, Stance, str]]:
    with session_scope(engine, write=False) as session:
        return [(p.demand_key, p.stance, p.evidence) for p in positions_of(session, inbound)]


def test_a_reply_is_coded_per_demand_with_evidence(sqlite_engine: Engine, reply: int) -> None:
    code(
        sqlite_engine,
        reply,
        "un-fact-finding=supports",
        "icj-order=not_addressed",
        evidence=("We fully support the call for a UN fact-finding mission", ""),
    )
    assert current(sqlite_engine, reply) == [
        (
            "un-fact-finding",
            Stance.SUPPORTS,
            "We fully support the call for a UN fact-finding mission",
        ),
        ("icj-order", Stance.NOT_ADDRESSED, ""),
    ]


def test_recoding_keeps_the_earlier_coding_as_history(sqlite_engine: Engine, reply: int) -> None:
    code(sqlite_engine, reply, "un-fact-finding=noncommittal", actor="first")
    code(sqlite_engine, reply, "un-fact-finding=supports", actor="second")
    assert current(sqlite_engine, reply) == [("un-fact-finding", Stance.SUPPORTS, "")]
    with session_scope(sqlite_engine, write=False) as session:
        history = positions_of(session, reply, history=True)
    assert [(p.stance, p.coded_by, p.current) for p in history] == [
        (Stance.NONCOMMITTAL, "first", False),
        (Stance.SUPPORTS, "second", True),
    ]


def test_an_unknown_demand_is_refused(sqlite_engine: Engine, reply: int) -> None:
    with pytest.raises(InputError) as error:
        code(sqlite_engine, reply, "ceasefire=supports")
    assert str(error.value) == (
        "demand 'ceasefire' is not in nk-appeal-2023-03-07: its demands are "
        "un-fact-finding, icj-order, accountability"
    )


def test_an_unknown_stance_lists_the_stances() -> None:
    with pytest.raises(InputError) as error:
        parse_codings(["icj-order=agrees"], [])
    assert str(error.value) == (
        "--demand 'icj-order=agrees': stance must be one of: supports, commits, noncommittal, "
        "declines, not_addressed"
    )


def test_an_auto_reply_takes_no_position(sqlite_engine: Engine) -> None:
    sent_letters(sqlite_engine)
    row = take_in(sqlite_engine, "10-exchange-automatic-reply-ooo.eml")
    assert row.id is not None
    with pytest.raises(StateError, match="is auto_reply, not a reply"):
        code(sqlite_engine, row.id, "icj-order=supports")


def test_an_unmatched_reply_must_be_matched_first(sqlite_engine: Engine) -> None:
    row = take_in(sqlite_engine, REPLY)  # no letters in the database: nothing to match
    assert row.id is not None
    with pytest.raises(StateError, match="not matched to a letter: attach it first"):
        code(sqlite_engine, row.id, "icj-order=supports")


def test_suggestions_come_from_the_keywords_of_the_reply_language() -> None:
    assert suggest("We fully support the call for a UN fact-finding mission.", APPEAL, "en") == [
        "un-fact-finding"
    ]


def test_suggestions_in_french() -> None:
    text = "Nous soutenons une mission d'établissement des faits et l'ordonnance de la CIJ."
    assert "un-fact-finding" in suggest(text, APPEAL, "fr")


def test_no_text_no_suggestion() -> None:
    assert suggest(None, APPEAL, "en") == []


def test_the_corpus_reply_suggests_what_it_discusses(sqlite_engine: Engine, reply: int) -> None:
    with session_scope(sqlite_engine, write=False) as session:
        message = session.get(InboundMessage, reply)
        assert message is not None
        assert suggest(message.text, APPEAL, message.language) == ["un-fact-finding"]


@pytest.mark.parametrize(
    "name",
    sorted(
        name
        for name, expected in EXPECTED.items()
        if expected.get("kind") == "reply" and "demands_suggested" in expected
    ),
)
def test_suggestions_over_the_corpus(sqlite_engine: Engine, name: str) -> None:
    sent_letters(sqlite_engine)
    row = take_in(sqlite_engine, name)
    assert suggest(row.text, APPEAL, row.language) == EXPECTED[name]["demands_suggested"]
