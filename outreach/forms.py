"""Forms of address as data: load `forms_of_address.yaml`, look up and fill an entry."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from outreach.errors import OutreachError
from outreach.recipients.record import Gender, RecipientKind, RecipientRecord, Role

# A letter cannot be made without these when its entry uses them.
REQUIRED_PLACEHOLDERS = frozenset({"given_name", "family_name", "organisation"})
# These may be empty (print nothing); they are allowed only in the address block, because an
# empty one in a salutation ("Dear  Exemple,") cannot be repaired by collapsing spaces.
OPTIONAL_PLACEHOLDERS = frozenset({"courtesy_title", "city", "country_name"})
PLACEHOLDERS = REQUIRED_PLACEHOLDERS | OPTIONAL_PLACEHOLDERS

# Roles that are never addressed as "Excellency", in any language (DOMAIN.md).
NEVER_EXCELLENCY = frozenset({Role.CHARGE_D_AFFAIRES, Role.SPECIAL_RAPPORTEUR})
# Catches "Excellency", "Excellence", "Exzellenz", "Excelencia", "Excelentísimo", "Excmo.",
# "Превосходительство" in any case and declension, and the abbreviations "H.E." / "S.E.".
_EXCELLENCY = re.compile(
    r"excellen|exzellen|excelen|excm|превосходительств|\b[HS]\.\s?E\.", re.IGNORECASE
)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SPACES = re.compile(r"[ \t]{2,}")

_BLOCK_KEYS = frozenset({"role", "kinds", "languages"})
_ENTRY_KEYS = frozenset({"salutation", "address_block", "closing"})
_GENDER_KEYS = frozenset(g.value for g in Gender)

_E = TypeVar("_E", Role, RecipientKind)


class FormsError(OutreachError):
    """The forms-of-address file is invalid, or an entry cannot be filled for a recipient."""

    exit_code = 65  # EX_DATAERR


def excellency_in(text: str) -> bool:
    """Tell whether `text` contains a form of "Excellency" in any supported language."""
    return _EXCELLENCY.search(text) is not None


@dataclass(frozen=True, slots=True)
class FilledForm:
    """An entry filled in for one recipient: what the letter prints."""

    salutation: str
    address_block: tuple[str, ...]
    closing: str


@dataclass(frozen=True, slots=True)
class AddressForm:
    """One entry of the table: salutation, address-block line templates and closing."""

    where: str  # "ambassador/fr/m", to name the entry in error messages
    salutation: str
    address_block: tuple[str, ...]
    closing: str
    reviewed: bool

    def fill(self, values: Mapping[str, str | None]) -> FilledForm:
        """Fill the placeholders from `values`; raise FormsError if a required one is empty."""
        clean = {name: (values.get(name) or "").strip() for name in PLACEHOLDERS}
        for template in (self.salutation, *self.address_block, self.closing):
            for name in sorted(_placeholders(template) & REQUIRED_PLACEHOLDERS):
                if not clean[name]:
                    raise FormsError(
                        f"forms of address {self.where}: needs {{{name}}}, "
                        "which the recipient does not have; add it to the recipient record"
                    )
        # An address line left with only a separator ("Yerevan, " without a country) is dropped.
        lines = (_collapse(line.format_map(clean)).strip(" ,") for line in self.address_block)
        return FilledForm(
            salutation=_collapse(self.salutation.format_map(clean)),
            address_block=tuple(line for line in lines if line),
            closing=_collapse(self.closing.format_map(clean)),
        )


@dataclass(frozen=True, slots=True)
class _LanguageForms:
    """The entries of one block in one language, keyed by gender."""

    reviewed: bool
    entries: Mapping[Gender, AddressForm]


@dataclass(frozen=True, slots=True)
class FormsOfAddress:
    """The whole table; `lookup` picks the entry for a recipient."""

    path: Path
    # (role, kind) for kind-specific blocks, (role, None) for a role's general block.
    blocks: Mapping[tuple[Role, RecipientKind | None], Mapping[str, _LanguageForms]]

    def lookup(
        self, role: Role, kind: RecipientKind, language: str, gender: Gender
    ) -> AddressForm | None:
        """Return the entry for this recipient, or None if `language` has no fitting form.

        A kind-specific block wins and never falls back to the role's general block: a generic
        "Dear Sir or Madam" is wrong for an embassy. Within a language, a missing m/f entry falls
        back to the neutral `unknown` entry, never the reverse (gender is never guessed). The
        language must match exactly; trying `fr` after `fr-BE` is the caller's job.
        """
        block = self.blocks.get((role, kind))
        if block is None:
            block = self.blocks.get((role, None))
        if block is None:
            return None
        forms = block.get(language)
        if forms is None:
            return None
        return forms.entries.get(gender) or forms.entries.get(Gender.UNKNOWN)

    def languages(self, role: Role, kind: RecipientKind) -> tuple[str, ...]:
        """List the languages that have any entry for this role and kind, in file order."""
        block = self.blocks.get((role, kind)) or self.blocks.get((role, None)) or {}
        return tuple(block)


def recipient_values(
    recipient: RecipientRecord, country_name: str | None = None
) -> dict[str, str | None]:
    """Return the placeholder values of a recipient; `country_name` is localised by the caller."""
    return {
        "courtesy_title": recipient.courtesy_title,
        "given_name": recipient.given_name,
        "family_name": recipient.family_name,
        "organisation": recipient.organisation,
        "city": recipient.city,
        "country_name": country_name,
    }


def load_forms(path: Path) -> FormsOfAddress:
    """Load and validate the forms-of-address file; raise FormsError naming file and entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FormsError(f"{path}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise FormsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("forms"), list):
        raise FormsError(f"{path}: forms: expected a list of blocks under the key `forms`")
    blocks: dict[tuple[Role, RecipientKind | None], Mapping[str, _LanguageForms]] = {}
    for index, raw in enumerate(data["forms"]):
        where = f"forms[{index}]"
        role, kinds, languages = _parse_block(path, where, raw)
        # The name tells which block an entry came from: "office[embassy]/en/unknown".
        name = role.value
        if kinds != (None,):
            name += "[" + ",".join(kind.value for kind in kinds if kind) + "]"
        where = f"forms[{index}] ({name})"
        parsed = {
            language: _parse_language(path, f"{where}.{language}", role, name, language, body)
            for language, body in languages.items()
        }
        for kind in kinds:
            if (role, kind) in blocks:
                which = f"kind {kind.value}" if kind else "no kinds"
                raise FormsError(f"{path}: {where}: a second block for {role.value} with {which}")
            blocks[(role, kind)] = parsed
    return FormsOfAddress(path=path, blocks=blocks)


def _parse_block(
    path: Path, where: str, raw: object
) -> tuple[Role, tuple[RecipientKind | None, ...], dict[str, Any]]:
    """Check one block's shape; return its role, kinds (None = general) and languages."""
    if not isinstance(raw, dict):
        raise FormsError(f"{path}: {where}: expected a mapping with role and languages")
    _no_unknown_keys(path, where, raw, _BLOCK_KEYS)
    role = _enum(path, f"{where}.role", Role, raw.get("role"))
    kinds: tuple[RecipientKind | None, ...] = (None,)
    if "kinds" in raw:
        if not isinstance(raw["kinds"], list) or not raw["kinds"]:
            raise FormsError(f"{path}: {where}.kinds: expected a non-empty list of kinds")
        kinds = tuple(_enum(path, f"{where}.kinds", RecipientKind, k) for k in raw["kinds"])
    languages = raw.get("languages")
    if not isinstance(languages, dict) or not languages:
        raise FormsError(f"{path}: {where}.languages: expected a mapping of languages")
    return role, kinds, languages


def _parse_language(
    path: Path, where: str, role: Role, name: str, language: object, raw: object
) -> _LanguageForms:
    """Check one language of a block and build its entries."""
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise FormsError(f"{path}: {where}: {language!r} is not a language tag such as fr")
    if not isinstance(raw, dict):
        raise FormsError(f"{path}: {where}: expected a mapping with reviewed and genders")
    _no_unknown_keys(path, where, raw, {"reviewed", "reviewed_by"} | _GENDER_KEYS)
    reviewed = raw.get("reviewed")
    if not isinstance(reviewed, bool):
        raise FormsError(f"{path}: {where}.reviewed: expected true or false")
    entries: dict[Gender, AddressForm] = {}
    for gender in Gender:
        if gender.value in raw:
            entries[gender] = _parse_entry(
                path,
                f"{where}.{gender.value}",
                role,
                reviewed,
                raw[gender.value],
                label=f"{name}/{language}/{gender.value}",
            )
    if not entries:
        raise FormsError(f"{path}: {where}: no entry for m, f or unknown")
    return _LanguageForms(reviewed=reviewed, entries=entries)


def _parse_entry(
    path: Path, where: str, role: Role, reviewed: bool, raw: object, label: str
) -> AddressForm:
    """Check one entry: fields, placeholders and the Excellency rules."""
    if not isinstance(raw, dict):
        raise FormsError(f"{path}: {where}: expected salutation, address_block and closing")
    _no_unknown_keys(path, where, raw, _ENTRY_KEYS)
    salutation = _text(path, f"{where}.salutation", raw.get("salutation"))
    closing = _text(path, f"{where}.closing", raw.get("closing"))
    lines = raw.get("address_block")
    if not isinstance(lines, list) or not lines:
        raise FormsError(f"{path}: {where}.address_block: expected a non-empty list of lines")
    block = tuple(_text(path, f"{where}.address_block[{i}]", v) for i, v in enumerate(lines))
    for field, value, allowed in (
        ("salutation", salutation, REQUIRED_PLACEHOLDERS),
        ("closing", closing, REQUIRED_PLACEHOLDERS),
        *((f"address_block[{i}]", v, PLACEHOLDERS) for i, v in enumerate(block)),
    ):
        _check_placeholders(path, f"{where}.{field}", value, allowed)
        if role in NEVER_EXCELLENCY and excellency_in(value):
            raise FormsError(f"{path}: {where}.{field}: a {role.value} is never 'Excellency'")
    for i, line in enumerate(block[1:], start=1):
        if excellency_in(line):
            raise FormsError(
                f"{path}: {where}.address_block[{i}]: 'Excellency' must come first, "
                "on the first line of the address block"
            )
    return AddressForm(
        where=label,
        salutation=salutation,
        address_block=block,
        closing=closing,
        reviewed=reviewed,
    )


def _check_placeholders(path: Path, where: str, template: str, allowed: frozenset[str]) -> None:
    """Reject unknown placeholders, format specs and attribute access in a line template."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise FormsError(f"{path}: {where}: bad braces in {template!r}: {exc}") from exc
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            known = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))
            raise FormsError(f"{path}: {where}: unknown placeholder {{{name}}}; use {known}")
        if name not in allowed:
            raise FormsError(
                f"{path}: {where}: {{{name}}} may be empty, so it is allowed only in "
                "the address block"
            )


def _placeholders(template: str) -> set[str]:
    """Return the placeholder names a (validated) template uses."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _collapse(text: str) -> str:
    """Remove the gaps an empty optional placeholder leaves behind."""
    return _SPACES.sub(" ", text).strip()


def _text(path: Path, where: str, value: object) -> str:
    """Return a non-empty string or raise."""
    if not isinstance(value, str) or not value.strip():
        raise FormsError(f"{path}: {where}: expected non-empty text")
    return value


def _enum(path: Path, where: str, enum: type[_E], value: object) -> _E:
    """Return the enum member named by `value` or raise, listing the valid values."""
    valid = [member.value for member in enum]
    if isinstance(value, str) and value in valid:
        return enum(value)
    raise FormsError(f"{path}: {where}: {value!r} is not one of {', '.join(valid)}")


def _no_unknown_keys(
    path: Path, where: str, raw: dict[Any, Any], allowed: frozenset[str] | set[str]
) -> None:
    """Reject misspelt keys, which would otherwise be silently ignored."""
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise FormsError(f"{path}: {where}: unknown key(s) {', '.join(unknown)}")
