"""Tests of e-mail address parsing and the suppression comparison key."""

from __future__ import annotations

import pytest

from outreach.addresses import AddressError, WireAddress, address_key, encode_address, parse_address
from outreach.errors import InputError


def test_parse_lower_cases_the_domain_and_keeps_the_local_part() -> None:
    assert parse_address("Claire.Exemple@EXAMPLE.org") == "Claire.Exemple@example.org"


def test_parse_strips_surrounding_spaces() -> None:
    assert parse_address("  office@example.net ") == "office@example.net"


def test_parse_keeps_an_internationalised_domain_in_unicode() -> None:
    assert parse_address("zoe@EXÄMPLE.org") == "zoe@exämple.org"


def test_parse_rejects_a_double_at_sign_with_the_reason() -> None:
    with pytest.raises(AddressError) as caught:
        parse_address("ambassador.fr-am@@example.org")
    assert str(caught.value) == (
        '"ambassador.fr-am@@example.org" is not a valid e-mail address: '
        "The part after the @-sign contains invalid characters: '@'."
    )


def test_parse_rejects_a_header_injection() -> None:
    with pytest.raises(AddressError) as caught:
        parse_address("a@example.org\r\nBcc: victim@example.net")
    assert str(caught.value) == (
        "'a@example.org\\r\\nBcc: victim@example.net' contains a control character (U+000D): "
        "remove line breaks and other control characters"
    )


def test_parse_rejects_a_nul_character() -> None:
    with pytest.raises(AddressError, match=r"control character \(U\+0000\)"):
        parse_address("a\x00b@example.org")


def test_parse_rejects_an_empty_address() -> None:
    with pytest.raises(AddressError, match=r"^the e-mail address is empty$"):
        parse_address("   ")


def test_parse_rejects_a_display_name() -> None:
    with pytest.raises(AddressError, match="display name"):
        parse_address("Claire Exemple <claire@example.org>")


def test_address_error_is_an_input_error() -> None:
    assert issubclass(AddressError, InputError)
    assert AddressError("x").exit_code == 64


def test_key_lower_cases_the_whole_address() -> None:
    assert address_key("Claire.Exemple@Example.ORG") == "claire.exemple@example.org"


def test_key_uses_the_ascii_form_of_an_internationalised_domain() -> None:
    assert address_key("Office@Exämple.org") == "office@xn--exmple-cua.org"


def test_key_of_a_unicode_domain_equals_that_of_its_punycode_form() -> None:
    assert address_key("office@exämple.org") == address_key("OFFICE@xn--exmple-cua.org")


def test_key_keeps_a_unicode_local_part_lower_cased() -> None:
    assert address_key("Zoë@Exämple.org") == "zoë@xn--exmple-cua.org"


def test_key_rejects_an_invalid_address() -> None:
    with pytest.raises(AddressError, match="is not a valid e-mail address"):
        address_key("not-an-address")


def test_the_wire_form_of_an_idn_domain_is_punycode() -> None:
    assert encode_address("user@bücher.example") == WireAddress(
        "user@xn--bcher-kva.example", smtputf8=False
    )


def test_the_wire_form_keeps_the_case_of_the_local_part() -> None:
    assert encode_address("Claire.Exemple@EXAMPLE.org") == WireAddress(
        "Claire.Exemple@example.org", smtputf8=False
    )


def test_a_non_ascii_local_part_needs_smtputf8_and_its_domain_is_still_punycode() -> None:
    assert encode_address("Zoë@Bücher.example") == WireAddress(
        "Zoë@xn--bcher-kva.example", smtputf8=True
    )


def test_the_wire_form_refuses_an_invalid_address() -> None:
    with pytest.raises(AddressError, match="is not a valid e-mail address"):
        encode_address("user@bücher..example")
