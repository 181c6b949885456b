"""Validation of one recipient row, whatever file it came from, into a RecipientRecord."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar, overload

import pycountry

from outreach.addresses import AddressError, parse_address
from outreach.errors import Problem
from outreach.recipients.geography import derive_tz, normalise_country
from outreach.recipients.invisibles import find_invisible
from outreach.recipients.record import (
    RECORD_FIELDS,
    Gender,
    Membership,
    MembershipRole,
    RecipientKind,
    RecipientRecord,
    RecipientStatus,
    Role,
)

_E = TypeVar("_E", bound=StrEnum)

_KEY = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
_TAG = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_BODY_CODE = re.compile(r"[A-Z0-9-]{2,10}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# language[-Script][-REGION]: the subset of BCP 47 that mail templates are written for.
_LANGUAGE_TAG = re.compile(r"([a-z]{2,3})(?:-([a-z]{4}))?(?:-([a-z]{2}|[0-9]{3}))?")
# Every value may end up in a mail header or a log line, where a line break forges structure.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_COURTESY_TITLES = ("Mr", "Ms", "Dr")
_LIST_FIELDS = frozenset({"languages", "committees", "delegations", "tags"})
_PRIORITIES = range(1, 4)

_MEMBERSHIP_ROLES = frozenset(role.value for role in MembershipRole)
# Which roles each kind of addressee can hold; the role decides the form of address, so a
# misfit (an embassy "mep") would print a wrong salutation. Order matters only for messages.
ROLES_BY_KIND: dict[RecipientKind, tuple[Role, ...]] = {
    RecipientKind.EMBASSY: (Role.AMBASSADOR, Role.CHARGE_D_AFFAIRES, Role.OFFICE),
    # Deputy permanent representatives hold the rank of ambassador.
    RecipientKind.UN_PERMANENT_MISSION: (
        Role.PERMANENT_REPRESENTATIVE,
        Role.CHARGE_D_AFFAIRES,
        Role.AMBASSADOR,
        Role.OFFICE,
    ),
    # The President of the General Assembly is a state's ambassador serving a one-year term,
    # addressed "Excellency": hence `ambassador`. Special rapporteurs are not UN staff and have
    # their own kind.
    RecipientKind.UN_OFFICIAL: (
        Role.SECRETARY_GENERAL,
        Role.HIGH_COMMISSIONER,
        Role.AMBASSADOR,
        Role.OFFICE,
    ),
    RecipientKind.UN_SPECIAL_PROCEDURE: (Role.SPECIAL_RAPPORTEUR, Role.OFFICE),
    RecipientKind.MEP: (Role.MEP, Role.OFFICE),
    # Many foreign ministries are run day to day by a Secretary-General (e.g. the Quai d'Orsay).
    RecipientKind.MINISTRY: (Role.MINISTER, Role.SECRETARY_GENERAL, Role.OFFICE),
    # Heads of EU Delegations and EU Special Representatives hold ambassadorial rank; the EEAS
    # has a Secretary-General. No role fits the High Representative or a Commissioner: write
    # to their cabinet (`office`) until the salutation table has such a role.
    RecipientKind.EU_OFFICIAL: (Role.AMBASSADOR, Role.SECRETARY_GENERAL, Role.OFFICE),
    RecipientKind.OTHER: tuple(Role),
}


def validate_row(
    fields: Mapping[str, object], *, source: str, line: int | None
) -> RecipientRecord | list[Problem]:
    """Return the RecipientRecord for one row, or every Problem found in it."""
    return _Row(fields, source, line).build()


class _Row:
    """The checks of one row; each check records its problems and returns a clean value."""

    def __init__(self, fields: Mapping[str, object], source: str, line: int | None) -> None:
        self.fields = fields
        self.source = source
        self.line = line
        self.problems: list[Problem] = []
        self.failed: set[str] = set()  # fields with a problem already recorded

    def fail(self, name: str, message: str) -> None:
        """Record one problem with field `name`."""
        self.problems.append(Problem(self.source, self.line, name, message))
        self.failed.add(name)

    def build(self) -> RecipientRecord | list[Problem]:
        """Check every field, then assemble the record if nothing was wrong."""
        for name in self.fields:
            if name not in RECORD_FIELDS:
                self.fail(name, f"unknown field; the fields are: {', '.join(RECORD_FIELDS)}")
        key = self.key()
        kind = self.choice("kind", RecipientKind, None)
        role = self.choice("role", Role, None)
        if kind is not None and role is not None and role not in ROLES_BY_KIND[kind]:
            allowed = ", ".join(ROLES_BY_KIND[kind])
            self.fail("role", f'"{role}" does not fit kind "{kind}"; for {kind} use: {allowed}')
        courtesy_title = self.courtesy_title()
        gender = self.choice("gender", Gender, Gender.UNKNOWN)
        given_name, family_name = self.names(role)
        organisation = self.required_text("organisation")
        country = self.country("country")
        host_country = self.country("host_country")
        tz = self.tz(host_country)
        email = self.email()
        status = self.choice("status", RecipientStatus, RecipientStatus.ACTIVE)
        city = self.text("city")
        languages = self.languages()
        committees = self.memberships("committees")
        delegations = self.memberships("delegations")
        political_group = self.text("political_group")
        political_group_raw = self.text("political_group_raw")
        national_party = self.text("national_party")
        tags = self.tags()
        priority = self.priority()
        source = self.text("source")
        source_date = self.source_date()
        if self.problems:
            return self.problems
        # With no problem recorded, every required field holds a value.
        assert key is not None
        assert kind is not None
        assert role is not None
        assert organisation is not None
        assert tz is not None
        provided = frozenset(name for name in self.fields if name in RECORD_FIELDS)
        if self.fields.get("tz") in (None, ""):
            provided |= {"tz"}  # derived from host_country, which the source did provide
        return RecipientRecord(
            key=key,
            kind=kind,
            role=role,
            organisation=organisation,
            tz=tz,
            courtesy_title=courtesy_title,
            gender=gender,
            given_name=given_name,
            family_name=family_name,
            country=country,
            host_country=host_country,
            city=city,
            email=email,
            languages=languages,
            committees=committees,
            delegations=delegations,
            political_group=political_group,
            political_group_raw=political_group_raw,
            national_party=national_party,
            tags=tags,
            priority=priority,
            source=source,
            source_date=source_date,
            status=status,
            provided=provided,
        )

    # -- raw values ---------------------------------------------------------------------------

    def clean(self, name: str, value: str) -> str | None:
        """Strip and NFC-normalise one string; None when empty or when it has a control or an
        invisible character (see outreach.recipients.invisibles)."""
        # Stripping first lets a trailing newline of a sloppy cell pass: it never reaches output.
        text = unicodedata.normalize("NFC", value.strip())
        control = _CONTROL.search(text)
        if control is not None:
            self.fail(
                name,
                f"contains a control character (U+{ord(control.group()):04X}): "
                "remove line breaks, tabs and other control characters",
            )
            return None
        invisible = find_invisible(text)
        if invisible is not None:
            self.fail(name, invisible.describe())
            return None
        return text or None

    def text(self, name: str) -> str | None:
        """A text field, cleaned (None if absent, empty or not text)."""
        value = self.fields.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return self.clean(name, value)
        self.fail(name, f"expected text, got {_type_name(value)}")
        return None

    def required_text(self, name: str) -> str | None:
        """A text field that must have a value."""
        text = self.text(name)
        if text is None and name not in self.failed:
            self.fail(name, "is required")
        return text

    def items(self, name: str) -> list[str]:
        """A list field: `a|b` text or a list of strings; empty items are dropped."""
        value = self.fields.get(name)
        if value is None:
            return []
        parts: list[object]
        if isinstance(value, str):
            parts = list(value.split("|"))
        elif isinstance(value, list | tuple):
            parts = list(value)
        else:
            self.fail(name, f"expected text or a list, got {_type_name(value)}")
            return []
        items: list[str] = []
        for part in parts:
            if not isinstance(part, str):
                self.fail(name, f"expected text items, got {_type_name(part)}")
                continue
            item = self.clean(name, part)
            if item is not None:
                items.append(item)
        return items

    # -- fields ---------------------------------------------------------------------------------

    def key(self) -> str | None:
        """The stable identifier."""
        key = self.required_text("key")
        if key is not None and not _KEY.fullmatch(key):
            self.fail(
                "key",
                f'"{key}" is not a valid key: use 3-64 lower-case letters, digits, ".", "_" '
                'or "-", starting with a letter or digit, e.g. "emb-fr-am-head"',
            )
            return None
        return key

    @overload
    def choice(self, name: str, enum: type[_E], default: _E) -> _E: ...
    @overload
    def choice(self, name: str, enum: type[_E], default: None) -> _E | None: ...
    def choice(self, name: str, enum: type[_E], default: _E | None) -> _E | None:
        """An enumerated field; required when there is no default."""
        text = self.required_text(name) if default is None else self.text(name)
        if text is None:
            return default
        try:
            return enum(text.lower())
        except ValueError:
            allowed = ", ".join(enum)
            self.fail(name, f'"{text}" is not a valid {name}; use one of: {allowed}')
            return default

    def courtesy_title(self) -> str | None:
        """Mr, Ms, Dr or none; "mr." is accepted as Mr."""
        text = self.text("courtesy_title")
        if text is None:
            return None
        for title in _COURTESY_TITLES:
            if text.rstrip(".").lower() == title.lower():
                return title
        self.fail(
            "courtesy_title",
            f'"{text}" is not a courtesy title; use Mr, Ms, Dr or leave it empty',
        )
        return None

    def names(self, role: Role | None) -> tuple[str | None, str | None]:
        """Given and family name: required for a person, absent for an office mailbox."""
        if role is Role.OFFICE:
            given, family = self.text("given_name"), self.text("family_name")
            for name, value in (("given_name", given), ("family_name", family)):
                if value is not None:
                    self.fail(
                        name,
                        "an office mailbox has no named person: leave it empty, "
                        "or give the person's role",
                    )
            return None, None
        if role is None:  # the role is missing or wrong: only check what is there
            given, family = self.text("given_name"), self.text("family_name")
        else:
            given, family = self.required_text("given_name"), self.required_text("family_name")
        if family is not None and all_capitals(family):
            self.fail(
                "family_name",
                f'"{family}" is in capitals: write it as printed in correspondence, '
                f'e.g. "{family.title()}"',
            )
        return given, family

    def country(self, name: str) -> str | None:
        """An ISO 3166-1 alpha-2 code (EL and UK accepted as GR and GB)."""
        text = self.text(name)
        if text is None:
            return None
        try:
            return normalise_country(text)
        except ValueError as exc:
            self.fail(name, str(exc))
            return None

    def tz(self, host_country: str | None) -> str | None:
        """The IANA zone, given or derived from the host country."""
        tz = self.text("tz")
        if "tz" in self.failed:
            return None
        if tz is None and "host_country" in self.failed:
            return None  # host_country is wrong and already reported; nothing to derive from
        try:
            return derive_tz(host_country, tz)
        except ValueError as exc:
            self.fail("tz", str(exc))
            return None

    def email(self) -> str | None:
        """The normalised address, or None: MEPs from the EP XML list come without one."""
        text = self.text("email")
        if text is None:
            return None
        try:
            return parse_address(text)
        except AddressError as exc:
            self.fail("email", str(exc))
            return None

    def languages(self) -> tuple[str, ...]:
        """Language tags in order of preference, normalised as fr, fr-BE, zh-Hant-TW."""
        tags: list[str] = []
        for item in self.items("languages"):
            tag = _language_tag(item)
            if tag is None:
                self.fail(
                    "languages",
                    f'"{item}" is not a language tag: use BCP 47 tags such as "fr", "fr-BE" '
                    'or "pt-BR", separated by "|"',
                )
            elif tag in tags:
                self.fail("languages", f'"{tag}" is listed twice: list each language once')
            else:
                tags.append(tag)
        return tuple(tags)

    def memberships(self, name: str) -> tuple[Membership, ...]:
        """Committee or delegation codes, each `CODE` or `CODE:role`."""
        found: list[Membership] = []
        for item in self.items(name):
            code, _, role_text = (part.strip() for part in item.partition(":"))
            code = code.upper()
            role_key = role_text.lower().replace("-", "_") or MembershipRole.MEMBER.value
            if not _BODY_CODE.fullmatch(code):
                self.fail(
                    name,
                    f'"{item}" is not a body code: use 2-10 letters, digits or "-", '
                    'optionally with ":role", e.g. "AFET" or "DROI:substitute"',
                )
            elif role_key not in _MEMBERSHIP_ROLES:
                self.fail(
                    name,
                    f'"{item}" has an unknown role; use one of: {", ".join(MembershipRole)}',
                )
            elif any(membership.code == code for membership in found):
                self.fail(name, f'"{code}" is listed twice: list each body once')
            else:
                found.append(Membership(code, MembershipRole(role_key)))
        return tuple(found)

    def tags(self) -> tuple[str, ...]:
        """Segment tags, lower-cased."""
        tags: list[str] = []
        for item in self.items("tags"):
            tag = item.lower()
            if not _TAG.fullmatch(tag):
                self.fail(
                    "tags",
                    f'"{item}" is not a valid tag: use up to 40 letters, digits, "_" or "-", '
                    'starting with a letter or digit, e.g. "non-resident"',
                )
            elif tag in tags:
                self.fail("tags", f'"{tag}" is listed twice: list each tag once')
            else:
                tags.append(tag)
        return tuple(tags)

    def priority(self) -> int:
        """1 (highest) to 3; 2 when not given."""
        value = self.fields.get("priority")
        number: object = value
        if isinstance(value, str):
            text = self.clean("priority", value)
            if text is None:
                return 2
            number = int(text) if text.isascii() and text.isdigit() else text
        elif value is None:
            return 2
        # bool is an int subclass: YAML's `yes` must not become priority 1.
        if isinstance(number, int) and not isinstance(number, bool) and number in _PRIORITIES:
            return number
        self.fail("priority", f'"{value}" is not a priority: use 1 (highest), 2 or 3')
        return 2

    def source_date(self) -> dt.date | None:
        """When the source was taken, as an ISO date."""
        value = self.fields.get("source_date")
        if isinstance(value, dt.datetime):
            self.fail("source_date", "expected a date, got a date and time: give YYYY-MM-DD")
            return None
        if isinstance(value, dt.date):
            return value
        text = self.text("source_date")
        if text is None:
            return None
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError(text)
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail("source_date", f'"{text}" is not a date: give it as YYYY-MM-DD')
            return None


def _type_name(value: object) -> str:
    """How a wrongly typed value is named in a message."""
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def all_capitals(name: str) -> bool:
    """True when every letter is upper-case and there is more than one letter ("DI RUPO")."""
    letters = [char for char in name if char.isalpha()]
    return len(letters) > 1 and all(char.isupper() for char in letters)


def _language_tag(text: str) -> str | None:
    """Normalise a language tag (`FR_be` → `fr-BE`), or None if it is not one."""
    match = _LANGUAGE_TAG.fullmatch(text.lower().replace("_", "-"))
    if match is None:
        return None
    language, script, region = match.groups()
    known = (
        pycountry.languages.get(alpha_2=language)
        if len(language) == 2
        else pycountry.languages.get(alpha_3=language)
    )
    if known is None:
        return None
    parts = [language]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "-".join(parts)
