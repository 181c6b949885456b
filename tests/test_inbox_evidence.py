"""Evidence before effect: forged reports and strangers' replies change nothing until confirmed.

Each attack is taken in through the real ingest path against the corpus's sent letters, then
checked for no effect at all: no suppression, every letter in its state, every report figure as
before, no coding. Then a person confirms, and the deferred effect happens, audited.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.db import session_scope
from outreach.errors import StateError
from outreach.inbox.manual import confirm_match, reject_match
from outreach.inbox.record import ingest
from outreach.models import (
    AuditEvent,
    Campaign,
    InboundMessage,
    Letter,
    LetterState,
    MatchMethod,
    MatchStrength,
    Stance,
    Suppression,
)
from outreach.positions import Coding, code_reply
from outreach.reports.data import build_report
from tests.forged_mail import forged_dsn, stranger_reply, token_address
from tests.test_inbox import NOW, SETTINGS, sent_letters, take_in
from tests.test_positions import APPEAL

# Two letters of the corpus (tests/data/inbound/letters.yaml).
A_TOKEN, A_ID = "k7m2q9x4ab", "<c094587dab8ecb4fcf74b7060e67ca0b@outreach.example.org>"
A_ADDRESS = "ambassador.fr-am@example.org"
B_ADDRESS = "mission.lv-unny@example.org"
B_ID = "<f002165d0ffd6bcf7ca4bcf9af4aae2a@outreach.example.org>"


@dataclass(frozen=True)
class Attack:
    """A hostile message, what the suggestion must say, and what confirming it then does."""

    raw: bytes
    why: str  # in the reason shown to staff
    confirmed: LetterState  # the state of letter A once a person confirms


ATTACKS = {
    "forged DSN to our plain address": Attack(
        forged_dsn(A_ADDRESS),
        "carries no token or Message-ID of our letter",
        LetterState.BOUNCED,
    ),
    "DSN to A's token naming B": Attack(
        forged_dsn(B_ADDRESS, to=token_address(A_TOKEN)),
        f"bounce names another address: {B_ADDRESS}, not {A_ADDRESS}",
        LetterState.BOUNCED,
    ),
    "stranger to A's token address": Attack(
        stranger_reply(to=token_address(A_TOKEN)),
        f"sender press-office@example.net differs from the recipient {A_ADDRESS}",
        LetterState.REPLIED,
    ),
    "stranger with In-Reply-To A's Message-ID": Attack(
        stranger_reply(in_reply_to=A_ID),
        f"sender press-office@example.net differs from the recipient {A_ADDRESS}",
        LetterState.REPLIED,
    ),
}


@dataclass(frozen=True)
class Effects:
    """Everything a message could change: suppressions, letter states, report figures."""

    suppressed: frozenset[str]
    states: dict[int, LetterState]
    figures: tuple[object, ...]


def effects(engine: Engine) -> Effects:
    """What is suppressed, each letter's state and every figure of the campaign's report."""
    with session_scope(engine, write=False) as session:
        campaign = session.exec(select(Campaign).where(Campaign.name == "test")).one()
        report = build_report(session, campaign, today=NOW.date(), now=NOW)
        return Effects(
            frozenset(session.exec(select(Suppression.address_hash)).all()),
            {letter.id: letter.state for letter in session.exec(select(Letter)) if letter.id},
            (
                report.funnel,
                report.positions,
                report.matrix,
                report.silent,
                report.median_days_to_reply,
                report.timeline,
            ),
        )


def take(engine: Engine, raw: bytes, settings: Settings = SETTINGS) -> InboundMessage:
    """Take one message in through the ingest path; its stored row."""
    with session_scope(engine) as session:
        result = ingest(session, raw, "eml:attack", settings, now=NOW)
        row = session.get(InboundMessage, result.id)
        assert row is not None
        return row


def audited(engine: Engine, action: str) -> list[tuple[str, str]]:
    """(actor, subject) of the audit events of `action`."""
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [(row.actor, row.subject) for row in rows]


@pytest.fixture
def letters(engine: Engine) -> dict[str, int]:
    """The corpus's letters, sent; ids by token and Message-ID."""
    return sent_letters(engine)


@pytest.mark.parametrize("name", list(ATTACKS))
def test_the_attack_has_no_effect_until_confirmed(
    engine: Engine, letters: dict[str, int], name: str
) -> None:
    attack = ATTACKS[name]
    before = effects(engine)
    row = take(engine, attack.raw)
    assert effects(engine) == before
    assert (row.letter_id, row.match_strength) == (letters[A_TOKEN], MatchStrength.FOR_REVIEW)
    assert attack.why in row.match_note
    assert row.review


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_person_s_confirmation_applies_the_deferred_effect_and_is_audited(
    engine: Engine, letters: dict[str, int], name: str
) -> None:
    attack = ATTACKS[name]
    row = take(engine, attack.raw)
    assert row.id is not None
    before = effects(engine)
    with session_scope(engine) as session:
        confirm_match(session, row.id, SETTINGS, actor="staff", now=NOW)
    after = effects(engine)
    assert after.states[letters[A_TOKEN]] is attack.confirmed
    if attack.confirmed is LetterState.BOUNCED:
        assert len(after.suppressed - before.suppressed) == 1
    else:
        assert after.figures != before.figures  # counted as a reply now
    assert audited(engine, "reply.confirm") == [("staff", str(row.id))]
    with Session(engine) as session:
        stored = session.get(InboundMessage, row.id)
        assert stored is not None
        assert (stored.match_strength, stored.review) == (MatchStrength.CONFIRMED, False)


def test_a_stranger_s_reply_cannot_be_coded_before_it_is_confirmed(
    engine: Engine, letters: dict[str, int]
) -> None:
    row = take(engine, ATTACKS["stranger to A's token address"].raw)
    assert row.id is not None
    before = effects(engine)
    coding = Coding("un-fact-finding", Stance.DECLINES, "we oppose")
    with pytest.raises(StateError) as refused, session_scope(engine) as session:
        code_reply(session, row.id, APPEAL, [coding], actor="staff", now=NOW)
    assert str(refused.value).startswith(
        f"message {row.id} is matched to letter {letters[A_TOKEN]} for review only (sender "
        "press-office@example.net differs from the recipient ambassador.fr-am@example.org): "
        f"confirm that it speaks for the recipient first with `outreach replies confirm {row.id}`"
    )
    assert effects(engine) == before


def test_rejecting_a_suggestion_unmatches_it_changes_nothing_and_is_audited(
    engine: Engine, letters: dict[str, int]
) -> None:
    row = take(engine, ATTACKS["forged DSN to our plain address"].raw)
    assert row.id is not None
    before = effects(engine)
    with session_scope(engine) as session:
        reject_match(session, row.id, actor="staff", now=NOW)
    assert effects(engine) == before
    with Session(engine) as session:
        stored = session.get(InboundMessage, row.id)
        assert stored is not None
        assert (stored.letter_id, stored.match_method, stored.match_strength) == (None, None, None)
        assert stored.match_note.startswith(f"not about letter {letters[A_TOKEN]}, said staff")
    assert audited(engine, "reply.reject") == [("staff", str(row.id))]


def test_a_verified_match_is_no_suggestion_to_confirm_or_reject(
    engine: Engine, letters: dict[str, int]
) -> None:
    genuine = take_in(engine, "19-outlook-web-html-only-declines.eml")
    assert genuine.id is not None
    assert genuine.match_strength is MatchStrength.VERIFIED
    for verb, call in (
        ("confirm", lambda s: confirm_match(s, genuine.id, SETTINGS, actor="staff", now=NOW)),
        ("reject", lambda s: reject_match(s, genuine.id, actor="staff", now=NOW)),
    ):
        with pytest.raises(StateError) as refused, session_scope(engine) as session:
            call(session)
        assert f"is verified for letter {genuine.letter_id}, not a suggestion" in str(refused.value)
        assert f"nothing to {verb}" in str(refused.value)


def test_forged_temporary_failures_never_add_up_to_a_suppression(
    engine: Engine, letters: dict[str, int]
) -> None:
    before = effects(engine)
    for number in range(SETTINGS.inbox.soft_bounce_limit + 1):
        raw = forged_dsn(A_ADDRESS, number=number, status="4.2.2", action="delayed")
        assert take(engine, raw).match_strength is MatchStrength.FOR_REVIEW
    assert effects(engine) == before


def test_a_returned_original_of_another_letter_is_a_suggestion(
    engine: Engine, letters: dict[str, int]
) -> None:
    before = effects(engine)
    row = take(engine, forged_dsn(A_ADDRESS, to=token_address(A_TOKEN), original=B_ID))
    assert row.match_strength is MatchStrength.FOR_REVIEW
    assert f"the returned original is letter {letters[B_ID]}" in row.match_note
    assert effects(engine) == before


def test_a_genuine_bounce_to_the_token_naming_the_letter_s_address_takes_effect_at_once(
    engine: Engine, letters: dict[str, int]
) -> None:
    row = take(engine, forged_dsn(A_ADDRESS, to=token_address(A_TOKEN), original=A_ID))
    assert (row.match_method, row.match_strength) == (MatchMethod.TOKEN, MatchStrength.VERIFIED)
    assert effects(engine).states[letters[A_TOKEN]] is LetterState.BOUNCED


def test_a_genuine_reply_from_the_recipient_takes_effect_at_once(
    engine: Engine, letters: dict[str, int]
) -> None:
    row = take(engine, stranger_reply(to=token_address(A_TOKEN), sender=A_ADDRESS))
    assert row.match_strength is MatchStrength.VERIFIED
    assert row.match_note == "our token, from the recipient's address"
    assert effects(engine).states[letters[A_TOKEN]] is LetterState.REPLIED


def test_a_colleague_at_a_trusted_domain_answers_for_the_institution(
    engine: Engine, letters: dict[str, int]
) -> None:
    colleague = stranger_reply(to=token_address(A_TOKEN), sender="conseiller@example.org")
    trusted = Settings(
        sender=SETTINGS.sender.model_dump(),
        inbox={"trusted_domains": {"example.org": ["Example.ORG"]}},
    )
    row = take(engine, colleague, trusted)
    assert row.match_strength is MatchStrength.VERIFIED
    assert row.match_note == f"our token, from example.org, trusted to answer for {A_ADDRESS}"
    assert effects(engine).states[letters[A_TOKEN]] is LetterState.REPLIED


def test_a_colleague_without_trust_configured_is_only_a_suggestion(
    engine: Engine, letters: dict[str, int]
) -> None:
    before = effects(engine)
    row = take(engine, stranger_reply(to=token_address(A_TOKEN), sender="conseiller@example.org"))
    assert row.match_strength is MatchStrength.FOR_REVIEW
    assert effects(engine) == before


def test_every_listed_author_must_speak_for_the_recipient(
    engine: Engine, letters: dict[str, int]
) -> None:
    # RFC 5322 allows several addresses in From: the recipient's beside a stranger's is no proof.
    raw = stranger_reply(to=token_address(A_TOKEN)).replace(
        b"From: Foreign Ministry <press-office@example.net>",
        f"From: <{A_ADDRESS}>, <press-office@example.net>".encode(),
    )
    before = effects(engine)
    assert take(engine, raw).match_strength is MatchStrength.FOR_REVIEW
    assert effects(engine) == before


def matched_after(engine: Engine) -> list[tuple[int | None, MatchStrength | None]]:
    with Session(engine) as session:
        rows = session.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all()
        return [(row.letter_id, row.match_strength) for row in rows]


def test_confirming_with_another_letter_matches_it_by_hand(
    engine: Engine, letters: dict[str, int]
) -> None:
    row = take(engine, ATTACKS["stranger to A's token address"].raw)
    assert row.id is not None
    other = letters[B_ID]
    with session_scope(engine) as session:
        confirm_match(session, row.id, SETTINGS, actor="staff", now=NOW, letter_id=other)
    assert matched_after(engine) == [(other, MatchStrength.CONFIRMED)]
    assert effects(engine).states[other] is LetterState.REPLIED
    assert effects(engine).states[letters[A_TOKEN]] is LetterState.SENT
    assert audited(engine, "reply.match") == [("staff", str(row.id))]


def test_rows_taken_in_before_the_checks_keep_their_effects_and_weak_ones_await_review(
    db_url: str,
) -> None:
    from alembic import command

    from outreach.db import alembic_config, make_engine, upgrade

    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0006")
    letters = sent_letters(engine)
    rows = {"token": "token", "manual": "manual", "sender": "sender", "coded": "sender"}
    with engine.begin() as connection:
        for key, method in [*rows.items(), ("unmatched", None)]:
            connection.execute(
                sa.text(
                    "INSERT INTO inbound_message (dedup_key, raw, source, received_at, kind,"
                    " reason, review, quarantined, subject, bounce_addresses, reused_message_id,"
                    " letter_id, match_method)"
                    " VALUES (:key, '', 'eml', :now, 'reply', 'human reply', false, false, '', '',"
                    " false, :letter, :method)"
                ),
                {"key": key, "now": NOW, "letter": letters[A_TOKEN] if method else None,
                 "method": method},
            )  # fmt: skip
        connection.execute(
            sa.text(
                "INSERT INTO position (inbound_id, letter_id, demand_key, stance, evidence,"
                " current, coded_by, coded_at) SELECT id, letter_id, 'icj-order', 'supports', '',"
                " true, 'staff', :now FROM inbound_message WHERE dedup_key = 'coded'"
            ),
            {"now": NOW},
        )
    upgrade(engine)
    with Session(engine) as session:
        found = {
            row.dedup_key: (row.match_strength, row.review)
            for row in session.exec(select(InboundMessage))
        }
    assert found == {
        "token": (MatchStrength.VERIFIED, False),
        "manual": (MatchStrength.CONFIRMED, False),
        "sender": (MatchStrength.FOR_REVIEW, True),
        "coded": (MatchStrength.CONFIRMED, False),
        "unmatched": (None, False),
    }
    engine.dispose()


SERVER = "mx.outreach.example.org"
DMARC = Settings(sender=SETTINGS.sender.model_dump(), inbox={"trusted_authserv_id": SERVER.upper()})
RECEIVED = "Received: from mx.example.net by mx.outreach.example.org; Tue, 10 Mar 2026\r\n"


def results(server: str, dmarc: str, domain: str = "example.org") -> str:
    """An Authentication-Results field (RFC 8601) as a receiving server writes it."""
    return (
        f"Authentication-Results: {server} 1; spf=pass smtp.mailfrom={domain};\r\n"
        f" dkim=pass header.d={domain}; dmarc={dmarc} (p=reject dis=none) header.from={domain}\r\n"
    )


def from_the_recipient_without_token(headers: str) -> bytes:
    """A's own address writing to our plain address, threaded to nothing: matched by sender."""
    return stranger_reply(sender=A_ADDRESS, headers=headers)


def test_dmarc_pass_from_our_server_verifies_the_recipient_writing_without_a_token(
    engine: Engine, letters: dict[str, int]
) -> None:
    row = take(engine, from_the_recipient_without_token(results(SERVER, "pass") + RECEIVED), DMARC)
    assert (row.match_method, row.match_strength) == (MatchMethod.SENDER, MatchStrength.VERIFIED)
    assert f"DMARC pass at {SERVER}" in row.match_note
    assert effects(engine).states[letters[A_TOKEN]] is LetterState.REPLIED


@pytest.mark.parametrize(
    "headers",
    [
        "",  # no authentication at all
        # Written by the sender, below the field our server added (which says nothing of it).
        # A server that adds none must remove such fields itself (RFC 8601 §5): see the docs.
        results(SERVER, "none") + RECEIVED + results(SERVER, "pass"),
        results("mx.example.net", "pass") + RECEIVED,  # another server's word
        results(SERVER, "pass", domain="example.net") + RECEIVED,  # another domain passed
    ],
    ids=["none", "forged-below-ours", "other-server", "other-domain"],
)
def test_without_our_server_s_dmarc_pass_the_sender_alone_is_a_suggestion(
    engine: Engine, letters: dict[str, int], headers: str
) -> None:
    before = effects(engine)
    row = take(engine, from_the_recipient_without_token(headers), DMARC)
    assert row.match_strength is MatchStrength.FOR_REVIEW
    assert "matched by the sender's address only" in row.match_note
    assert effects(engine) == before


def test_dmarc_fail_sends_even_a_matching_sender_to_review(
    engine: Engine, letters: dict[str, int]
) -> None:
    spoofed = stranger_reply(
        to=token_address(A_TOKEN), sender=A_ADDRESS, headers=results(SERVER, "fail") + RECEIVED
    )
    before = effects(engine)
    row = take(engine, spoofed, DMARC)
    assert row.match_strength is MatchStrength.FOR_REVIEW
    assert row.match_note == (
        f"DMARC fail for example.org at {SERVER}: the From address may be forged"
    )
    assert effects(engine) == before


def test_without_a_trusted_server_authentication_results_are_not_read(
    engine: Engine, letters: dict[str, int]
) -> None:
    row = take(engine, from_the_recipient_without_token(results(SERVER, "pass") + RECEIVED))
    assert row.match_strength is MatchStrength.FOR_REVIEW
