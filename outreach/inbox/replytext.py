"""The human-written part of a reply: quoted original and signature stripped; its language."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from mailparser_reply import EmailMessage  # type: ignore[import-untyped]
from mailparser_reply.constants import MAIL_LANGUAGES  # type: ignore[import-untyped]

from outreach.inbox.signature import SEPARATOR_LINE, cut_signature

__all__ = ["MAX_STRIP_CHARS", "detect_language", "strip_reply"]

# Cap on the text handed to regex-based stripping and language detection: their cost
# grows with input length, and an answer longer than this is not a quick reply anyway.
MAX_STRIP_CHARS = 60_000
_LANGUAGE_MIN_CONFIDENCE = 0.9

# Reply headers of languages mail-parser-reply lacks (Russian), and generic forms.
_EXTRA_HEADERS = re.compile(
    r"^(?!>)[^\n]{0,300}(?:пишет|написал\(а\)|написала|написал|escribió)\s?:[ \t]*$"
    r"|^-{3,}[ \t]*[^\n-]{3,40}[ \t]*-{3,}[ \t]*$"  # -----Original Message----- and translations
    r"|^(?:От|От кого)\s?:[^\n]*\n(?:[^\n]*\n)?(?:Отправлено|Дата|Кому)\s?:"
    # An attribution naming a date and time or an address, whatever the client's language:
    # "NAME <ADDRESS> schrieb am DATE:" (Gmail for Android), "DATE, 10:02 +01:00 от NAME
    # <ADDRESS>:" (Mail.ru), "DATE, 10:02, "NAME" <ADDRESS>:" (Yandex).
    r"|^(?=[^\n]{0,400}(?:@|(?:19|20)\d\d[^\n]{0,400}\d{1,2}:\d\d))(?!>)[^\n]{0,400}"
    r"(?:\b(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev)"
    r"(?:\s+(?:am|on)\s[^\n]{3,120})?"
    r"|\d{1,2}:\d\d[^\n]{0,300}<[^\s<>@]{1,64}@[^\s<>]{1,255}>)\s?:[ \t]*$"
    # Lotus Notes: "-----"NAME" <ADDRESS> schrieb: -----" above its An:/Von:/Datum: block.
    r"|^-{3,}[^\n]{1,300}?(?:wrote|schrieb|a écrit|escribió|написал|пишет|ha scritto)\s?:"
    r"[ \t]*-{3,}[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
# A wrapped attribution: an address broken after "<" ("NAME <" / "ADDRESS> wrote:").
_BROKEN_ADDRESS = re.compile(r"<$|^<?[^\s<>@]{1,64}@[^\s<>]{1,255}>")
# The header block a client quotes the original under, in any of these languages, by kind.
_FIELD_KINDS = {
    "from": "from von de от da van od från fra expéditeur remitente absender",
    "to": "to an à a para кому aan komu till til destinataire",
    "date": "date datum sent gesendet envoyé enviado отправлено дата data fecha inviato "
    "verzonden odesláno skickat sendt",
    "subject": "subject betreff objet asunto тема oggetto onderwerp předmět ämne emne thema",
    "cc": "cc kopie copie копия cópia bcc blindkopie",
}
_FIELD_KIND = {word: kind for kind, words in _FIELD_KINDS.items() for word in words.split()}
_TIME = re.compile(r"\b\d{1,2}:\d\d\b")
_FIELD_LINE = re.compile(r"^[ \t*>]*([^\W\d_]{1,12}(?: [^\W\d_]{1,8})?)[ \t*]*:(?:\s|$)")


@cache
def _header_regex(languages: tuple[str, ...]) -> re.Pattern[str]:
    """mail-parser-reply's reply-header pattern for the campaign's languages."""
    usable = [lang for lang in languages if lang in MAIL_LANGUAGES] or ["en"]
    pattern: re.Pattern[str] = EmailMessage(text="", languages=list(usable)).HEADER_REGEX
    return pattern


def _unwrap_attributions(lines: list[str], languages: tuple[str, ...]) -> list[str]:
    """Join an attribution a client wrapped over two lines, so that it is seen as one."""
    patterns = (_header_regex(languages), _EXTRA_HEADERS)
    out: list[str] = []
    i = 0
    while i < len(lines):
        line, after = lines[i], lines[i + 1] if i + 1 < len(lines) else ""
        joined = f"{line} {after}"
        if line.strip() and after.rstrip().endswith(":") and any(p.match(joined) for p in patterns):
            broken = bool(_BROKEN_ADDRESS.search(line) or _BROKEN_ADDRESS.match(after))
            if broken or not any(p.match(after) for p in patterns):
                out.append(joined)
                i += 2
                continue
        out.append(line)
        i += 1
    return out


def _header_block(lines: list[str]) -> int | None:
    """Index of the first line of a quoted header block (From:, To:, Date:, Subject: ...).

    At least three kinds of field, one of them the sender, one blank line allowed between
    fields (Lotus Notes' HTML table renders so); any of the languages in _FIELD_KINDS. The
    sender has an address or the date a time: a memo heading a person's answer ("From: the
    Embassy / To: ... / Subject: ...") has neither.
    """
    for start, line in enumerate(lines):
        if not _field_kind(line):
            continue
        kinds: dict[str, str] = {}
        blanks = 0
        for following in lines[start : start + 16]:
            kind = _field_kind(following)
            if kind:
                kinds.setdefault(kind, following)
                blanks = 0
            elif not following.strip() and blanks == 0:
                blanks = 1
            else:
                break
        stamped = "@" in kinds.get("from", "") or _TIME.search(kinds.get("date", ""))
        if "from" in kinds and len(kinds) >= 3 and stamped:
            return start
    return None


def _field_kind(line: str) -> str | None:
    found = _FIELD_LINE.match(line)
    return _FIELD_KIND.get(found.group(1).lower()) if found else None


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
    lines = text.split("\n")
    block = _header_block(lines)
    if block is not None and "\n".join(lines[:block]).strip(" \t\n>"):
        cuts.append(len("\n".join(lines[:block])))
    # A trailing block of '>' lines introduced by a line ending in ':' ("... wrote:").
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
    while head_lines and (SEPARATOR_LINE.match(head_lines[-1]) or not head_lines[-1].strip()):
        head_lines.pop()
    return "\n".join(head_lines)


def _drop_leading_attribution(text: str, languages: tuple[str, ...]) -> str:
    """A bottom-posted answer (Thunderbird's default): the attribution above the quote goes."""
    lead = len(text) - len(text.lstrip("\n "))
    for regex in (_header_regex(languages), _EXTRA_HEADERS):
        m = regex.match(text, lead)
        if m and text[m.end() :].lstrip("\n ").startswith(">"):
            return text[m.end() :]
    return text


def strip_reply(text: str, languages: Sequence[str]) -> tuple[str, bool]:
    """The answer without quoted original, signature and disclaimer; flag True if unsure."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_STRIP_CHARS]
    # Collapsing horizontal whitespace keeps the library's nested quantifiers linear.
    text = "\n".join(re.sub(r"[ \t\xa0\u200b]+", " ", x).strip() for x in text.split("\n"))
    text = "\n".join(_unwrap_attributions(text.split("\n"), tuple(languages)))
    text = _drop_leading_attribution(text, tuple(languages))
    body = _cut_quoted(text, tuple(languages))
    # Interleaved answers: keep the person's lines, drop the quoted ones.
    body = "\n".join(x for x in body.split("\n") if not x.startswith(">"))
    stripped = cut_signature(body).strip()
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
