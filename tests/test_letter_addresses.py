"""Letters carry addresses as the world writes them: IDN domains in punycode, SMTPUTF8 on demand."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from outreach.config import Settings
from outreach.errors import LetterError
from outreach.letter import Composer
from outreach.recipients.record import RecipientKind, RecipientRecord, Role

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def composer(sender: str = "appeal@outreach.example.org", *, smtputf8: bool = False) -> Composer:
    return Composer.load(
        Settings(
            paths={"templates": str(TEMPLATES)},
            sender={"name": "Appeal Campaign", "address": sender},
            smtp={"smtputf8": smtputf8},
        )
    )


def office(email_address: str) -> RecipientRecord:
    return RecipientRecord(
        key="emb-de-am",
        kind=RecipientKind.EMBASSY,
        role=Role.OFFICE,
        organisation="Botschaft der Bundesrepublik Deutschland Eriwan",
        tz="Asia/Yerevan",
        email=email_address,
        languages=("en",),
    )


def header_lines(mime: bytes) -> dict[str, bytes]:
    """The raw header lines of a message, unfolded, by name."""
    head = mime.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")
    return {line.split(b":", 1)[0]: line for line in head.split(b"\r\n")}


def parsed(mime: bytes) -> EmailMessage:
    # Read as text: the bytes parser would keep the UTF-8 of RFC 6532 headers as surrogates.
    message = email.message_from_string(mime.decode("utf-8"), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_an_idn_recipient_domain_is_punycode_in_the_to_header() -> None:
    letter = composer().compose(office("kanzlei@bücher.example"))
    assert letter.to_address == "kanzlei@xn--bcher-kva.example"
    assert header_lines(letter.mime)[b"To"] == (
        b"To: Botschaft der Bundesrepublik Deutschland Eriwan <kanzlei@xn--bcher-kva.example>"
    )


def test_an_idn_sender_domain_is_punycode_in_from_reply_to_and_message_id() -> None:
    letter = composer("appeal@bücher.example").compose(office("office@example.org"), token="tok")
    lines = header_lines(letter.mime)
    assert lines[b"From"] == b"From: Appeal Campaign <appeal@xn--bcher-kva.example>"
    assert lines[b"Reply-To"] == b"Reply-To: appeal+tok@xn--bcher-kva.example"
    assert letter.message_id.endswith("@xn--bcher-kva.example>")
    assert letter.mime.isascii()


def test_a_non_ascii_local_part_without_smtputf8_is_a_problem_naming_the_recipient() -> None:
    with pytest.raises(LetterError) as refused:
        composer().compose(office("zoë@example.org"))
    assert str(refused.value) == (
        "emb-de-am: the address zoë@example.org has a non-ASCII local part, which only a relay "
        "offering SMTPUTF8 (RFC 6531) can carry: record an ASCII address "
        "(`outreach recipients set emb-de-am email=...`), or set smtp.smtputf8 = true if your "
        "relay offers SMTPUTF8"
    )


def test_a_non_ascii_sender_local_part_without_smtputf8_is_a_problem() -> None:
    with pytest.raises(LetterError, match=r"^sender\.address zoë@example\.org has a non-ASCII"):
        composer("zoë@example.org").compose(office("office@example.org"))


def test_with_smtputf8_the_letter_to_a_non_ascii_local_part_has_utf8_headers() -> None:
    letter = composer(smtputf8=True).compose(office("Zoë@Bücher.example"))
    assert letter.to_address == "Zoë@xn--bcher-kva.example"
    assert (
        header_lines(letter.mime)[b"To"]
        == (
            "To: Botschaft der Bundesrepublik Deutschland Eriwan <Zoë@xn--bcher-kva.example>"
        ).encode()
    )  # RFC 6532: UTF-8 as it is, no encoded-word
    message = parsed(letter.mime)
    assert message["To"].addresses[0].addr_spec == "Zoë@xn--bcher-kva.example"
    assert {part["Content-Transfer-Encoding"] for part in message.walk()} - {None} == {
        "quoted-printable"
    }


def test_with_smtputf8_an_ascii_letter_stays_ascii() -> None:
    letter = composer(smtputf8=True).compose(office("kanzlei@bücher.example"))
    assert letter.mime.isascii()
