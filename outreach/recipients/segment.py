"""Segments: `--where FIELD=VALUE` filters, as SQL for queries and as a pure test on a record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from outreach.addresses import address_key
from outreach.errors import InputError
from outreach.models import Recipient
from outreach.recipients.geography import normalise_country
from outreach.recipients.record import Gender, RecipientKind, RecipientRecord, RecipientStatus, Role

Condition = ColumnElement[bool]

ENUMS: dict[str, type[StrEnum]] = {
    "kind": RecipientKind,
    "role": Role,
    "gender": Gender,
    "status": RecipientStatus,
}
PLAIN = frozenset({"key", "city", "tz", "political_group"})
COUNTRIES = frozenset({"country", "host_country"})
# A list filter matches an item, or an item's prefix up to a separator: `language=fr` matches
# `fr-BE`, `committee=AFET` matches `AFET:chair`. Tags match whole.
LISTS: dict[str, tuple[str, str | None]] = {
    "language": ("languages", "-"),
    "tag": ("tags", None),
    "committee": ("committees", ":"),
    "delegation": ("delegations", ":"),
}
FIELDS: tuple[str, ...] = tuple(sorted({*ENUMS, *PLAIN, *COUNTRIES, *LISTS, "priority", "email"}))
# A segment is a few filters; thousands would make SQL too deep for SQLite ("Expression tree
# is too large") and for any reader. The bound is checked before anything else.
MAX_FILTERS = 50


@dataclass(frozen=True, slots=True)
class Filter:
    """One field and the values it may take (any of them)."""

    field: str
    values: tuple[str, ...]


def parse_where(items: Sequence[str]) -> list[Filter]:
    """Filters for `FIELD=VALUE` items: a field repeated means any of them; fields combine.

    At most MAX_FILTERS items: more is an InputError.
    """
    if len(items) > MAX_FILTERS:
        raise InputError(f"--where: {len(items)} filters; a segment takes at most {MAX_FILTERS}")
    by_field: dict[str, list[str]] = {}
    for item in items:
        if any(ord(char) < 32 or ord(char) == 127 for char in item):
            raise InputError(f"--where {item!r}: control characters are not allowed")
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise InputError(f"--where {item!r}: write FIELD=VALUE, e.g. --where kind=mep")
        if name not in FIELDS:
            raise InputError(
                f"--where {item!r}: unknown field {name!r}; fields: {', '.join(FIELDS)}"
            )
        by_field.setdefault(name, []).append(normalise_value(name, value))
    return [Filter(name, tuple(values)) for name, values in by_field.items()]


def normalise_value(name: str, value: str) -> str:
    """Check a filter value and put it in the form stored in the database."""
    if name in ENUMS and value not in {member.value for member in ENUMS[name]}:
        choices = ", ".join(member.value for member in ENUMS[name])
        raise InputError(f"--where {name}={value}: not a {name}; choose one of: {choices}")
    if name in COUNTRIES:
        try:
            return normalise_country(value)
        except ValueError as exc:
            raise InputError(f"--where {name}={value}: {exc}") from None
    if name == "priority" and value not in {"1", "2", "3"}:
        raise InputError(f"--where priority={value}: priority is 1, 2 or 3")
    if name == "email":
        return address_key(value)
    if name in LISTS and (not value or "|" in value):
        raise InputError(f"--where {name}={value}: give one value without '|'")
    return value


def to_conditions(filters: Sequence[Filter]) -> list[Condition]:
    """The SQL conditions selecting the recipients that match every filter."""
    return [sa.or_(*(condition(f.field, value) for value in f.values)) for f in filters]


def column(name: str) -> sa.ColumnElement[str]:
    """The recipient table's column of that name."""
    return Recipient.__table__.c[name]  # type: ignore[attr-defined,no-any-return]


def condition(name: str, value: str) -> Condition:
    """The SQL condition for one field and one value."""
    if name == "priority":
        return column("priority") == int(value)
    if name == "email":
        return column("email_key") == value
    if name not in LISTS:
        return column(name) == value
    stored, separator = LISTS[name]
    # Stored as `a|b|c`: wrapping in `|` makes an item match only whole.
    wrapped = sa.literal("|") + column(stored) + sa.literal("|")
    exact = wrapped.contains(f"|{value}|", autoescape=True)
    if separator is None or separator in value:
        return exact
    return sa.or_(exact, wrapped.contains(f"|{value}{separator}", autoescape=True))


def matches(filters: Sequence[Filter], record: RecipientRecord) -> bool:
    """Whether a record matches every filter: the same rules as the SQL of `to_conditions`."""
    return all(any(matches_value(f.field, value, record) for value in f.values) for f in filters)


def matches_value(name: str, value: str, record: RecipientRecord) -> bool:
    """Whether one field of a record matches one value."""
    if name == "priority":
        return record.priority == int(value)
    if name == "email":
        return record.email is not None and address_key(record.email) == value
    if name not in LISTS:
        return str(getattr(record, name) or "") == value
    stored, separator = LISTS[name]
    for item in (str(entry) for entry in getattr(record, stored)):
        if item == value:
            return True
        if separator is not None and separator not in value and item.startswith(value + separator):
            return True
    return False
