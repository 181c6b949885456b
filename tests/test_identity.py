"""How a person is found in stored text and bytes: every spelling, and nobody else's."""

from __future__ import annotations

from outreach.identity import ERASED, hashed_subject, identity_of

IDN = identity_of(
    "pm-lv-unny",
    ["liga.piemera@ārlietas.example"],
    given_name="Līga",
    family_name="Piemēra",
    courtesy_title="Ms",
)
PUNYCODE = "liga.piemera@xn--rlietas-r3a.example"


def test_the_punycode_form_of_an_idn_address_is_one_of_its_spellings() -> None:
    assert IDN.address_keys() == {PUNYCODE}


def test_an_address_is_found_in_any_case_and_in_either_form() -> None:
    for text in (
        "550 5.1.1 <LIGA.PIEMERA@XN--RLIETAS-R3A.EXAMPLE>: user unknown",
        "Final-Recipient: rfc822; Liga.Piemera@ĀRLIETAS.example",
        "write to liga.piemera@ārlietas.example.",
    ):
        assert ERASED in IDN.redact(text)
        assert "piemera@" not in IDN.redact(text).casefold()


def test_an_address_inside_a_longer_one_is_someone_else_s() -> None:
    for text in (
        "anna.liga.piemera@ārlietas.example",
        "liga.piemera@ārlietas.example.org",
        "liga.piemera+news@ārlietas.example",
    ):
        assert IDN.redact(text) == text


def test_the_key_is_found_whole_and_becomes_the_pseudonym() -> None:
    assert IDN.redact("key=pm-lv-unny\nkey=pm-lv-unny-2") == (
        f"key={hashed_subject('pm-lv-unny')}\nkey=pm-lv-unny-2"
    )


def test_the_full_name_is_found_across_a_line_break_and_without_accents() -> None:
    assert IDN.redact("signed LĪGA\n  PIEMĒRA, and Liga Piemera, and Ms. Piemēra") == (
        f"signed {ERASED}, and {ERASED}, and {ERASED}"
    )


def test_a_name_alone_is_taken_out_only_where_everything_goes() -> None:
    text = "Piemēras kundze, Banana"
    assert IDN.redact(text) == text
    assert IDN.redact(text, everything=True) == f"{ERASED}s kundze, Banana"


def test_names_are_left_where_a_namesake_may_be_meant() -> None:
    text = "Līga Piemēra <liga.piemera@ārlietas.example>"
    assert IDN.redact(text, with_names=False) == f"Līga Piemēra <{ERASED}>"


def test_a_literal_mention_in_a_message_is_replaced_in_its_bytes() -> None:
    raw = f"From: a@b.example\r\nCc: {PUNYCODE.upper()}\r\n\r\nSee Līga Piemēra.\r\n".encode()
    assert IDN.redact_message(raw) == b"From: a@b.example\r\nCc: [erased]\r\n\r\nSee [erased].\r\n"


def test_a_message_naming_them_only_in_an_encoded_form_cannot_be_kept() -> None:
    raw = (
        b"From: a@b.example\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nSee L=C4=ABga Piem=C4=93ra.\r\n"
    )
    assert IDN.message_names(raw)
    assert IDN.redact_message(raw) == b""


def test_a_message_that_does_not_name_them_is_left_as_it_is() -> None:
    raw = b"From: a@b.example\r\nSubject: =?utf-8?q?L=C4=ABga?=\r\n\r\nThanks, Anna\r\n"
    assert not IDN.message_names(raw)
    assert IDN.redact_message(raw) == raw
