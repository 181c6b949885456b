"""Taking in inbound mail: every corpus message recorded once, matched to its letter, with effects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.db import session_scope
from outreach.inbox.record import ingest
from outreach.models import InboundMessage, Letter, LetterState, MatchMethod
from outreach.suppression import address_hash, is_suppressed
from tests import factory

DATA = Path(__file__).resolve().parent / "data" / "inbound"
EXPECTED: dict[str, dict[str, object]] = yaml.safe_load((DATA / "expected.yaml").read_text("utf-8"))
LETTERS: list[dict[str, str]] = yaml.safe_load((DATA / "letters.yaml").read_text("utf-8"))[
    "letters"
]
# Janis Paraugs answers for the Latvian mission (18-outlook-reply-…): an alias staff trust.
TRUSTED = {"mission.lv-unny@example.org": ["janis.paraugs@example.org"]}
SETTINGS = Settings(
    sender={"address": "appeal@outreach.example.org"}, inbox={"trusted_domains": TRUSTED}
)
NOW = dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)
METHOD = {
    "token": MatchMethod.TOKEN,
    "in_reply_to": MatchMethod.IN_REPLY_TO,
    "original_message_id": MatchMethod.ORIGINAL,
    "sender": MatchMethod.SENDER,
}


def sent_letters(engine: Engine) -> dict[str, int]:
    """The corpus's letters, sent; their ids by message_id and by token."""
    campaign = factory.campaign(engine)
    table = Letter.__table__  # type: ignore[attr-defined]
    ids: dict[str, int] = {}
    with engine.begin() as connection:
        for letter in LETTERS:
            email = letter["recipient_email"]
            letter_id = connection.execute(
                table.insert().returning(table.c.id),
                {
                    "campaign_id": campaign,
                    "appeal_slug": "nk-appeal-2023-03-07",
                    "recipient_key": letter["recipient_key"],
                    "to_address": email,
                    "address_hash": address_hash(email),
                    "domain": email.rsplit("@", 1)[1],
                    "language": "en",
                    "subject": "Appeal: end the blockade of the Lachin corridor",
                    "demand_keys": "un-fact-finding|icj-order|accountability",
                    "token": letter["token"],
                    "message_id": letter["message_id"],
                    "mime": b"",
                    "state": LetterState.SENT,
                    "send_after": factory.T0,
                    "due_at": factory.T0,
                    "sent_at": factory.T0,
                    "created_at": factory.T0,
                    "updated_at": factory.T0,
                },
            ).scalar_one()
            ids[letter["message_id"]] = ids[letter["token"]] = letter_id
    return ids


def take_in(engine: Engine, name: str) -> InboundMessage:
    with session_scope(engine) as session:
        result = ingest(session, (DATA / name).read_bytes(), f"eml:{name}", SETTINGS, now=NOW)
        row = session.get(InboundMessage, result.id)
        assert row is not None
        return row


def expected_match(name: str) -> dict[str, str] | None:
    match = EXPECTED[name].get("match")
    return match if isinstance(match, dict) else None


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if (DATA / n).exists()))
def test_each_message_is_matched_as_expected(sqlite_engine: Engine, name: str) -> None:
    letters = sent_letters(sqlite_engine)
    row = take_in(sqlite_engine, name)
    match = expected_match(name)
    if match is None:
        assert (row.letter_id, row.match_method) == (None, None)
        return
    by_address = {letter["recipient_email"]: letters[letter["token"]] for letter in LETTERS}
    if match["by"] == "sender":
        expected_id = by_address[match["address"].lower()]
    else:
        expected_id = letters[match.get("message_id") or match["token"]]
    assert row.letter_id == expected_id
    # The method: the one listed, another valid one, the plus-address token, or — for a bounce
    # whose References name the letter — In-Reply-To/References, tried before the original.
    valid = {METHOD[match["by"]], MatchMethod.TOKEN}  # the token, when present, is strongest
    valid |= {METHOD[other["by"]] for other in EXPECTED[name].get("also_matches") or []}  # type: ignore[union-attr]
    if match["by"] == "original_message_id":
        valid.add(MatchMethod.IN_REPLY_TO)
    assert row.match_method in valid


def test_the_same_message_twice_is_one_row(sqlite_engine: Engine) -> None:
    sent_letters(sqlite_engine)
    first = take_in(sqlite_engine, "18-outlook-reply-supports-fact-finding.eml")
    with session_scope(sqlite_engine) as session:
        raw = (DATA / "18-outlook-reply-supports-fact-finding.eml").read_bytes()
        again = ingest(session, raw, "eml:again", SETTINGS, now=NOW)
    assert (again.duplicate, again.id) == (True, first.id)
    with Session(sqlite_engine) as session:
        assert len(session.exec(select(InboundMessage)).all()) == 1


def test_a_message_without_message_id_is_deduplicated_by_its_bytes(sqlite_engine: Engine) -> None:
    first = take_in(sqlite_engine, "38-reply-without-message-id.eml")
    assert first.dedup_key.startswith("sha256:")
    with session_scope(sqlite_engine) as session:
        raw = (DATA / "38-reply-without-message-id.eml").read_bytes()
        assert ingest(session, raw, "eml:again", SETTINGS, now=NOW).duplicate


def letter_state(engine: Engine, letter_id: int) -> LetterState:
    with Session(engine) as session:
        letter = session.get(Letter, letter_id)
        assert letter is not None
        return letter.state


def test_a_permanent_bounce_marks_the_letter_and_suppresses_the_address(
    sqlite_engine: Engine,
) -> None:
    letters = sent_letters(sqlite_engine)
    row = take_in(sqlite_engine, "01-postfix-user-unknown.eml")
    assert row.letter_id is not None
    assert letter_state(sqlite_engine, row.letter_id) is LetterState.BOUNCED
    with Session(sqlite_engine) as session:
        letter = session.get(Letter, row.letter_id)
        assert letter is not None
        assert is_suppressed(session, letter.to_address)
    assert letters


def test_a_temporary_bounce_neither_bounces_nor_suppresses(sqlite_engine: Engine) -> None:
    sent_letters(sqlite_engine)
    row = take_in(sqlite_engine, "02-postfix-delayed-warning-4.4.1.eml")
    assert row.letter_id is not None
    assert letter_state(sqlite_engine, row.letter_id) is LetterState.SENT
    with Session(sqlite_engine) as session:
        letter = session.get(Letter, row.letter_id)
        assert letter is not None
        assert not is_suppressed(session, letter.to_address)


def test_a_reply_marks_the_letter_replied(sqlite_engine: Engine) -> None:
    sent_letters(sqlite_engine)
    row = take_in(sqlite_engine, "18-outlook-reply-supports-fact-finding.eml")
    assert row.letter_id is not None
    assert letter_state(sqlite_engine, row.letter_id) is LetterState.REPLIED


def test_an_auto_reply_is_recorded_but_is_no_reply(sqlite_engine: Engine) -> None:
    sent_letters(sqlite_engine)
    row = take_in(sqlite_engine, "10-exchange-automatic-reply-ooo.eml")
    assert row.letter_id is not None
    assert letter_state(sqlite_engine, row.letter_id) is LetterState.SENT
    assert row.return_date == dt.date(2023, 3, 12)


def test_an_auto_reply_settles_an_unknown_letter_as_sent(sqlite_engine: Engine) -> None:
    letters = sent_letters(sqlite_engine)
    with sqlite_engine.begin() as connection:
        connection.execute(Letter.__table__.update().values(state="unknown"))  # type: ignore[attr-defined]
    row = take_in(sqlite_engine, "10-exchange-automatic-reply-ooo.eml")
    assert row.letter_id is not None
    assert letter_state(sqlite_engine, row.letter_id) is LetterState.SENT
    assert letters


def test_a_quarantined_message_is_kept_with_its_reason(sqlite_engine: Engine) -> None:
    row = take_in(sqlite_engine, "36-no-headers-binary-garbage.eml")
    assert (row.kind.value, row.quarantined) == ("unknown", True)
    assert row.raw == (DATA / "36-no-headers-binary-garbage.eml").read_bytes()


def test_every_message_of_the_corpus_is_taken_in_once(sqlite_engine: Engine) -> None:
    sent_letters(sqlite_engine)
    names = sorted(p.name for p in DATA.glob("*.eml"))
    for name in names:
        take_in(sqlite_engine, name)
    for name in names:
        take_in(sqlite_engine, name)
    with Session(sqlite_engine) as session:
        rows = session.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all()
    assert len(rows) == len(names)
