"""Personal data: export everything held about a person; erase it leaving only a hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from outreach.db import session_scope
from outreach.errors import NotFoundError, StateError
from outreach.models import AuditEvent, Suppression, SuppressionSource
from outreach.privacy import erase_person, export_person, hashed_subject
from outreach.recipients.importer import import_files
from outreach.suppression import address_hash, is_suppressed, suppress, unsuppress

KEY = "mep-999001"
EMAIL = "marie.exemple-durand@example.org"


@pytest.fixture
def loaded(engine: Engine, sample_csv: Path) -> Engine:
    import_files(engine, [sample_csv], actor="tester")
    return engine


def test_export_holds_the_record(loaded: Engine) -> None:
    with session_scope(loaded, write=False) as session:
        data = export_person(session, KEY)
    recipient = data["recipient"]
    assert isinstance(recipient, dict)
    assert (recipient["email"], recipient["committees"]) == (
        EMAIL,
        ["AFET", "DROI:substitute", "DSCA"],
    )
    assert data["suppression"] is None


def test_export_shows_a_suppression(loaded: Engine) -> None:
    with session_scope(loaded) as session:
        suppress(session, EMAIL, reason="asked", source=SuppressionSource.REQUEST, actor="t")
    with session_scope(loaded, write=False) as session:
        data = export_person(session, KEY)
    suppression = data["suppression"]
    assert isinstance(suppression, dict)
    assert (suppression["reason"], suppression["source"]) == ("asked", "request")


def test_export_of_an_unknown_key_says_how_to_find_keys(loaded: Engine) -> None:
    with pytest.raises(NotFoundError) as error, session_scope(loaded, write=False) as session:
        export_person(session, "mep-000000")
    assert str(error.value) == "no recipient with key 'mep-000000' (see `outreach recipients list`)"


def test_erase_removes_the_person_and_keeps_a_hashed_suppression(loaded: Engine) -> None:
    with session_scope(loaded) as session:
        digest = erase_person(session, KEY, actor="dpo").digest
    assert digest == address_hash(EMAIL)
    with session_scope(loaded, write=False) as session:
        entry = session.exec(select(Suppression)).one()
        assert (entry.address, entry.address_hash, entry.source) == (
            None,
            digest,
            SuppressionSource.ERASURE,
        )
        assert is_suppressed(session, EMAIL)
        with pytest.raises(NotFoundError):
            export_person(session, KEY)


def test_erase_leaves_no_clear_trace_in_the_audit_trail(loaded: Engine) -> None:
    with session_scope(loaded) as session:
        suppress(session, EMAIL, reason="asked", source=SuppressionSource.REQUEST, actor="t")
    with session_scope(loaded) as session:
        erase_person(session, KEY, actor="dpo")
    with session_scope(loaded, write=False) as session:
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    text = " ".join(f"{e.subject} {e.detail}" for e in events)
    assert EMAIL not in text
    assert KEY not in text
    assert events[-1].subject == hashed_subject(KEY)


def test_an_erased_address_stays_suppressed_after_reimport(
    loaded: Engine, sample_csv: Path
) -> None:
    with session_scope(loaded) as session:
        erase_person(session, KEY, actor="dpo")
    import_files(loaded, [sample_csv], actor="tester")
    with session_scope(loaded, write=False) as session:
        assert is_suppressed(session, EMAIL)


def test_an_erasure_suppression_cannot_be_lifted(loaded: Engine) -> None:
    with session_scope(loaded) as session:
        erase_person(session, KEY, actor="dpo")
    with pytest.raises(StateError), session_scope(loaded) as session:
        unsuppress(session, EMAIL, actor="t", reason="oops")


def test_export_lists_the_letters_replies_and_positions(engine: Engine, tmp_path: Path) -> None:
    from outreach.positions import code_reply, parse_codings
    from tests.test_inbox import sent_letters, take_in
    from tests.test_positions import APPEAL

    sent_letters(engine)
    reply = take_in(engine, "18-outlook-reply-supports-fact-finding.eml")
    assert reply.id is not None
    with session_scope(engine) as session:
        code_reply(
            session,
            reply.id,
            APPEAL,
            parse_codings(["icj-order=supports"], ["we agree"]),
            actor="t",
            now=reply.received_at,
        )
    import_files(engine, [write_person(tmp_path)], actor="t")
    with session_scope(engine, write=False) as session:
        data = export_person(session, "pm-lv-unny")
    assert [(letter["subject"], letter["state"]) for letter in data["letters"]] == [  # type: ignore[index]
        ("Appeal: end the blockade of the Lachin corridor", "replied")
    ]
    assert [message["kind"] for message in data["messages"]] == ["reply"]  # type: ignore[index]
    assert [(p["demand"], p["evidence"]) for p in data["positions"]] == [("icj-order", "we agree")]  # type: ignore[index]


def test_erase_scrubs_the_letters_and_the_mail_of_the_person(
    engine: Engine, tmp_path: Path
) -> None:
    from outreach.models import InboundMessage, Letter
    from tests.test_inbox import sent_letters, take_in

    letters = sent_letters(engine)
    reply = take_in(engine, "18-outlook-reply-supports-fact-finding.eml")
    import_files(engine, [write_person(tmp_path)], actor="t")
    with session_scope(engine) as session:
        erase_person(session, "pm-lv-unny", actor="dpo")
    with session_scope(engine, write=False) as session:
        letter = session.get(Letter, letters["p3n6r2w5cd"])
        message = session.get(InboundMessage, reply.id)
        assert letter is not None
        assert message is not None
        assert (letter.to_address, letter.mime, letter.state.value) == ("", b"", "replied")
        assert letter.recipient_key == hashed_subject("pm-lv-unny")
        assert (message.raw, message.text, message.sender) == (b"", None, None)


def write_person(tmp_path: Path) -> Path:
    """The Latvian mission of the inbound corpus, as a recipient file."""
    path = tmp_path / "person.csv"
    path.write_text(
        "key,kind,role,courtesy_title,gender,given_name,family_name,organisation,country,host_country,city,tz,email,languages\n"
        "pm-lv-unny,un_permanent_mission,permanent_representative,Ms,f,Līga,Piemēra,Permanent Mission of Latvia,LV,US,New York,America/New_York,mission.lv-unny@example.org,en\n",
        encoding="utf-8",
    )
    return path
