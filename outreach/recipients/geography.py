"""Countries and time zones of recipients: ISO 3166-1 codes and IANA zones from tzdata."""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from importlib.resources import files
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry

# Codes that are not ISO 3166-1 but are in common use: the EU writes Greece "EL" and the
# United Kingdom "UK".
_ALIASES = {"EL": "GR", "UK": "GB"}

# ISO 3166-1 reserves these for user assignment: they never denote a real state, which makes
# them right for fictional states in sample data and tests (XA, XB ...).
USER_ASSIGNED: frozenset[str] = frozenset(
    {"AA", "ZZ"}
    | {f"Q{c}" for c in "MNOPQRSTUVWXYZ"}
    | {f"X{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
)

_ALPHA_2 = re.compile(r"[A-Z]{2}")
_SHOWN_ZONES = 3  # how many zones an error message lists before "..."


def normalise_country(code: str) -> str:
    """Return the upper-case ISO 3166-1 alpha-2 code for `code`, or raise ValueError."""
    text = code.strip().upper()
    text = _ALIASES.get(text, text)
    if not _ALPHA_2.fullmatch(text):
        raise ValueError(
            f'"{code}" is not a country code: give the two-letter ISO 3166-1 code, e.g. "FR"'
        )
    if text in USER_ASSIGNED or pycountry.countries.get(alpha_2=text) is not None:
        return text
    raise ValueError(
        f'"{code}" is not an ISO 3166-1 country code: give the two-letter code, e.g. "FR"'
    )


@functools.cache
def _zone_table() -> dict[str, tuple[str, ...]]:
    """Map each country code to its IANA zones, in the order of tzdata's zone.tab."""
    text = files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    zones: defaultdict[str, list[str]] = defaultdict(list)
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        country, _coordinates, zone = line.split("\t")[:3]
        zones[country].append(zone)
    return {country: tuple(names) for country, names in zones.items()}


@functools.cache
def _location_zones() -> frozenset[str]:
    """Every zone zone.tab assigns to a country: the zones a recipient may be in."""
    return frozenset(zone for zones in _zone_table().values() for zone in zones)


def zones_for_country(code: str) -> tuple[str, ...]:
    """Return the IANA zones of country `code` (empty for an unknown or user-assigned code)."""
    return _zone_table().get(code.strip().upper(), ())


def derive_tz(host_country: str | None, tz: str | None) -> str:
    """Return the recipient's IANA zone: `tz` checked, or derived from a one-zone host country.

    `host_country` must already be normalised. Raises ValueError saying what to give instead.
    """
    zones = zones_for_country(host_country) if host_country else ()
    if tz:
        return _check_zone(tz, host_country, zones)
    if host_country is None:
        raise ValueError("give tz (an IANA zone such as Europe/Paris) or host_country")
    if len(zones) == 1:
        return zones[0]
    if not zones:
        raise ValueError(
            f"host country {host_country} has no time zone of its own: "
            "give tz (an IANA zone such as Europe/Paris)"
        )
    raise ValueError(
        f"host country {host_country} has several time zones ({_shorten(zones)}): give tz"
    )


def _check_zone(tz: str, host_country: str | None, zones: tuple[str, ...]) -> str:
    """Return `tz` if it is a location zone that fits the host country, else raise ValueError."""
    # Abbreviations and fixed offsets ("EST", "Etc/GMT-4") load but say nothing about where the
    # office is; deprecated links ("Europe/Kiev") may vanish: only zone.tab's zones pass.
    if tz not in _location_zones():
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(
                f'"{tz}" is not an IANA time zone: give one such as "Europe/Paris"'
            ) from exc
        raise ValueError(
            f'"{tz}" is not a location time zone: give a Region/City zone such as "Europe/Paris"'
        )
    # A zone outside the host country is almost always a typo in one of the two fields; a
    # user-assigned host country (fictional state) has no zones to compare with.
    if zones and tz not in zones:
        raise ValueError(
            f'"{tz}" is not a time zone of host country {host_country} ({_shorten(zones)}): '
            "correct tz or host_country"
        )
    return tz


def _shorten(zones: tuple[str, ...]) -> str:
    """List the first few zones for a message; the US alone has 29."""
    more = ", ..." if len(zones) > _SHOWN_ZONES else ""
    return ", ".join(zones[:_SHOWN_ZONES]) + more
