"""Personal data: export everything held about a person; erase it leaving only a hash."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.db import session_scope
from outreach.errors import NotFoundError, StateError
from outreach.inbox.record import ingest
from outreach.models import (
    Attempt,
    AttemptOutcome,
    AuditEvent,
    InboundMessage,
    Letter,
    LetterState,
    Recipient,
    Suppression,
    SuppressionSource,
)
from outreach.privacy import erase_person, export_person, hashed_subject
from outreach.recipients.edit import edit_recipient
from outreach.recipients.importer import import_files
from outreach.suppression import address_hash, is_suppressed, suppress, unsuppress
from tests import factory

REPO = Path(__file__).resolve().parent.parent

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


# --- what belongs to a person, and what an erasure leaves -----------------------------------

LV = "pm-lv-unny"
LV_EMAIL = "mission.lv-unny@example.org"
NOW = dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)
SETTINGS = Settings(sender={"address": "appeal@outreach.example.org"})


def take(engine: Engine, text: str) -> int:
    """Take in one message written inline; returns its id."""
    raw = text.replace("\n", "\r\n").encode("utf-8")
    with session_scope(engine) as session:
        return ingest(session, raw, "eml:inline.eml", SETTINGS, now=NOW).id


def message(engine: Engine, message_id: int) -> InboundMessage:
    with session_scope(engine, write=False) as session:
        row = session.get(InboundMessage, message_id)
        assert row is not None
        return row


def recipient_of(engine: Engine, key: str) -> tuple[int, str]:
    with session_scope(engine, write=False) as session:
        row = session.exec(select(Recipient).where(Recipient.key == key)).one()
        assert row.id is not None
        return row.id, row.key


def bounce(*addresses: str) -> str:
    """A delivery status notification (RFC 3464) for these addresses, without the original."""
    reports = "\n".join(
        f"Final-Recipient: rfc822; {address}\nAction: failed\nStatus: 5.1.1\n"
        for address in addresses
    )
    return (
        "From: MAILER-DAEMON@mx.example.net\nTo: appeal@outreach.example.org\n"
        "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn.1@mx.example.net>\n"
        "Auto-Submitted: auto-replied\nMIME-Version: 1.0\nContent-Type: multipart/report; "
        'report-type=delivery-status; boundary="B"\n\n--B\nContent-Type: text/plain\n\n'
        "Your message could not be delivered.\n\n--B\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; mx.example.net\n\n{reports}\n--B--\n"
    )


def plain(sender: str, body: str, *, cc: str = "", message_id: str = "m.1@example.net") -> str:
    """A plain message that answers none of our letters."""
    copy = f"Cc: {cc}\n" if cc else ""
    return (
        f"From: {sender}\nTo: appeal@outreach.example.org\n{copy}Subject: A question\n"
        f"Message-ID: <{message_id}>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"{body}\n"
    )


def test_export_holds_mail_from_their_address_that_matched_no_letter(loaded: Engine) -> None:
    take(loaded, plain("Līga Piemēra <MISSION.LV-UNNY@EXAMPLE.ORG>", "Could we meet?"))
    with session_scope(loaded, write=False) as session:
        data = export_person(session, LV)
    assert [(m["sender"], m["text"], m["letter"]) for m in data["messages"]] == [  # type: ignore[index]
        (LV_EMAIL, "Could we meet?", None)
    ]


def test_export_holds_a_bounce_that_names_their_address(loaded: Engine) -> None:
    take(loaded, bounce(LV_EMAIL.upper()))
    with session_scope(loaded, write=False) as session:
        data = export_person(session, LV)
    assert [(m["kind"], m["bounce_addresses"]) for m in data["messages"]] == [  # type: ignore[index]
        ("bounce", [LV_EMAIL])
    ]


def test_erase_takes_their_address_out_of_a_bounce_and_keeps_the_others(loaded: Engine) -> None:
    bounced = take(loaded, bounce(LV_EMAIL, "hc-office@example.org"))
    with session_scope(loaded) as session:
        erase_person(session, LV, actor="dpo")
    row = message(loaded, bounced)
    assert (row.kind.value, row.bounce_addresses, row.raw) == (
        "bounce",
        "hc-office@example.org",
        b"",
    )


def test_erase_takes_their_address_out_of_the_server_s_words(loaded: Engine) -> None:
    words = f"5.1.1 <{LV_EMAIL.upper()}>: Recipient address rejected: User unknown"
    [letter_id] = factory.letters(
        loaded,
        None,
        1,
        to=(LV_EMAIL,),
        recipient=recipient_of(loaded, LV),
        state=LetterState.FAILED,
    )
    with session_scope(loaded) as session:
        session.execute(
            sa.update(Letter).where(col(Letter.id) == letter_id).values(last_error=f"550 {words}")
        )
        session.add(
            Attempt(
                letter_id=letter_id,
                domain="example.org",
                started_at=NOW,
                outcome=AttemptOutcome.FAILED,
                smtp_code=550,
                enhanced_code="5.1.1",
                reply=words,
                worker="w1",
            )
        )
    with session_scope(loaded) as session:
        erase_person(session, LV, actor="dpo")
    with session_scope(loaded, write=False) as session:
        letter = session.get(Letter, letter_id)
        attempt = session.exec(select(Attempt)).one()
    assert letter is not None
    assert (letter.state, letter.last_error, attempt.reply) == (
        LetterState.FAILED,
        "550 5.1.1 <[erased]>: Recipient address rejected: User unknown",
        "5.1.1 <[erased]>: Recipient address rejected: User unknown",
    )


def test_erase_leaves_only_a_neutral_reason_on_the_suppression(loaded: Engine) -> None:
    with session_scope(loaded) as session:
        suppress(
            session,
            LV_EMAIL,
            reason="Ms Piemēra asked us to stop",
            source=SuppressionSource.REQUEST,
            actor="t",
        )
    with session_scope(loaded) as session:
        erase_person(session, LV, actor="dpo")
    with session_scope(loaded, write=False) as session:
        entry = session.exec(select(Suppression)).one()
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "suppress")).one()
    assert (entry.address, entry.reason, entry.source) == (
        None,
        "personal data erased",
        SuppressionSource.ERASURE,
    )
    assert (event.subject, event.detail) == (hashed_subject(LV), "{}")


def test_erase_withdraws_their_letters_not_yet_sent(loaded: Engine) -> None:
    [letter_id] = factory.letters(
        loaded, None, 1, to=(LV_EMAIL,), recipient=recipient_of(loaded, LV)
    )
    with session_scope(loaded) as session:
        erase_person(session, LV, actor="dpo")
    with session_scope(loaded, write=False) as session:
        letter = session.get(Letter, letter_id)
    assert letter is not None
    assert (letter.state, letter.reason, letter.mime) == (
        LetterState.SUPPRESSED,
        "personal data erased",
        b"",
    )


def test_erase_takes_them_out_of_a_colleague_s_message_and_keeps_the_rest(
    loaded: Engine,
) -> None:
    colleague = take(
        loaded,
        plain(
            "Jonas Example <hc-office@example.org>",
            "As Līga Piemēra said, we support the mission.",
            cc=f"Līga Piemēra <{LV_EMAIL}>",
        ),
    )
    with session_scope(loaded) as session:
        erased = erase_person(session, LV, actor="dpo")
    row = message(loaded, colleague)
    assert erased.messages == 0  # the message is the colleague's, not theirs
    assert (row.sender, row.text) == (
        "hc-office@example.org",
        "As [erased] said, we support the mission.",
    )
    assert b"Cc: [erased] <[erased]>\r\n" in row.raw
    assert b"Jonas Example <hc-office@example.org>" in row.raw


def test_a_namesake_keeps_the_name_in_their_own_mail(loaded: Engine, tmp_path: Path) -> None:
    namesake = write_person(tmp_path).read_text("utf-8").replace("pm-lv-unny", "pm-lv-other")
    path = tmp_path / "namesake.csv"
    path.write_text(namesake.replace(LV_EMAIL, "other.lv@example.org").replace("Līga", "Anna"))
    import_files(loaded, [path], actor="t")
    theirs = take(
        loaded, plain("other.lv@example.org", f"Ms Piemēra here ({LV_EMAIL} is my sister).")
    )
    with session_scope(loaded) as session:
        erase_person(session, LV, actor="dpo")
    assert message(loaded, theirs).text == "Ms Piemēra here ([erased] is my sister)."


def test_an_address_another_recipient_has_is_kept_and_not_suppressed(loaded: Engine) -> None:
    with session_scope(loaded) as session:
        edit_recipient(session, "un-ohchr-hc", {"email": LV_EMAIL}, actor="t", now=NOW)
    # A letter to them spells it otherwise: it is the same mailbox.
    factory.letters(loaded, None, 1, to=(LV_EMAIL.upper(),), recipient=recipient_of(loaded, LV))
    with session_scope(loaded) as session:
        erased = erase_person(session, LV, actor="dpo")
    with session_scope(loaded, write=False) as session:
        assert not is_suppressed(session, LV_EMAIL)
        assert export_person(session, "un-ohchr-hc")["recipient"]["email"] == LV_EMAIL  # type: ignore[index]
    assert (erased.digest, erased.kept) == (None, ((LV_EMAIL, "un-ohchr-hc"),))


def test_an_idn_address_is_erased_in_both_its_forms(loaded: Engine) -> None:
    unicode_form, ascii_form = "liga@ārlietas.example", "liga@xn--rlietas-r3a.example"
    with session_scope(loaded) as session:
        edit_recipient(session, LV, {"email": unicode_form}, actor="t", now=NOW)
    take(loaded, plain(f"Liga <{unicode_form.upper()}>", "Hello", message_id="m.2@example.net"))
    take(loaded, bounce(ascii_form.upper()))  # a DSN names it in ASCII (RFC 3464)
    with session_scope(loaded) as session:
        erased = erase_person(session, LV, actor="dpo")
    held = stored_text(loaded).casefold()
    assert (erased.messages, unicode_form in held, ascii_form in held) == (2, False, False)


def stored_text(engine: Engine) -> str:
    """Every text and binary value of every table, as one text (binary decoded as UTF-8)."""
    values = []
    metadata = sa.MetaData()
    with engine.connect() as connection:
        metadata.reflect(bind=connection)
        for table in metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        values.append(bytes(value).decode("utf-8", "replace"))
                    elif isinstance(value, str):
                        values.append(value)
    return "\n".join(values)


def test_erasure_names_the_records_of_others_that_name_the_person(
    engine: Engine, tmp_path: Path
) -> None:
    files = [REPO / "recipients" / "diplomats.csv", REPO / "recipients" / "un-and-eu.yaml"]
    assert import_files(engine, files, actor="t").committed
    with session_scope(engine) as session:
        erasure = erase_person(session, "mep-999001", actor="t")
    # Her office is staff's record of someone else: said, not changed.
    assert erasure.named_by == (("mep-999001-office", "organisation"),)
    with Session(engine) as session:
        office = session.exec(select(Recipient).where(Recipient.key == "mep-999001-office")).one()
    assert office.organisation == "Office of Marie Exemple-Durand MEP, European Parliament"


def test_a_role_key_s_next_holder_is_not_given_the_previous_holder_s_letters(
    loaded: Engine,
) -> None:
    key, old = "emb-fr-am-head", "ambassador.fr-am@example.org"
    with session_scope(loaded) as session:
        row = session.exec(select(Recipient).where(Recipient.key == key)).one()
        assert row.id is not None
        recipient = (row.id, key)
    campaign = factory.campaign(loaded)
    letter = b"To: Claire Exemple <ambassador.fr-am@example.org>\r\n\r\nMadame l'Ambassadrice,\r\n"
    [theirs_before] = factory.letters(
        loaded, campaign, 1, to=(old,), recipient=recipient, mime=letter, state=LetterState.SENT
    )
    with session_scope(loaded) as session:  # the next ambassador, under the same key
        edit_recipient(
            session,
            key,
            {"given_name": "Jean", "family_name": "Dupont", "email": "jean.dupont@example.org"},
            actor="t",
            now=factory.T0,
        )
    [successor] = factory.letters(
        loaded, campaign, 1, to=("jean.dupont@example.org",), recipient=recipient, prefix="s"
    )
    with session_scope(loaded, write=False) as session:
        exported = export_person(session, key)
    assert [entry["id"] for entry in exported["letters"]] == [successor]  # type: ignore[index]
    with session_scope(loaded) as session:
        erase_person(session, key, actor="dpo")
    with session_scope(loaded, write=False) as session:
        kept = session.get(Letter, theirs_before)
        assert kept is not None
        assert (kept.mime, kept.to_address) == (letter, old)
