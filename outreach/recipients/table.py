"""Recipients in the database: conversion between records and rows, and the queries on them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, func, select

from outreach.addresses import address_key
from outreach.errors import NotFoundError
from outreach.models import Recipient
from outreach.recipients.lint import ListSurvey
from outreach.recipients.record import (
    RECORD_FIELDS,
    Membership,
    MembershipRole,
    RecipientRecord,
)

LIST_FIELDS = frozenset({"languages", "committees", "delegations", "tags"})
SEPARATOR = "|"


def join_list(values: tuple[object, ...]) -> str:
    """A list field as stored: `a|b|c` (values are validated never to contain `|`)."""
    return SEPARATOR.join(str(value) for value in values)


def split_list(text: str) -> tuple[str, ...]:
    """A stored list field back as a tuple."""
    return tuple(part for part in text.split(SEPARATOR) if part)


def parse_memberships(text: str) -> tuple[Membership, ...]:
    """Stored `AFET|DROI:substitute` back as memberships."""
    result = []
    for part in split_list(text):
        code, _, role = part.partition(":")
        result.append(Membership(code, MembershipRole(role) if role else MembershipRole.MEMBER))
    return tuple(result)


def column_values(record: RecipientRecord, fields: frozenset[str] | None = None) -> dict[str, Any]:
    """The column values for a record: all fields, or only `fields` (what its source carried)."""
    values: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        if fields is not None and name not in fields:
            continue
        value = getattr(record, name)
        values[name] = join_list(value) if name in LIST_FIELDS else value
        if name == "email":
            values["email_key"] = address_key(value) if value else None
    return values


def to_record(row: Recipient) -> RecipientRecord:
    """The stored row as a record value (every field counts as provided)."""
    values: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = getattr(row, name)
        if name in ("committees", "delegations"):
            value = parse_memberships(value)
        elif name in LIST_FIELDS:
            value = split_list(value)
        values[name] = value
    return RecipientRecord(**values, provided=frozenset(RECORD_FIELDS))


def to_json(row: Recipient) -> dict[str, object]:
    """A row as JSON-ready data: lists as lists, dates as ISO strings."""
    data: dict[str, object] = {}
    for name in RECORD_FIELDS:
        value = getattr(row, name)
        if name in LIST_FIELDS:
            data[name] = list(split_list(value))
        elif isinstance(value, dt.date):
            data[name] = value.isoformat()
        else:
            data[name] = value
    data["created_at"] = row.created_at.isoformat()
    data["updated_at"] = row.updated_at.isoformat()
    return data


def get_recipient(session: Session, key: str) -> Recipient:
    """The recipient with this key, or a NotFoundError saying how to find keys."""
    row = session.exec(select(Recipient).where(Recipient.key == key)).first()
    if row is None:
        raise NotFoundError(f"no recipient with key {key!r} (see `outreach recipients list`)")
    return row


def iter_recipients(
    session: Session, conditions: list[ColumnElement[bool]], *, batch: int = 500
) -> Iterator[Recipient]:
    """The recipients matching every condition, in key order, streamed in batches."""
    statement = select(Recipient).where(*conditions).order_by(Recipient.key)
    yield from session.exec(statement.execution_options(yield_per=batch))


def count_recipients(session: Session, conditions: list[ColumnElement[bool]]) -> int:
    """How many recipients match every condition."""
    statement = select(func.count()).select_from(Recipient).where(*conditions)
    return int(session.exec(statement).one())


def survey_list(session: Session) -> ListSurvey:
    """The whole list's names and domains, which the data checks compare each record with."""
    survey = ListSurvey()
    statement = select(Recipient.given_name, Recipient.family_name, Recipient.email)
    for given_name, family_name, email in session.exec(statement.execution_options(yield_per=2000)):
        survey.count(given_name, family_name, email)
    return survey
