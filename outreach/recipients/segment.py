"""Segments: `--where FIELD=VALUE` filters turned into SQL conditions on recipients."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from outreach.addresses import address_key
from outreach.errors import InputError
from outreach.models import Recipient
from outreach.recipients.geography import normalise_country
from outreach.recipients.record import Gender, RecipientKind, RecipientStatus, Role

Condition = ColumnElement[bool]


def column(name: str) -> sa.ColumnElement[str]:
    """The recipient table's column of that name."""
    return Recipient.__table__.c[name]  # type: ignore[attr-defined,no-any-return]


def equals(name: str, enum: type[StrEnum] | None = None) -> Callable[[str], Condition]:
    """A filter on a column's exact value (checked against the enum when there is one)."""

    def build(value: str) -> Condition:
        if enum is not None and value not in {member.value for member in enum}:
            choices = ", ".join(member.value for member in enum)
            raise InputError(f"--where {name}={value}: not a {name}; choose one of: {choices}")
        return column(name) == value

    return build


def country(name: str) -> Callable[[str], Condition]:
    """A filter on a country column, accepting EL/UK and lower case."""

    def build(value: str) -> Condition:
        try:
            return column(name) == normalise_country(value)
        except ValueError as exc:
            raise InputError(f"--where {name}={value}: {exc}") from None

    return build


def in_list(name: str, *, prefix_separator: str | None) -> Callable[[str], Condition]:
    """A filter on a `a|b|c` list column: the value is an item, or an item's prefix.

    `language=fr` matches `fr` and `fr-BE`; `committee=AFET` matches `AFET` and `AFET:chair`.
    """

    def build(value: str) -> Condition:
        if not value or "|" in value:
            raise InputError(f"--where {name}={value}: give one value without '|'")
        wrapped = sa.literal("|") + column(LIST_COLUMNS[name]) + sa.literal("|")
        exact = wrapped.contains(f"|{value}|", autoescape=True)
        if prefix_separator is None or prefix_separator in value:
            return exact
        return sa.or_(exact, wrapped.contains(f"|{value}{prefix_separator}", autoescape=True))

    return build


def email(value: str) -> Condition:
    """A filter on the e-mail address, compared in its normal form."""
    return column("email_key") == address_key(value)


def priority(value: str) -> Condition:
    """A filter on priority 1-3."""
    if value not in {"1", "2", "3"}:
        raise InputError(f"--where priority={value}: priority is 1, 2 or 3")
    return column("priority") == int(value)


LIST_COLUMNS = {
    "language": "languages",
    "tag": "tags",
    "committee": "committees",
    "delegation": "delegations",
}

FILTERS: dict[str, Callable[[str], Condition]] = {
    "key": equals("key"),
    "kind": equals("kind", RecipientKind),
    "role": equals("role", Role),
    "gender": equals("gender", Gender),
    "status": equals("status", RecipientStatus),
    "country": country("country"),
    "host_country": country("host_country"),
    "city": equals("city"),
    "tz": equals("tz"),
    "political_group": equals("political_group"),
    "priority": priority,
    "email": email,
    "language": in_list("language", prefix_separator="-"),
    "tag": in_list("tag", prefix_separator=None),
    "committee": in_list("committee", prefix_separator=":"),
    "delegation": in_list("delegation", prefix_separator=":"),
}


def parse_where(items: Sequence[str]) -> list[Condition]:
    """Conditions for `FIELD=VALUE` items: one field repeated means any of them, fields combine."""
    by_field: dict[str, list[Condition]] = defaultdict(list)
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise InputError(f"--where {item!r}: write FIELD=VALUE, e.g. --where kind=mep")
        build = FILTERS.get(name)
        if build is None:
            raise InputError(
                f"--where {item!r}: unknown field {name!r}; fields: {', '.join(sorted(FILTERS))}"
            )
        by_field[name].append(build(value))
    return [sa.or_(*conds) if len(conds) > 1 else conds[0] for conds in by_field.values()]
