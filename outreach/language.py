"""Which language a recipient's letter is written in: the first that has everything it needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

FALLBACK = "en"


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    """The chosen language, or None, with why each earlier candidate was passed over."""

    language: str | None
    passed_over: tuple[tuple[str, str], ...]  # (language, reason)

    def explain(self) -> str:
        """One line saying which languages were tried and why each was not usable."""
        return "; ".join(f"{language}: {reason}" for language, reason in self.passed_over)


def candidates(preferred: Iterable[str], defaults: Iterable[str]) -> list[str]:
    """The languages to try, in order: each tag then its prefix (`fr-BE`, `fr`), then English."""
    ordered: list[str] = []
    for tag in [*preferred, *defaults, FALLBACK]:
        for candidate in (tag, tag.split("-", 1)[0]):
            if candidate and candidate not in ordered:
                ordered.append(candidate)
    return ordered


def choose_language(
    preferred: Iterable[str], defaults: Iterable[str], missing: Callable[[str], str | None]
) -> LanguageChoice:
    """The first candidate for which `missing(language)` reports nothing lacking.

    `missing` returns None when the language has the subject, the body and a form of address
    for the recipient, or else what it lacks: a letter is never assembled from two languages.
    """
    passed_over: list[tuple[str, str]] = []
    for language in candidates(preferred, defaults):
        reason = missing(language)
        if reason is None:
            return LanguageChoice(language, tuple(passed_over))
        passed_over.append((language, reason))
    return LanguageChoice(None, tuple(passed_over))
