"""The validated recipient as a frozen value: what every reader produces and the importer stores."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class RecipientKind(StrEnum):
    """What sort of addressee a recipient is."""

    EMBASSY = "embassy"
    UN_PERMANENT_MISSION = "un_permanent_mission"
    UN_OFFICIAL = "un_official"
    UN_SPECIAL_PROCEDURE = "un_special_procedure"
    MEP = "mep"
    MINISTRY = "ministry"
    EU_OFFICIAL = "eu_official"
    OTHER = "other"


class Role(StrEnum):
    """The addressee's function; decides the form of address. `office` means no named person."""

    AMBASSADOR = "ambassador"
    CHARGE_D_AFFAIRES = "charge_d_affaires"
    PERMANENT_REPRESENTATIVE = "permanent_representative"
    MINISTER = "minister"
    SECRETARY_GENERAL = "secretary_general"
    HIGH_COMMISSIONER = "high_commissioner"
    SPECIAL_RAPPORTEUR = "special_rapporteur"
    MEP = "mep"
    OFFICE = "office"


class Gender(StrEnum):
    """Grammatical gender, used only for agreement in fr/de/ru; never guessed from a name."""

    M = "m"
    F = "f"
    UNKNOWN = "unknown"


class RecipientStatus(StrEnum):
    """Whether a recipient may be written to."""

    ACTIVE = "active"  # may be written to
    INACTIVE = "inactive"  # left office: kept so that history survives, never written to
    DO_NOT_CONTACT = "do_not_contact"  # asked not to be written to


class MembershipRole(StrEnum):
    """An MEP's role in a committee or delegation."""

    MEMBER = "member"
    SUBSTITUTE = "substitute"
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"


@dataclass(frozen=True, slots=True)
class Membership:
    """Membership of a parliamentary committee or delegation, e.g. `DROI:substitute`."""

    code: str  # upper-case body code: AFET, DROI, DSCA, DEPA ...
    role: MembershipRole = MembershipRole.MEMBER

    def __str__(self) -> str:
        return self.code if self.role is MembershipRole.MEMBER else f"{self.code}:{self.role}"


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """One validated recipient; `provided` names the fields its source actually carried.

    On re-import the importer updates only the provided fields, so that a source which lacks a
    field (the EP XML list has no e-mail) never erases what another source supplied.
    """

    key: str
    kind: RecipientKind
    role: Role
    organisation: str
    tz: str
    courtesy_title: str | None = None
    gender: Gender = Gender.UNKNOWN
    given_name: str | None = None
    family_name: str | None = None
    country: str | None = None
    host_country: str | None = None
    city: str | None = None
    email: str | None = None
    languages: tuple[str, ...] = ()
    committees: tuple[Membership, ...] = ()
    delegations: tuple[Membership, ...] = ()
    political_group: str | None = None
    political_group_raw: str | None = None
    national_party: str | None = None
    tags: tuple[str, ...] = ()
    priority: int = 2
    source: str | None = None
    source_date: dt.date | None = None
    status: RecipientStatus = RecipientStatus.ACTIVE
    provided: frozenset[str] = field(default=frozenset())


# The order in which fields appear in exports and in the CSV format.
RECORD_FIELDS: tuple[str, ...] = (
    "key",
    "kind",
    "role",
    "courtesy_title",
    "gender",
    "given_name",
    "family_name",
    "organisation",
    "country",
    "host_country",
    "city",
    "tz",
    "email",
    "languages",
    "committees",
    "delegations",
    "political_group",
    "political_group_raw",
    "national_party",
    "tags",
    "priority",
    "source",
    "source_date",
    "status",
)
