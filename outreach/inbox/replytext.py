"""The human-written part of a reply: quoted original and signature stripped; its language."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from mailparser_reply import EmailMessage  # type: ignore[import-untyped]
from mailparser_reply.constants import MAIL_LANGUAGES  # type: ignore[import-untyped]

__all__ = ["MAX_STRIP_CHARS", "detect_language", "strip_reply"]

# Cap on the text handed to regex-based stripping and language detection: their cost
# grows with input length, and an answer longer than this is not a quick reply anyway.
MAX_STRIP_CHARS = 60_000
_LANGUAGE_MIN_CONFIDENCE = 0.9

# Reply headers of languages mail-parser-reply lacks (Russian), and generic forms.
_EXTRA_HEADERS = re.compile(
    r"^[^\n>]{0,300}(?:пишет|написал\(а\)|написала|написал|escribió)\s?:[ \t]*$"
    r"|^-{3,}[ \t]*[^\n-]{3,40}[ \t]*-{3,}[ \t]*$"  # -----Original Message----- and translations
    r"|^(?:От|От кого)\s?:[^\n]*\n(?:[^\n]*\n)?(?:Отправлено|Дата|Кому)\s?:",
    re.MULTILINE | re.IGNORECASE,
)
_SEPARATOR_LINE = re.compile(r"^[ \t]*[_=-]{10,}[ \t]*$")
_DISCLAIMER = re.compile(
    r"^[ \t*]*(?:confidentiality(?: notice)?\b|disclaimer\b|legal notice|important notice"
    r"|this (?:e-?mail|message)(?: and any (?:attachments?|files))?(?: (?:is|are|may))? "
    r"(?:confidential|intended)|this (?:e-?mail|message) and any attachments"
    r"|you are receiving this (?:message|e-?mail) because|unsubscribe:"
    r"|avis de confidentialit|ce (?:message|courriel) (?:et|est) "
    r"|diese (?:e-?mail|nachricht) (?:enthält|ist) |aviso de confidencialidad|este mensaje"
    r"|конфиденциальн)",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"^[ \t]*(?:(?:with )?(?:best|kind|warm|kindest|warmest)(?: personal)? regards|regards"
    r"|yours (?:sincerely|faithfully|truly)|sincerely|best wishes|respectfully"
    r"|mit freundlichen gr[üu](?:ß|ss)en|freundliche gr[üu](?:ß|ss)e|viele gr[üu](?:ß|ss)e"
    r"|beste gr[üu](?:ß|ss)e|(?:bien )?cordialement|bien à vous|je vous prie d'agréer"
    r"|veuillez agréer|с уважением|с наилучшими пожеланиями|atentamente|saludos cordiales"
    r"|un (?:cordial )?saludo|cordiales saludos|distinti saluti|cordiali saluti)\b[^\n]{0,80}$",
    re.IGNORECASE | re.MULTILINE,
)
_MAX_SIGNATURE_LINES = 15


@cache
def _header_regex(languages: tuple[str, ...]) -> re.Pattern[str]:
    """mail-parser-reply's reply-header pattern for the campaign's languages."""
    usable = [lang for lang in languages if lang in MAIL_LANGUAGES] or ["en"]
    pattern: re.Pattern[str] = EmailMessage(text="", languages=list(usable)).HEADER_REGEX
    return pattern


def _cut_quoted(text: str, languages: tuple[str, ...]) -> str:
    """Everything before the first reply header / quoted original that follows real content."""
    cuts: list[int] = []
    for regex in (_header_regex(languages), _EXTRA_HEADERS):
        for m in regex.finditer(text):
            start = m.start()
            # Patterns may start with the newline before the header line.
            while start < len(text) and text[start] == "\n":
                start += 1
            if text[:start].strip(" \t\n>"):
                cuts.append(start)
                break
    # A trailing block of '>' lines introduced by a line ending in ':' ("... wrote:").
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith(">") and all(not x.strip() or x.startswith(">") for x in lines[i:]):
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            if j >= 0 and lines[j].rstrip().endswith(":") and "\n".join(lines[:j]).strip():
                cuts.append(len("\n".join(lines[:j])))
            break
    if not cuts:
        return text
    head = text[: min(cuts)]
    # Outlook puts a line of underscores right above the From:/Sent: block.
    head_lines = head.rstrip().split("\n")
    while head_lines and (_SEPARATOR_LINE.match(head_lines[-1]) or not head_lines[-1].strip()):
        head_lines.pop()
    return "\n".join(head_lines)


def _cut_signature(text: str) -> str:
    """Drop the signature and any trailing disclaimer/footer; never the opening paragraph."""
    lines = text.split("\n")
    first_content = next((i for i, x in enumerate(lines) if x.strip()), 0)
    for i, line in enumerate(lines):
        if i > first_content and line in {"-- ", "--"}:  # RFC 3676 §4.3 signature separator
            lines = lines[:i]
            break
    for i, line in enumerate(lines):
        if i > first_content + 1 and _DISCLAIMER.match(line):
            lines = lines[:i]
            break
    for i, line in enumerate(lines):
        if i > first_content + 1 and _SIGN_OFF.match(line):
            rest = [x for x in lines[i + 1 :] if x.strip()]
            if len(rest) <= _MAX_SIGNATURE_LINES:
                lines = lines[:i]
                break
    while lines and (not lines[-1].strip() or _SEPARATOR_LINE.match(lines[-1])):
        lines.pop()
    return "\n".join(lines)


def strip_reply(text: str, languages: Sequence[str]) -> tuple[str, bool]:
    """The answer without quoted original, signature and disclaimer; flag True if unsure."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_STRIP_CHARS]
    # Collapsing horizontal whitespace keeps the library's nested quantifiers linear.
    text = "\n".join(re.sub(r"[ \t\xa0\u200b]+", " ", x).strip() for x in text.split("\n"))
    body = _cut_quoted(text, tuple(languages))
    # Interleaved answers: keep the person's lines, drop the quoted ones.
    body = "\n".join(x for x in body.split("\n") if not x.startswith(">"))
    stripped = _cut_signature(body).strip()
    stripped = re.sub(r"\n{3,}", "\n\n", stripped)
    if stripped:
        return stripped, False
    fallback = "\n".join(x for x in text.split("\n") if not x.startswith(">")).strip()
    return (fallback or text.strip()), True


@cache
def _identifier() -> Any:
    """The py3langid model with normalised probabilities (loaded once, ~0.2 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text, or None when the text is too short or the model unsure."""
    sample = " ".join(text[:4000].split())
    letters = sum(ch.isalpha() for ch in sample)
    if letters < 20:
        return None
    lang, confidence = _identifier().classify(sample)
    if confidence < _LANGUAGE_MIN_CONFIDENCE or not isinstance(lang, str) or len(lang) != 2:
        return None
    return lang
