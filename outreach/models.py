"""Every database table and the enums stored in them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from outreach.recipients.record import Gender, RecipientKind, RecipientStatus, Role

__all__ = [
    "AuditEvent",
    "Gender",
    "Recipient",
    "RecipientKind",
    "RecipientStatus",
    "Role",
    "Suppression",
    "SuppressionSource",
]


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Refuse naive datetimes: an instant without a zone is a bug waiting to happen."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Attach UTC to what SQLite returns naive."""
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def enum_type(enum: type[StrEnum]) -> sa.Enum:
    """A portable enum column: VARCHAR holding the member values, no native PostgreSQL type."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def utc_column(**kwargs: Any) -> Any:
    """A Field for a UTC timestamp column."""
    return Field(sa_type=UTCDateTime, **kwargs)


class SuppressionSource(StrEnum):
    """Why an address is on the suppression list."""

    MANUAL = "manual"  # added by staff
    REQUEST = "request"  # the person asked not to be written to
    ERASURE = "erasure"  # the person's data was erased; only the hash remains
    BOUNCE = "bounce"  # the address bounced permanently


class Recipient(SQLModel, table=True):
    """One addressee: a person in a role, or an office mailbox. Lists are stored `a|b|c`."""

    __tablename__ = "recipient"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True, index=True)
    kind: RecipientKind = Field(sa_type=enum_type(RecipientKind), index=True)
    role: Role = Field(sa_type=enum_type(Role))
    courtesy_title: str | None = Field(default=None, max_length=16)
    gender: Gender = Field(default=Gender.UNKNOWN, sa_type=enum_type(Gender))
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    organisation: str = Field(max_length=300)
    country: str | None = Field(default=None, max_length=2, index=True)
    host_country: str | None = Field(default=None, max_length=2)
    city: str | None = Field(default=None, max_length=200)
    tz: str = Field(max_length=64)
    email: str | None = Field(default=None, max_length=320)
    # The lower-case ASCII form that suppression compares (see outreach.addresses.address_key).
    email_key: str | None = Field(default=None, max_length=320, index=True)
    languages: str = Field(default="", max_length=200)
    committees: str = Field(default="", max_length=1000)
    delegations: str = Field(default="", max_length=1000)
    political_group: str | None = Field(default=None, max_length=64)
    political_group_raw: str | None = Field(default=None, max_length=300)
    national_party: str | None = Field(default=None, max_length=300)
    tags: str = Field(default="", max_length=1000)
    priority: int = Field(default=2)
    source: str | None = Field(default=None, max_length=300)
    source_date: dt.date | None = Field(default=None)
    status: RecipientStatus = Field(
        default=RecipientStatus.ACTIVE, sa_type=enum_type(RecipientStatus)
    )
    created_at: dt.datetime = utc_column()
    updated_at: dt.datetime = utc_column()


class Suppression(SQLModel, table=True):
    """An address never to be written to, kept by hash so that it survives erasure."""

    __tablename__ = "suppression"

    id: int | None = Field(default=None, primary_key=True)
    # SHA-256 of the address's comparison form: an erased person leaves only this.
    address_hash: str = Field(max_length=64, unique=True, index=True)
    address: str | None = Field(default=None, max_length=320)
    reason: str = Field(max_length=1000)
    source: SuppressionSource = Field(sa_type=enum_type(SuppressionSource))
    created_at: dt.datetime = utc_column()
    created_by: str = Field(max_length=200)


class AuditEvent(SQLModel, table=True):
    """Who changed what and when: every change made through the CLI (or later the web)."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = utc_column(index=True)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=300)
    detail: str = Field(default="", max_length=4000)
