"""Data lint: warnings about recipient records that would put a mistake in front of a government.

Pure checks over `RecipientRecord` values. The cross-record ones (a name in capitals, a domain
one letter away from a common one) compare a record with a `ListSurvey` of the whole list, built
in one pass; the letter language comes from the caller, so that the gender check follows the
very choice the letters make (outreach/language.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace

from rapidfuzz.distance import OSA

from outreach.config import DataCheck
from outreach.forms import excellency_in
from outreach.message import domain_of
from outreach.recipients.record import Gender, RecipientRecord, Role
from outreach.recipients.validation import all_capitals

# Courtesy titles that open a name, in the languages the forms of address are written in
# (templates/forms_of_address.yaml), compared without case and without a final dot. "Excellency"
# in every language and "H.E." / "S.E." are caught anywhere by `excellency_in`. Left out on
# purpose, because they are also names or initials: "M.", "D.", "Don", "Lady", "Me".
TITLES: dict[str, frozenset[str]] = {
    "en": frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame"}),
    "fr": frozenset({"mme", "mmes", "mlle", "monsieur", "madame", "mademoiselle", "docteur", "pr"}),
    "de": frozenset({"herr", "herrn", "frau", "hr", "dr", "prof", "professor", "doktor"}),
    "ru": frozenset({"г-н", "г-жа", "господин", "госпожа", "господину", "госпоже", "д-р", "проф"}),
    "es": frozenset({"sr", "sra", "srta", "señor", "señora", "señorita", "dña", "dr", "dra"}),
}
_TITLE_WORDS = frozenset().union(*TITLES.values())
NAME_FIELDS = ("given_name", "family_name")
# A domain is "used many times" from this many addresses on, and a domain one edit away is
# suspect when it is used at most a fifth as often: `mfa.gov.exmaple` once beside 40 ×
# `mfa.gov.example`, but not `gov.us` 6 times beside `gov.uk` 10 times.
MANY = 5

LanguageOf = Callable[[RecipientRecord], str | None]


@dataclass(frozen=True, slots=True)
class DataWarning:
    """One warning: which check, which recipient (None for the segment), which field, what to do."""

    check: DataCheck
    key: str | None
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.key}: {self.field}: {self.message}"
            if self.key
            else f"{self.field}: {self.message}"
        )


@dataclass
class ListSurvey:
    """What the cross-record checks need to know of the whole list: name casing and domains."""

    names: Counter[str] = field(default_factory=Counter)  # field -> names with two letters or more
    capitals: Counter[str] = field(default_factory=Counter)  # field -> of those, all in capitals
    domains: Counter[str] = field(default_factory=Counter)
    near: dict[str, tuple[str, int] | None] = field(default_factory=dict, init=False, repr=False)
    common: list[tuple[str, int]] | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, records: Iterable[RecipientRecord]) -> ListSurvey:
        """The survey of some records (the database's list: `table.survey_list`)."""
        survey = cls()
        for record in records:
            survey.count(record.given_name, record.family_name, record.email)
        return survey

    def count(self, given_name: str | None, family_name: str | None, email: str | None) -> None:
        """Count one recipient in."""
        for name, value in zip(NAME_FIELDS, (given_name, family_name), strict=True):
            if value and sum(char.isalpha() for char in value) > 1:
                self.names[name] += 1
                self.capitals[name] += all_capitals(value)
        if email:
            self.domains[domain_of(email).lower()] += 1
        if self.common is not None:  # counted after a look-up: look again with the new counts
            self.near, self.common = {}, None

    def capitals_are_rare(self, name: str) -> bool:
        """Whether most names of this field in the list are not written in capitals."""
        return self.capitals[name] * 2 < self.names[name]

    def near_domain(self, domain: str) -> tuple[str, int] | None:
        """A domain used many times that `domain` is one edit from, with its count, if any."""
        if self.common is None:
            self.common = [(name, n) for name, n in self.domains.most_common() if n >= MANY]
        if domain not in self.near:
            used = self.domains[domain]
            self.near[domain] = next(
                (
                    (common, count)
                    for common, count in self.common
                    if used * MANY <= count
                    # Optimal string alignment: one insertion, deletion, substitution or
                    # swap of two neighbouring letters ("exmaple") is distance 1.
                    and OSA.distance(domain, common, score_cutoff=1) == 1
                ),
                None,
            )
        return self.near[domain]


def title_in_name(record: RecipientRecord) -> list[DataWarning]:
    """A courtesy title written inside a name field: the form of address adds its own."""
    found = []
    for name in NAME_FIELDS:
        value = getattr(record, name) or ""
        words = value.split()
        if words and words[0].rstrip(".,").casefold() in _TITLE_WORDS:
            title = f'the title "{words[0]}"'
        elif excellency_in(value):
            title = 'a form of "Excellency"'
        else:
            continue
        found.append(
            DataWarning(
                DataCheck.TITLE_IN_NAME,
                record.key,
                name,
                f'"{value}" contains {title}, which the form of address adds itself: remove '
                "it from the name (set courtesy_title and gender instead)",
            )
        )
    return found


def name_in_capitals(record: RecipientRecord, survey: ListSurvey) -> list[DataWarning]:
    """A name in capitals where most names of the list are not: it would print so."""
    found = []
    for name in NAME_FIELDS:
        value = getattr(record, name)
        if value and all_capitals(value) and survey.capitals_are_rare(name):
            others = survey.names[name] - survey.capitals[name]
            found.append(
                DataWarning(
                    DataCheck.NAME_IN_CAPITALS,
                    record.key,
                    name,
                    f'"{value}" is in capitals, unlike {others} of the {survey.names[name]} '
                    f"{name.replace('_', ' ')}s in the list: write it as a letter should print "
                    f'it, e.g. "{value.title()}"',
                )
            )
    return found


def same_names(record: RecipientRecord) -> list[DataWarning]:
    """The given name repeated as the family name: one of the two is wrong."""
    given, family = (
        " ".join((value or "").split()).casefold()
        for value in (record.given_name, record.family_name)
    )
    if not given or given != family:
        return []
    return [
        DataWarning(
            DataCheck.SAME_NAMES,
            record.key,
            "given_name",
            f'given_name and family_name are both "{record.family_name}": correct the one '
            "that is wrong",
        )
    ]


def gender_needed(record: RecipientRecord, language_of: LanguageOf) -> list[DataWarning]:
    """Gender unknown where the form of address in the recipient's language has no neutral form.

    German, for example, has no neutral "An Seine/Ihre Exzellenz": the letter then goes in the
    recipient's next language, or in none. `language_of` is the letters' own language choice.
    """
    if record.gender is not Gender.UNKNOWN or record.role is Role.OFFICE:
        return []
    unknown = language_of(record)
    for gender in (Gender.F, Gender.M):
        known = language_of(replace(record, gender=gender))
        if known is not None and known != unknown:
            return [
                DataWarning(
                    DataCheck.GENDER_NEEDED,
                    record.key,
                    "gender",
                    f"unknown, but the role {record.role.value} has no neutral form of address "
                    f"in {known}, so the letter is written in {unknown or 'no language'} "
                    "instead: set gender to m or f",
                )
            ]
    return []


def domain_typo(record: RecipientRecord, survey: ListSurvey) -> list[DataWarning]:
    """An address whose domain is one letter away from a domain the list uses many times."""
    if not record.email:
        return []
    domain = domain_of(record.email).lower()  # DNS names ignore case (RFC 4343)
    near = survey.near_domain(domain)
    if near is None:
        return []
    common, count = near
    return [
        DataWarning(
            DataCheck.DOMAIN_TYPO,
            record.key,
            "email",
            f"the domain {domain} is one letter away from {common}, which {count} recipients "
            f"use: correct {record.email} if it is a typing mistake",
        )
    ]


def empty_segment(where: Sequence[str]) -> DataWarning:
    """The warning for a segment that matches no recipient."""
    if not where:
        message = "the list has no recipients: import them with `outreach recipients import`"
    else:
        filters = " ".join(f"--where {item}" for item in where)
        message = (
            f"{' AND '.join(where)} matches no recipient: check the filters with "
            f"`outreach recipients list {filters}`"
        )
    return DataWarning(DataCheck.EMPTY_SEGMENT, None, "segment", message)


def check_record(
    record: RecipientRecord, survey: ListSurvey, language_of: LanguageOf
) -> list[DataWarning]:
    """Every warning about one record, in the order of the fields."""
    return [
        *title_in_name(record),
        *same_names(record),
        *name_in_capitals(record, survey),
        *gender_needed(record, language_of),
        *domain_typo(record, survey),
    ]


@dataclass
class Linter:
    """The checks of one segment: each record added is checked against the list's survey."""

    survey: ListSurvey
    language_of: LanguageOf
    segment: Sequence[str] = ()
    matched: int = 0
    found: list[DataWarning] = field(default_factory=list)

    def add(self, record: RecipientRecord, *, checked: bool = True) -> None:
        """Count a recipient of the segment; check it when it gets a letter (`checked`)."""
        self.matched += 1
        if checked:
            self.found.extend(check_record(record, self.survey, self.language_of))

    @property
    def warnings(self) -> list[DataWarning]:
        """The warnings so far; the segment's own first when it matched nobody."""
        return self.found if self.matched else [empty_segment(self.segment), *self.found]


def blocked_by(warnings: Iterable[DataWarning], block: Collection[str]) -> list[DataWarning]:
    """The warnings whose check `checks.block` names (or every one with "all")."""
    return [w for w in warnings if "all" in block or w.check in block]


def refusal(blocked: Sequence[DataWarning], action: str, outcome: str) -> str:
    """The message that refuses `action` because of blocking warnings."""
    return (
        f"{len(blocked)} data warning(s) block {action}, the first: {blocked[0]}; {outcome}. "
        "Correct it, or take its check out of checks.block in the configuration"
    )
