"""Tests of the validation of one recipient row: one rule per test, exact messages."""

from __future__ import annotations

import datetime as dt

import pytest

from outreach.errors import Problem
from outreach.recipients.record import (
    Gender,
    Membership,
    MembershipRole,
    RecipientKind,
    RecipientRecord,
    RecipientStatus,
    Role,
)
from outreach.recipients.validation import ROLES_BY_KIND, validate_row

AMBASSADOR: dict[str, object] = {
    "key": "emb-fr-am-head",
    "kind": "embassy",
    "role": "ambassador",
    "courtesy_title": "Ms",
    "gender": "f",
    "given_name": "Claire",
    "family_name": "Exemple",
    "organisation": "Embassy of France in Armenia",
    "country": "FR",
    "host_country": "AM",
    "city": "Yerevan",
    "tz": "Asia/Yerevan",
    "email": "ambassador.fr-am@example.org",
    "languages": "fr|en",
}


def record(**changes: object) -> RecipientRecord:
    """Validate the ambassador row with `changes`, which must be valid."""
    result = validate_row({**AMBASSADOR, **changes}, source="recipients.csv", line=7)
    assert isinstance(result, RecipientRecord), [str(problem) for problem in result]
    return result


def problems(**changes: object) -> list[str]:
    """The problems of the ambassador row with `changes`, as printed."""
    result = validate_row({**AMBASSADOR, **changes}, source="recipients.csv", line=7)
    assert isinstance(result, list), result
    return [str(problem) for problem in result]


def test_a_valid_row_gives_the_record() -> None:
    assert record() == RecipientRecord(
        key="emb-fr-am-head",
        kind=RecipientKind.EMBASSY,
        role=Role.AMBASSADOR,
        organisation="Embassy of France in Armenia",
        tz="Asia/Yerevan",
        courtesy_title="Ms",
        gender=Gender.F,
        given_name="Claire",
        family_name="Exemple",
        country="FR",
        host_country="AM",
        city="Yerevan",
        email="ambassador.fr-am@example.org",
        languages=("fr", "en"),
        provided=frozenset(AMBASSADOR),
    )


def test_problems_carry_source_and_line() -> None:
    result = validate_row({**AMBASSADOR, "key": "X"}, source="a.csv", line=3)
    assert isinstance(result, list)
    assert result[0].source == "a.csv"
    assert result[0].line == 3
    assert result[0].field == "key"


def test_every_problem_of_a_row_is_reported() -> None:
    assert problems(key="", kind="embasy", email="x@@example.org", priority="5") == [
        "recipients.csv:7: key: is required",
        'recipients.csv:7: kind: "embasy" is not a valid kind; use one of: embassy, '
        "un_permanent_mission, un_official, un_special_procedure, mep, ministry, eu_official, "
        "other",
        'recipients.csv:7: email: "x@@example.org" is not a valid e-mail address: '
        "The part after the @-sign contains invalid characters: '@'.",
        'recipients.csv:7: priority: "5" is not a priority: use 1 (highest), 2 or 3',
    ]


def test_unknown_field() -> None:
    assert problems(emial="x@example.org") == [
        "recipients.csv:7: emial: unknown field; the fields are: key, kind, role, "
        "courtesy_title, gender, given_name, family_name, organisation, country, host_country, "
        "city, tz, email, languages, committees, delegations, political_group, "
        "political_group_raw, national_party, tags, priority, source, source_date, status"
    ]


def test_key_pattern() -> None:
    assert problems(key="Emb FR") == [
        'recipients.csv:7: key: "Emb FR" is not a valid key: use 3-64 lower-case letters, '
        'digits, ".", "_" or "-", starting with a letter or digit, e.g. "emb-fr-am-head"'
    ]


def test_role_must_be_known() -> None:
    assert problems(role="consul") == [
        'recipients.csv:7: role: "consul" is not a valid role; use one of: ambassador, '
        "charge_d_affaires, permanent_representative, minister, secretary_general, "
        "high_commissioner, special_rapporteur, mep, office"
    ]


def test_role_must_fit_kind() -> None:
    assert problems(role="mep") == [
        'recipients.csv:7: role: "mep" does not fit kind "embassy"; '
        "for embassy use: ambassador, charge_d_affaires, office"
    ]


def test_every_kind_has_a_role_table_with_office() -> None:
    assert set(ROLES_BY_KIND) == set(RecipientKind)
    assert all(Role.OFFICE in roles for roles in ROLES_BY_KIND.values())


def test_kind_other_takes_any_role() -> None:
    assert record(kind="other", role="special_rapporteur").role is Role.SPECIAL_RAPPORTEUR


def test_enum_values_are_case_insensitive() -> None:
    assert record(kind="Embassy", role="AMBASSADOR", gender="F").gender is Gender.F


def test_gender_must_be_known() -> None:
    assert problems(gender="female") == [
        'recipients.csv:7: gender: "female" is not a valid gender; use one of: m, f, unknown'
    ]


def test_gender_defaults_to_unknown() -> None:
    assert record(gender="").gender is Gender.UNKNOWN


def test_courtesy_title_must_be_known() -> None:
    assert problems(courtesy_title="Sir") == [
        'recipients.csv:7: courtesy_title: "Sir" is not a courtesy title; '
        "use Mr, Ms, Dr or leave it empty"
    ]


def test_courtesy_title_with_a_dot_is_accepted() -> None:
    assert record(courtesy_title="dr.").courtesy_title == "Dr"


def test_empty_courtesy_title_is_none() -> None:
    assert record(courtesy_title="").courtesy_title is None


def test_names_are_required_for_a_person() -> None:
    assert problems(given_name="", family_name=None) == [
        "recipients.csv:7: given_name: is required",
        "recipients.csv:7: family_name: is required",
    ]


def test_an_office_needs_no_name() -> None:
    result = record(role="office", courtesy_title="", given_name="", family_name="")
    assert (result.given_name, result.family_name) == (None, None)


def test_an_office_has_no_named_person() -> None:
    assert problems(role="office", family_name="Exemple", given_name="") == [
        "recipients.csv:7: family_name: an office mailbox has no named person: "
        "leave it empty, or give the person's role"
    ]


def test_names_are_stripped_and_nfc_normalised() -> None:
    result = record(given_name="  Zoe\u0308 ", family_name="Mu\u0308ller")
    assert (result.given_name, result.family_name) == ("Zoë", "Müller")


def test_all_capitals_family_name_is_rejected() -> None:
    assert problems(family_name="DI RUPO") == [
        'recipients.csv:7: family_name: "DI RUPO" is in capitals: '
        'write it as printed in correspondence, e.g. "Di Rupo"'
    ]


def test_all_capitals_cyrillic_family_name_is_rejected() -> None:
    assert len(problems(family_name="ПРИМЕРОВ")) == 1


@pytest.mark.parametrize("family_name", ["Ó", "McDONALD", "de la Cruz", "Примеров"])
def test_mixed_case_or_one_letter_family_name_is_accepted(family_name: str) -> None:
    assert record(family_name=family_name).family_name == family_name


def test_organisation_is_required() -> None:
    assert problems(organisation="  ") == ["recipients.csv:7: organisation: is required"]


def test_country_is_optional() -> None:
    assert record(country="").country is None


def test_country_el_becomes_gr() -> None:
    assert record(country="el").country == "GR"


def test_country_must_be_iso() -> None:
    assert problems(country="Armenia") == [
        'recipients.csv:7: country: "Armenia" is not a country code: '
        'give the two-letter ISO 3166-1 code, e.g. "FR"'
    ]


def test_host_country_must_be_iso_and_tz_is_not_blamed() -> None:
    assert problems(host_country="QL", tz="") == [
        'recipients.csv:7: host_country: "QL" is not an ISO 3166-1 country code: '
        'give the two-letter code, e.g. "FR"'
    ]


def test_tz_is_derived_and_counted_as_provided() -> None:
    result = record(tz="")
    assert result.tz == "Asia/Yerevan"
    assert "tz" in result.provided


def test_tz_is_derived_when_the_field_is_absent() -> None:
    fields = {name: value for name, value in AMBASSADOR.items() if name != "tz"}
    result = validate_row(fields, source="recipients.csv", line=7)
    assert isinstance(result, RecipientRecord)
    assert result.tz == "Asia/Yerevan"
    assert result.provided == frozenset(AMBASSADOR)


def test_tz_is_required_in_a_several_zone_country() -> None:
    assert problems(host_country="US", tz="") == [
        "recipients.csv:7: tz: host country US has several time zones "
        "(America/New_York, America/Detroit, America/Kentucky/Louisville, ...): give tz"
    ]


def test_tz_or_host_country_is_required() -> None:
    assert problems(host_country="", tz="") == [
        "recipients.csv:7: tz: give tz (an IANA zone such as Europe/Paris) or host_country"
    ]


def test_tz_must_be_a_location_zone() -> None:
    assert problems(tz="EST") == [
        'recipients.csv:7: tz: "EST" is not a location time zone: '
        'give a Region/City zone such as "Europe/Paris"'
    ]


def test_provided_names_the_fields_present() -> None:
    fields = {name: AMBASSADOR[name] for name in ("key", "kind", "role", "organisation", "tz")}
    result = validate_row({**fields, "role": "office"}, source="x.yaml", line=1)
    assert isinstance(result, RecipientRecord)
    assert result.provided == frozenset({"key", "kind", "role", "organisation", "tz"})


def test_email_is_optional() -> None:
    assert record(email="").email is None


def test_email_is_normalised() -> None:
    assert record(email=" Claire@EXAMPLE.org").email == "Claire@example.org"


def test_email_must_be_valid() -> None:
    assert problems(email="ambassador.fr-am@@example.org") == [
        'recipients.csv:7: email: "ambassador.fr-am@@example.org" is not a valid e-mail '
        "address: The part after the @-sign contains invalid characters: '@'."
    ]


def test_control_character_is_rejected() -> None:
    assert problems(organisation="Embassy\r\nBcc: x@example.org") == [
        "recipients.csv:7: organisation: contains a control character (U+000D): "
        "remove line breaks, tabs and other control characters"
    ]


def test_control_character_in_a_list_item_is_rejected() -> None:
    assert problems(languages=["fr", "e\x00n"]) == [
        "recipients.csv:7: languages: contains a control character (U+0000): "
        "remove line breaks, tabs and other control characters"
    ]


def test_text_field_must_not_be_a_list() -> None:
    assert problems(city=["Yerevan"]) == ["recipients.csv:7: city: expected text, got a list"]


def test_languages_are_normalised() -> None:
    assert record(languages="FR_be|pt-br|zh-hant-tw|en").languages == (
        "fr-BE",
        "pt-BR",
        "zh-Hant-TW",
        "en",
    )


def test_languages_from_a_list() -> None:
    assert record(languages=["de", "en"]).languages == ("de", "en")


def test_language_must_exist() -> None:
    assert problems(languages="fr|english") == [
        'recipients.csv:7: languages: "english" is not a language tag: use BCP 47 tags such '
        'as "fr", "fr-BE" or "pt-BR", separated by "|"'
    ]


def test_language_must_not_repeat() -> None:
    assert problems(languages="fr|en|FR") == [
        'recipients.csv:7: languages: "fr" is listed twice: list each language once'
    ]


def test_memberships_with_roles() -> None:
    result = record(kind="mep", role="mep", committees="afet|DROI:substitute", delegations=[])
    assert result.committees == (
        Membership("AFET"),
        Membership("DROI", MembershipRole.SUBSTITUTE),
    )
    assert result.delegations == ()


def test_membership_vice_chair_with_a_hyphen() -> None:
    result = record(delegations=["DSCA:Vice-Chair"])
    assert result.delegations == (Membership("DSCA", MembershipRole.VICE_CHAIR),)


def test_membership_role_must_be_known() -> None:
    assert problems(committees="AFET:rapporteur") == [
        'recipients.csv:7: committees: "AFET:rapporteur" has an unknown role; '
        "use one of: member, substitute, chair, vice_chair"
    ]


def test_membership_code_pattern() -> None:
    assert problems(delegations="D") == [
        'recipients.csv:7: delegations: "D" is not a body code: use 2-10 letters, digits or '
        '"-", optionally with ":role", e.g. "AFET" or "DROI:substitute"'
    ]


def test_membership_must_not_repeat() -> None:
    assert problems(committees="AFET|afet:chair") == [
        'recipients.csv:7: committees: "AFET" is listed twice: list each body once'
    ]


def test_tags_are_lower_cased() -> None:
    assert record(tags="Non-Resident|unsc").tags == ("non-resident", "unsc")


def test_tag_pattern() -> None:
    assert problems(tags="non resident") == [
        'recipients.csv:7: tags: "non resident" is not a valid tag: use up to 40 letters, '
        'digits, "_" or "-", starting with a letter or digit, e.g. "non-resident"'
    ]


def test_priority_defaults_to_two() -> None:
    assert record(priority="").priority == 2


@pytest.mark.parametrize(("given", "expected"), [("1", 1), (3, 3), (" 2 ", 2)])
def test_priority_from_text_or_number(given: object, expected: int) -> None:
    assert record(priority=given).priority == expected


@pytest.mark.parametrize("given", ["0", "high", True, 4])
def test_priority_out_of_range(given: object) -> None:
    assert problems(priority=given) == [
        f'recipients.csv:7: priority: "{given}" is not a priority: use 1 (highest), 2 or 3'
    ]


def test_source_date_from_text() -> None:
    assert record(source_date="2026-01-15").source_date == dt.date(2026, 1, 15)


def test_source_date_from_a_date() -> None:
    assert record(source_date=dt.date(2026, 1, 15)).source_date == dt.date(2026, 1, 15)


def test_source_date_must_be_iso() -> None:
    assert problems(source_date="15/01/2026") == [
        'recipients.csv:7: source_date: "15/01/2026" is not a date: give it as YYYY-MM-DD'
    ]


def test_status_defaults_to_active() -> None:
    assert record(status="").status is RecipientStatus.ACTIVE


def test_status_do_not_contact() -> None:
    assert record(status="do_not_contact").status is RecipientStatus.DO_NOT_CONTACT


def test_status_must_be_known() -> None:
    assert problems(status="retired") == [
        'recipients.csv:7: status: "retired" is not a valid status; '
        "use one of: active, inactive, do_not_contact"
    ]


def test_free_text_is_stripped_and_empty_is_none() -> None:
    result = record(political_group=" S&D ", national_party="", source="sample data")
    assert (result.political_group, result.national_party, result.source) == (
        "S&D",
        None,
        "sample data",
    )


def test_problems_are_problem_values() -> None:
    result = validate_row({}, source="x.csv", line=None)
    assert result == [
        Problem("x.csv", None, "key", "is required"),
        Problem("x.csv", None, "kind", "is required"),
        Problem("x.csv", None, "role", "is required"),
        Problem("x.csv", None, "organisation", "is required"),
        Problem("x.csv", None, "tz", "give tz (an IANA zone such as Europe/Paris) or host_country"),
    ]
