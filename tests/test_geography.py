"""Tests of country codes and time zones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from outreach.recipients.geography import derive_tz, normalise_country, zones_for_country


def _error_of(function: Callable[..., object], *args: object) -> str:
    """The message of the ValueError that `function(*args)` raises."""
    try:
        function(*args)
    except ValueError as exc:
        return str(exc)
    pytest.fail(f"{function.__name__}{args} raised nothing")


@pytest.mark.parametrize(
    ("given", "expected"),
    [("fr", "FR"), (" am ", "AM"), ("EL", "GR"), ("el", "GR"), ("UK", "GB"), ("GB", "GB")],
)
def test_normalise_country(given: str, expected: str) -> None:
    assert normalise_country(given) == expected


@pytest.mark.parametrize("code", ["XA", "XB", "XZ", "AA", "QM", "QZ", "ZZ"])
def test_user_assigned_codes_are_accepted(code: str) -> None:
    assert normalise_country(code) == code


def test_unassigned_code_is_rejected_with_a_hint() -> None:
    assert _error_of(normalise_country, "QL") == (
        '"QL" is not an ISO 3166-1 country code: give the two-letter code, e.g. "FR"'
    )


def test_three_letter_code_is_rejected_with_a_hint() -> None:
    assert _error_of(normalise_country, "FRA") == (
        '"FRA" is not a country code: give the two-letter ISO 3166-1 code, e.g. "FR"'
    )


def test_zones_of_a_one_zone_country() -> None:
    assert zones_for_country("AM") == ("Asia/Yerevan",)


def test_zones_of_a_several_zone_country_start_with_the_main_one() -> None:
    zones = zones_for_country("US")
    assert zones[0] == "America/New_York"
    assert "America/Los_Angeles" in zones


def test_zones_of_a_user_assigned_country_are_empty() -> None:
    assert zones_for_country("XA") == ()


def test_tz_is_derived_from_a_one_zone_host_country() -> None:
    assert derive_tz("AM", None) == "Asia/Yerevan"


def test_tz_is_derived_for_a_friday_saturday_weekend_host() -> None:
    assert derive_tz("SA", None) == "Asia/Riyadh"


def test_explicit_tz_in_a_several_zone_country_is_kept() -> None:
    assert derive_tz("US", "America/New_York") == "America/New_York"


def test_explicit_tz_with_a_user_assigned_host_is_kept() -> None:
    assert derive_tz("XA", "Europe/Moscow") == "Europe/Moscow"


def test_explicit_tz_without_host_country_is_kept() -> None:
    assert derive_tz(None, "Europe/Zurich") == "Europe/Zurich"


def test_several_zones_need_an_explicit_tz() -> None:
    assert _error_of(derive_tz, "US", None) == (
        "host country US has several time zones "
        "(America/New_York, America/Detroit, America/Kentucky/Louisville, ...): give tz"
    )


def test_a_country_without_zones_needs_an_explicit_tz() -> None:
    assert _error_of(derive_tz, "XA", None) == (
        "host country XA has no time zone of its own: give tz (an IANA zone such as Europe/Paris)"
    )


def test_neither_host_country_nor_tz() -> None:
    assert (
        _error_of(derive_tz, None, None)
        == "give tz (an IANA zone such as Europe/Paris) or host_country"
    )


def test_an_abbreviation_is_not_a_location_zone() -> None:
    assert _error_of(derive_tz, "AM", "EST") == (
        '"EST" is not a location time zone: give a Region/City zone such as "Europe/Paris"'
    )


def test_a_deprecated_link_is_not_accepted() -> None:
    with pytest.raises(ValueError, match="is not a location time zone"):
        derive_tz("UA", "Europe/Kiev")


def test_an_unknown_zone_is_rejected() -> None:
    assert _error_of(derive_tz, None, "Mars/Olympus_Mons") == (
        '"Mars/Olympus_Mons" is not an IANA time zone: give one such as "Europe/Paris"'
    )


def test_a_path_is_not_a_zone() -> None:
    with pytest.raises(ValueError, match="is not an IANA time zone"):
        derive_tz(None, "../../etc/passwd")


def test_a_zone_outside_the_host_country_is_rejected() -> None:
    assert _error_of(derive_tz, "AM", "Europe/Paris") == (
        '"Europe/Paris" is not a time zone of host country AM (Asia/Yerevan): '
        "correct tz or host_country"
    )
