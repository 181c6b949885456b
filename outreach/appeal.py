"""The appeal as data: load and validate `appeal.yaml` (text, demands, signatories, languages)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, TypeVar

import yaml

from outreach.errors import InputError, OutreachError
from outreach.recipients.record import RecipientRecord
from outreach.recipients.segment import Filter, matches, parse_where

APPEAL_FILE = "appeal.yaml"
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
DEMAND_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,40}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

_TOP_KEYS = frozenset(
    {
        "slug",
        "title",
        "date",
        "default_language",
        "source",
        "languages",
        "body",
        "demands",
        "signatories",
        "attachments",
        "asks",
    }
)
_REQUIRED_TOP_KEYS = _TOP_KEYS - {"source", "attachments", "asks"}

_K = TypeVar("_K")
_V = TypeVar("_V")


class AppealError(OutreachError):
    """An appeal folder or its appeal.yaml is invalid; the message names the file and field."""

    exit_code = 65  # EX_DATAERR


class TextStatus(StrEnum):
    """Whether a language version is the text as written or a translation of it."""

    ORIGINAL = "original"
    TRANSLATION = "translation"


@dataclass(frozen=True, slots=True)
class LanguageVersion:
    """The standing of one language version; a translation must be reviewed before use."""

    status: TextStatus
    reviewed: bool
    reviewed_by: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Demand:
    """One demand of the appeal; `key` is stable because replies are coded against it."""

    key: str
    text: Mapping[str, str]  # language -> the demand, without trailing punctuation
    keywords: Mapping[str, tuple[str, ...]]  # language -> phrases suggesting a reply addresses it


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with the letter; `languages` empty means every language."""

    path: Path
    languages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ask:
    """A rule: recipients matching every filter are asked only these demands."""

    where: tuple[Filter, ...]
    demands: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Appeal:
    """A validated appeal: every listed language has the whole text.

    Mappings are read-only views; the object is immutable but not hashable.
    """

    slug: str
    folder: Path
    title: Mapping[str, str]
    date: dt.date
    default_language: str
    languages: Mapping[str, LanguageVersion]
    intro: Mapping[str, tuple[str, ...]]
    lead_in: Mapping[str, str]
    closing: Mapping[str, tuple[str, ...]]
    demands: tuple[Demand, ...]
    signatories: tuple[str, ...]
    attachments: tuple[Attachment, ...] = ()
    source: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    asks: tuple[Ask, ...] = ()

    def demands_for(self, recipient: RecipientRecord) -> tuple[Demand, ...]:
        """The demands this recipient is asked: the first matching ask, else all of them."""
        for ask in self.asks:
            if matches(ask.where, recipient):
                return tuple(demand for demand in self.demands if demand.key in ask.demands)
        return self.demands

    @property
    def demand_keys(self) -> tuple[str, ...]:
        """The demands' keys, in the appeal's order."""
        return tuple(demand.key for demand in self.demands)

    def demand(self, key: str) -> Demand:
        """Return the demand with this key; raise AppealError naming the valid keys."""
        for demand in self.demands:
            if demand.key == key:
                return demand
        raise AppealError(
            f"appeal {self.slug}: no demand {key!r}; its demands are {', '.join(self.demand_keys)}"
        )


@dataclass(frozen=True, slots=True)
class AppealSummary:
    """What a listing of appeals shows."""

    slug: str
    folder: Path
    title: str  # in the default language
    date: dt.date
    default_language: str
    languages: tuple[str, ...]
    unreviewed: tuple[str, ...]  # languages whose text still awaits review


def list_appeals(root: Path) -> list[AppealSummary]:
    """Load every appeal folder under `root` (newest first); raise AppealError on a broken one."""
    summaries = []
    for folder in sorted(p for p in root.iterdir() if (p / APPEAL_FILE).is_file()):
        appeal = load_appeal(folder)
        summaries.append(
            AppealSummary(
                slug=appeal.slug,
                folder=appeal.folder,
                title=appeal.title[appeal.default_language],
                date=appeal.date,
                default_language=appeal.default_language,
                languages=tuple(appeal.languages),
                unreviewed=tuple(k for k, v in appeal.languages.items() if not v.reviewed),
            )
        )
    summaries.sort(key=lambda s: (s.date, s.slug), reverse=True)
    return summaries


def load_appeal(folder: Path) -> Appeal:
    """Load and validate `folder/appeal.yaml`; raise AppealError naming the file and the field."""
    file = folder / APPEAL_FILE
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AppealError(f"{folder}: not an appeal folder: it has no {APPEAL_FILE}") from None
    except OSError as exc:
        raise AppealError(f"{file}: cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise AppealError(f"{file}: not valid YAML: {exc}") from exc
    return _Parser(file).appeal(data)


class _Parser:
    """Validation of one file; every error names the file and the dotted field."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, field: str, message: str) -> AppealError:
        """Build the error for one field."""
        return AppealError(f"{self.file}: {field}: {message}")

    def appeal(self, data: object) -> Appeal:
        """Validate the whole document and build the Appeal."""
        if not isinstance(data, dict):
            raise AppealError(f"{self.file}: expected a mapping of fields at the top level")
        self.keys("(top level)", data, _TOP_KEYS)
        missing = sorted(_REQUIRED_TOP_KEYS - data.keys())
        if missing:
            raise self.fail(missing[0], "missing")
        slug = self.text("slug", data["slug"])
        if not SLUG_PATTERN.match(slug):
            raise self.fail("slug", f"{slug!r} must match {SLUG_PATTERN.pattern}")
        folder = self.file.parent
        if folder.name != slug:
            raise self.fail("slug", f"{slug!r} differs from the folder name {folder.name!r}")
        languages = self.languages(data["languages"])
        default = self.text("default_language", data["default_language"])
        if default not in languages:
            raise self.fail("default_language", f"{default!r} is not listed under languages")
        intro: dict[str, tuple[str, ...]] = {}
        lead_in: dict[str, str] = {}
        closing: dict[str, tuple[str, ...]] = {}
        body = self.per_language("body", data["body"], languages)
        for language, raw in body.items():
            where = f"body.{language}"
            if not isinstance(raw, dict):
                raise self.fail(where, "expected intro, lead_in and closing")
            self.keys(where, raw, {"intro", "lead_in", "closing"})
            intro[language] = self.paragraphs(f"{where}.intro", raw.get("intro"))
            lead_in[language] = self.text(f"{where}.lead_in", raw.get("lead_in"))
            closing[language] = self.paragraphs(f"{where}.closing", raw.get("closing"))
        title = self.per_language("title", data["title"], languages)
        return Appeal(
            slug=slug,
            folder=folder,
            title=_frozen({k: self.text(f"title.{k}", v) for k, v in title.items()}),
            date=self.date("date", data["date"]),
            default_language=default,
            languages=_frozen(languages),
            intro=_frozen(intro),
            lead_in=_frozen(lead_in),
            closing=_frozen(closing),
            demands=self.demands(data["demands"], languages),
            signatories=self.signatories(data["signatories"]),
            attachments=self.attachments(data.get("attachments", []), languages),
            source=_frozen(self.source(data.get("source", {}))),
            asks=self.asks(data.get("asks", []), data["demands"]),
        )

    def asks(self, raw: object, raw_demands: object) -> tuple[Ask, ...]:
        """Validate the `asks` rules: known filters and known demand keys."""
        if not isinstance(raw, list):
            raise self.fail("asks", "expected a list of {where, demands} rules")
        known: set[str] = set()
        if isinstance(raw_demands, list):
            known = {str(d.get("key")) for d in raw_demands if isinstance(d, dict)}
        rules = []
        for index, rule in enumerate(raw):
            where = f"asks[{index}]"
            if not isinstance(rule, dict):
                raise self.fail(where, "expected a mapping with where and demands")
            self.keys(where, rule, {"where", "demands"})
            filters = rule.get("where")
            demands = rule.get("demands")
            if not isinstance(filters, list) or not filters:
                raise self.fail(f"{where}.where", "expected a list of FIELD=VALUE filters")
            if not isinstance(demands, list) or not demands:
                raise self.fail(f"{where}.demands", "expected a list of demand keys")
            for key in demands:
                if key not in known:
                    raise self.fail(
                        f"{where}.demands", f"no demand {key!r}; the demands are {sorted(known)}"
                    )
            try:
                parsed = parse_where([str(item) for item in filters])
            except InputError as exc:
                raise self.fail(f"{where}.where", str(exc)) from None
            rules.append(Ask(tuple(parsed), tuple(str(key) for key in demands)))
        return tuple(rules)

    def languages(self, raw: object) -> dict[str, LanguageVersion]:
        """Validate the `languages` map."""
        if not isinstance(raw, dict) or not raw:
            raise self.fail("languages", "expected a mapping of language tags")
        result: dict[str, LanguageVersion] = {}
        for language, spec in raw.items():
            where = f"languages.{language}"
            if not isinstance(language, str) or not _LANGUAGE.match(language):
                raise self.fail(where, f"{language!r} is not a language tag such as en or fr")
            if not isinstance(spec, dict):
                raise self.fail(where, "expected status and reviewed")
            self.keys(where, spec, {"status", "reviewed", "reviewed_by", "note"})
            status = spec.get("status")
            if status not in {s.value for s in TextStatus}:
                raise self.fail(f"{where}.status", f"{status!r} is not original or translation")
            reviewed = spec.get("reviewed")
            if not isinstance(reviewed, bool):
                raise self.fail(f"{where}.reviewed", "expected true or false")
            reviewed_by = self.optional_text(f"{where}.reviewed_by", spec.get("reviewed_by"))
            # A reviewed translation must say who vouched for it.
            if status == TextStatus.TRANSLATION and reviewed and not reviewed_by:
                raise self.fail(f"{where}.reviewed_by", "a reviewed translation names its reviewer")
            result[language] = LanguageVersion(
                status=TextStatus(status),
                reviewed=reviewed,
                reviewed_by=reviewed_by,
                note=self.optional_text(f"{where}.note", spec.get("note")),
            )
        if not any(v.status is TextStatus.ORIGINAL for v in result.values()):
            raise self.fail("languages", "no language has status original")
        return result

    def per_language(self, field: str, raw: object, languages: Mapping[str, Any]) -> dict[str, Any]:
        """Check that a per-language map has exactly the listed languages."""
        if not isinstance(raw, dict):
            raise self.fail(field, "expected a mapping from language to text")
        for language in raw:
            if language not in languages:
                raise self.fail(f"{field}.{language}", "language not listed under languages")
        for language in languages:
            if language not in raw:
                raise self.fail(f"{field}.{language}", "missing (every listed language needs it)")
        return raw

    def demands(self, raw: object, languages: Mapping[str, Any]) -> tuple[Demand, ...]:
        """Validate the demands: unique well-formed keys, text in every language."""
        if not isinstance(raw, list) or not raw:
            raise self.fail("demands", "expected a non-empty list")
        result: list[Demand] = []
        for index, item in enumerate(raw):
            where = f"demands[{index}]"
            if not isinstance(item, dict):
                raise self.fail(where, "expected key, text and keywords")
            self.keys(where, item, {"key", "text", "keywords"})
            key = self.text(f"{where}.key", item.get("key"))
            if not DEMAND_KEY_PATTERN.match(key):
                raise self.fail(f"{where}.key", f"{key!r} must match {DEMAND_KEY_PATTERN.pattern}")
            if key in {d.key for d in result}:
                raise self.fail(f"{where}.key", f"{key!r} is used by an earlier demand")
            texts = self.per_language(f"{where}.text", item.get("text"), languages)
            keywords = item.get("keywords", {})
            if not isinstance(keywords, dict):
                raise self.fail(f"{where}.keywords", "expected a mapping from language to list")
            words: dict[str, tuple[str, ...]] = {}
            for language, phrases in keywords.items():
                field = f"{where}.keywords.{language}"
                if language not in languages:
                    raise self.fail(field, "language not listed under languages")
                if not isinstance(phrases, list):
                    raise self.fail(field, "expected a list of phrases")
                words[language] = tuple(
                    self.text(f"{field}[{i}]", p) for i, p in enumerate(phrases)
                )
            result.append(
                Demand(
                    key=key,
                    text=_frozen({k: self.text(f"{where}.text.{k}", v) for k, v in texts.items()}),
                    keywords=_frozen(words),
                )
            )
        return tuple(result)

    def signatories(self, raw: object) -> tuple[str, ...]:
        """Validate the signatories: a non-empty list of distinct names."""
        if not isinstance(raw, list) or not raw:
            raise self.fail("signatories", "expected a non-empty list of organisations")
        names = tuple(self.text(f"signatories[{i}]", name) for i, name in enumerate(raw))
        for index, name in enumerate(names):
            if name in names[:index]:
                raise self.fail(f"signatories[{index}]", f"{name!r} is listed twice")
        return names

    def attachments(self, raw: object, languages: Mapping[str, Any]) -> tuple[Attachment, ...]:
        """Validate attachments: files inside the appeal folder, optionally per language."""
        if not isinstance(raw, list):
            raise self.fail("attachments", "expected a list (empty when there are none)")
        result = []
        for index, item in enumerate(raw):
            where = f"attachments[{index}]"
            if not isinstance(item, dict):
                raise self.fail(where, "expected path and optional languages")
            self.keys(where, item, {"path", "languages"})
            name = self.text(f"{where}.path", item.get("path"))
            relative = PurePosixPath(name)
            # Only files of this folder may be attached: never one elsewhere on the disk.
            if relative.is_absolute() or ".." in relative.parts:
                raise self.fail(f"{where}.path", f"{name!r} must be relative to the appeal folder")
            path = self.file.parent / relative
            if not path.is_file():
                raise self.fail(f"{where}.path", f"no such file {path}")
            langs = item.get("languages", [])
            if not isinstance(langs, list) or any(lang not in languages for lang in langs):
                raise self.fail(f"{where}.languages", "expected a list of listed languages")
            result.append(Attachment(path=path, languages=tuple(langs)))
        return tuple(result)

    def source(self, raw: object) -> dict[str, str]:
        """Validate the free-form `source` map (where the text came from)."""
        if not isinstance(raw, dict):
            raise self.fail("source", "expected a mapping of text fields")
        return {str(k): self.text(f"source.{k}", v) for k, v in raw.items()}

    def paragraphs(self, field: str, raw: object) -> tuple[str, ...]:
        """Validate a non-empty list of paragraphs."""
        if raw is None:
            raise self.fail(field, "missing")
        if not isinstance(raw, list) or not raw:
            raise self.fail(field, "expected a non-empty list of paragraphs")
        return tuple(self.text(f"{field}[{i}]", p) for i, p in enumerate(raw))

    def text(self, field: str, raw: object) -> str:
        """Return non-empty, stripped text."""
        if not isinstance(raw, str) or not raw.strip():
            raise self.fail(field, "missing" if raw is None else "expected non-empty text")
        return raw.strip()

    def optional_text(self, field: str, raw: object) -> str | None:
        """Return text, or None when the field is absent or null."""
        return None if raw is None else self.text(field, raw)

    def date(self, field: str, raw: object) -> dt.date:
        """Accept a YAML date or an ISO date string."""
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
            return raw
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            raise self.fail(field, f"{raw!r} is not a date such as 2023-03-07") from None

    def keys(self, field: str, raw: dict[Any, Any], allowed: frozenset[str] | set[str]) -> None:
        """Reject misspelt keys, which would otherwise be silently ignored."""
        unknown = sorted(str(k) for k in raw if k not in allowed)
        if unknown:
            raise self.fail(field, f"unknown key(s) {', '.join(unknown)}")


def _frozen(mapping: dict[_K, _V]) -> Mapping[_K, _V]:
    """Return a read-only view, so that a loaded appeal cannot be changed in place."""
    return MappingProxyType(mapping)
