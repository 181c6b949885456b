"""Read MEPs from the EP Open Data Portal API v2 (data.europarl.europa.eu/api/v2/meps) JSON-LD.

Two documents come from the API. The list (/meps, /meps/show-current) gives per MEP `identifier`,
`givenName`, `familyName`, `label`, `api:country-of-representation` and `api:political-group`.
The detail (/meps/{id}) adds `hasEmail` (a mailto: URI), `hasHonorificPrefix` and `hasGender`
(Publications Office authority URIs ending /MR, /MS, /MALE, /FEMALE) and `hasMembership`: each
with `organization` ("org/6562"), `role` ("def/ep-roles/MEMBER_SUBSTITUTE"), `memberDuring`
(startDate, endDate) and `membershipClassification` ("def/ep-entities/COMMITTEE_PARLIAMENTARY_SUB").

A membership names its body only by id. The body's code ("AFET") is the `label` of
/corporate-bodies/{id}; the detail document does not carry it unless it was requested with the
bodies included (`json-layout=framed-and-included` puts them in `included`), framed inside the
membership, or given to `read_ep_json` as `organisations`. When a current committee's code is
unknown, `committees` is left out of `provided` rather than imported incomplete.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pycountry

from outreach.errors import Problem, RecipientError
from outreach.recipients.ep_common import (
    ORGANISATION,
    build_record,
    clean_text,
    file_date,
    group_code,
    split_full_name,
)
from outreach.recipients.record import MembershipRole, RecipientRecord

SOURCE_URL = "https://data.europarl.europa.eu/api/v2/meps"

_HONORIFICS = {"MR": ("Mr", "m"), "MS": ("Ms", "f"), "DR": ("Dr", None)}
_GENDERS = {"MALE": "m", "FEMALE": "f"}
# When one body lists an MEP twice (member, then chair), the stronger role is kept.
_STRENGTH = {
    MembershipRole.CHAIR: 3,
    MembershipRole.VICE_CHAIR: 2,
    MembershipRole.MEMBER: 1,
    MembershipRole.SUBSTITUTE: 0,
}
# The keys where a body may carry its code, most specific first.
_CODE_KEYS = ("api:committee-code", "notation", "skos:notation", "label")

_Json = dict[str, Any]


def read_ep_json(
    path: Path,
    *,
    today: dt.date | None = None,
    source_date: dt.date | None = None,
    organisations: Mapping[str, str] | None = None,
) -> Iterator[RecipientRecord | list[Problem]]:
    """Yield one validated recipient, or its problems, per MEP of an API list or detail document.

    Memberships count when current on `today` (default: the real today). `source_date` is when
    the document was downloaded (default: the file's modification date). `organisations` maps
    body ids ("org/6562") to codes ("AFET") that the document itself lacks.
    """
    document = _load(path)
    today = today or dt.date.today()
    source_date = source_date or file_date(path)
    persons, bodies = _split(document, path)
    for key, code in (organisations or {}).items():
        bodies.setdefault(_org_key(key), {"label": code})
    for index, person in enumerate(persons):
        if not isinstance(person, dict):
            yield [Problem(str(path), None, "data", f"item {index + 1} is not a JSON object")]
            continue
        yield _Person(person, path, bodies, today).record(source_date)


def _load(path: Path) -> object:
    """Parse the file, turning every way it can fail into a RecipientError that says what to do."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RecipientError(
            f"{path}: cannot read the file ({exc.strerror}): check the path"
        ) from exc
    except UnicodeDecodeError as exc:
        raise RecipientError(
            f"{path}: the file is not UTF-8 (byte {exc.start}): download it again from the API"
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipientError(
            f"{path}:{exc.lineno}:{exc.colno}: the file is not valid JSON ({exc.msg}): download "
            f"it again from {SOURCE_URL} with Accept: application/ld+json, "
            "or correct the file at that position"
        ) from exc


def _split(document: object, path: Path) -> tuple[list[object], dict[str, _Json]]:
    """Separate the MEPs of a list or detail document from the bodies it may include."""
    if isinstance(document, list):
        items: list[object] = document
    elif isinstance(document, dict):
        data = document.get("data", document.get("@graph"))
        if data is None and ("identifier" in document or document.get("type") == "Person"):
            data = [document]  # a bare person object
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise RecipientError(
                f'{path}: no "data" list of MEPs: this is not an EP Open Data API document; '
                f"download it from {SOURCE_URL}"
            )
        included = document.get("included")
        items = data + (included if isinstance(included, list) else [])
    else:
        raise RecipientError(
            f"{path}: expected a JSON object or list, got {type(document).__name__}"
        )
    persons: list[object] = []
    bodies: dict[str, _Json] = {}
    for item in items:
        if isinstance(item, dict) and _is_body(item):
            ident = item.get("id") or item.get("@id") or item.get("identifier")
            bodies[_org_key(str(ident))] = item
        else:
            persons.append(item)
    return persons, bodies


def _is_body(item: _Json) -> bool:
    """True for an organisation (committee, delegation, group, party), not a person."""
    kind = item.get("type") or item.get("@type")
    ident = str(item.get("id") or item.get("@id") or "")
    return kind in ("Organization", "org:Organization") or ident.rpartition("/")[0].endswith("org")


def _org_key(value: str) -> str:
    """Normalise a body reference: "https://data.europarl.europa.eu/org/6562" and "6562" alike."""
    _, found, rest = value.rpartition("org/")
    return f"org/{rest}" if found else f"org/{value}"


def _tail(value: object) -> str:
    """The last path segment of a URI ("def/ep-roles/MEMBER" -> "MEMBER")."""
    return str(value or "").rstrip("/").rpartition("/")[2].upper()


def _role(value: object) -> MembershipRole:
    """Map an EP role URI to a membership role; unknown roles (e.g. QUAESTOR) count as member."""
    tail = _tail(value)
    if "VICE_CHAIR" in tail:
        return MembershipRole.VICE_CHAIR
    if tail.startswith("CHAIR"):  # CHAIR, CHAIR_CO
        return MembershipRole.CHAIR
    if "SUBSTITUTE" in tail:
        return MembershipRole.SUBSTITUTE
    return MembershipRole.MEMBER


class _Person:
    """One MEP object of the document, read into the fields the validator takes."""

    def __init__(self, person: _Json, path: Path, bodies: Mapping[str, _Json], today: dt.date):
        self.person = person
        self.path = path
        self.bodies = bodies
        self.today = today
        ident = str(person.get("identifier") or _tail(person.get("id")) or "").strip()
        self.ident = ident
        self.source = f"{path} (MEP {ident})" if ident else str(path)
        self.problems: list[Problem] = []

    def fail(self, name: str, message: str) -> None:
        """Record one problem of this MEP."""
        self.problems.append(Problem(self.source, None, name, message))

    def record(self, source_date: dt.date) -> RecipientRecord | list[Problem]:
        """Validate this MEP; `fields` holds only what the document carries."""
        if not self.ident.isascii() or not self.ident.isdigit():
            self.fail("key", f'"{self.ident}" is not a numeric EP identifier')
        fields: dict[str, object] = {
            "key": f"mep-{self.ident}",
            "kind": "mep",
            "role": "mep",
            "organisation": ORGANISATION,
            "source": f"EP Open Data API v2 ({self.path.name})",
            "source_date": source_date.isoformat(),
        }
        current = self.current_memberships()
        country = self.country(current)
        if country:
            fields["country"] = country
        self.names(fields, country)
        self.group(fields, current)
        self.address(fields)
        if "hasMembership" in self.person:
            self.bodies_of(fields, current)
        if self.problems:
            return self.problems
        return build_record(fields, source=self.source, line=None)

    def current_memberships(self) -> list[_Json]:
        """The memberships under way on `today`: started, and not ended before it."""
        memberships = self.person.get("hasMembership") or []
        if not isinstance(memberships, list):
            self.fail("hasMembership", "is not a list")
            return []
        current: list[_Json] = []
        for membership in memberships:
            if not isinstance(membership, dict):
                continue
            period = membership.get("memberDuring") or {}
            start = self.date(period.get("startDate"))
            end = self.date(period.get("endDate"))
            if (start is None or start <= self.today) and (end is None or end >= self.today):
                current.append(membership)
        return current

    def date(self, value: object) -> dt.date | None:
        """An xsd:date or dateTime ("2024-07-16", "2024-07-16T00:00:00+02:00") as a date."""
        if value in (None, ""):
            return None
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            self.fail("memberDuring", f'"{value}" is not a date: download the document again')
            return None

    def names(self, fields: dict[str, object], country: str | None) -> None:
        """Given and family name; `familyName` is authoritative, `label` only a fallback."""
        given = clean_text(str(self.person.get("givenName") or ""))
        family = clean_text(str(self.person.get("familyName") or ""))
        if not family:
            split = split_full_name(str(self.person.get("label") or ""), country)
            if split is None:
                self.fail("family_name", "no familyName, and none can be read from the label")
                return
            given, family = given or split[0], split[1]
        fields["given_name"] = given
        fields["family_name"] = family

    def country(self, current: list[_Json]) -> str | None:
        """The state represented: the list's code, else the current mandate's `represents`."""
        code = self.person.get("api:country-of-representation")
        if code:
            return str(code)  # validation normalises EL to GR
        for membership in current:
            if _tail(membership.get("role")) != "MEMBER_PARLIAMENT":
                continue
            for uri in membership.get("represents") or []:
                found = pycountry.countries.get(alpha_3=_tail(uri))
                if found is not None:
                    return str(found.alpha_2)
        return None

    def group(self, fields: dict[str, object], current: list[_Json]) -> None:
        """The political group: the list's code, else the current group membership's body."""
        raw = self.person.get("api:political-group")
        if not raw:
            for membership in current:
                if _tail(membership.get("membershipClassification")) == "EU_POLITICAL_GROUP":
                    raw = self.code(membership.get("organization"))
                    break
        if not raw:
            return
        code = group_code(str(raw))
        if code is None:
            self.fail(
                "political_group",
                f'unknown political group "{raw}": add its spelling to _GROUP_ALIASES in '
                "outreach/recipients/ep_common.py",
            )
            return
        fields["political_group"] = code
        fields["political_group_raw"] = clean_text(str(raw))

    def address(self, fields: dict[str, object]) -> None:
        """E-mail, courtesy title and gender, each only when the document states it."""
        email = self.person.get("hasEmail")
        if isinstance(email, list):
            email = email[0] if email else None
        if email:
            fields["email"] = str(email).removeprefix("mailto:")
        title, gender = _HONORIFICS.get(_tail(self.person.get("hasHonorificPrefix")), (None, None))
        gender = _GENDERS.get(_tail(self.person.get("hasGender")), gender)
        if title:
            fields["courtesy_title"] = title
        if gender:
            fields["gender"] = gender

    def bodies_of(self, fields: dict[str, object], current: list[_Json]) -> None:
        """Current committees, delegations and national party, from the memberships."""
        found: dict[str, dict[str, MembershipRole]] = {"committees": {}, "delegations": {}}
        unresolved: set[str] = set()
        for membership in current:
            kind = _tail(membership.get("membershipClassification"))
            if kind == "NATIONAL_POLITICAL_GROUP":
                party = self.code(membership.get("organization"))
                if party:
                    fields["national_party"] = party
                continue
            if kind.startswith("COMMITTEE_PARLIAMENTARY"):
                name = "committees"
            elif kind.startswith("DELEGATION"):
                name = "delegations"
            else:
                continue
            code = self.code(membership.get("organization"))
            if code is None:
                unresolved.add(name)
                continue
            role = _role(membership.get("role"))
            held = found[name].get(code.upper())
            if held is None or _STRENGTH[role] > _STRENGTH[held]:
                found[name][code.upper()] = role
        for name, codes in found.items():
            # A list missing a body would erase it on re-import: better not to provide it.
            if name not in unresolved:
                fields[name] = [
                    code if role is MembershipRole.MEMBER else f"{code}:{role}"
                    for code, role in codes.items()
                ]

    def code(self, organisation: object) -> str | None:
        """The code or label of a body, framed in the membership or found among the bodies."""
        body = organisation if isinstance(organisation, dict) else None
        if body is None and organisation:
            body = self.bodies.get(_org_key(str(organisation)))
        if body is None:
            return None
        for key in _CODE_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return clean_text(value)
        return None
