"""The human-written part of a reply: HTML to text, un-flowing, quote stripping, language."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from html.parser import HTMLParser
from typing import Any

from mailparser_reply import EmailMessage  # type: ignore[import-untyped]
from mailparser_reply.constants import MAIL_LANGUAGES  # type: ignore[import-untyped]

__all__ = ["detect_language", "html_to_text", "strip_reply", "unflow"]

# Cap on the text handed to regex-based stripping and language detection: their cost
# grows with input length, and an answer longer than this is not a quick reply anyway.
MAX_STRIP_CHARS = 60_000
_LANGUAGE_MIN_CONFIDENCE = 0.9

_SKIP_TAGS = frozenset({"script", "style", "head", "title", "template", "noscript"})
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "tr",
        "li",
        "ul",
        "ol",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "dd",
        "dt",
        "dl",
        "center",
    }
)
_OUTLOOK_SEPARATOR = "_" * 32


class _TextExtractor(HTMLParser):
    """Renders HTML as plain text; blockquotes become '> ' lines so quotes strip uniformly."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.skip = 0
        self.quote = 0

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())
        self.current = []
        prefix = "> " * min(self.quote, 5)  # deeper levels add nothing but cost
        self.lines.append(prefix + text if text else prefix.rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
            return
        attributes = {k: (v or "") for k, v in attrs}
        if tag == "br":
            self._flush()
        elif tag == "hr" or attributes.get("id") in {"divRplyFwdMsg", "appendonsend"}:
            # Outlook Web marks the start of the quoted original with these.
            self._flush()
            self.lines.append(_OUTLOOK_SEPARATOR)
        elif tag == "blockquote":
            self._flush()
            self.quote += 1
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self._flush()
            self.quote = max(0, self.quote - 1)
        elif tag in _BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.current.append(data.replace("\xa0", " "))


def html_to_text(html: str) -> str:
    """Plain text of an HTML body (stdlib parser; never executes or fetches anything)."""
    parser = _TextExtractor()
    parser.feed(html[: MAX_STRIP_CHARS * 4])
    parser.close()
    parser._flush()
    return re.sub(r"\n{3,}", "\n\n", "\n".join(parser.lines)).strip()


def unflow(text: str, delsp: bool = False) -> str:
    """Join format=flowed soft line breaks (RFC 3676 §4.2); the signature line '-- ' stays."""
    out: list[str] = []
    buffer = ""
    buffer_depth = -1
    for line in text.split("\n"):
        line = line.rstrip("\r")
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing (RFC 3676 §4.4)
        if buffer_depth not in (-1, depth):
            out.append(">" * buffer_depth + (" " if buffer_depth else "") + buffer)
            buffer, buffer_depth = "", -1
        buffer_depth = depth
        flowed = content.endswith(" ") and content != "-- "
        if flowed:
            buffer += content[:-1] if delsp else content
            continue
        buffer += content
        out.append(">" * depth + (" " if depth else "") + buffer)
        buffer, buffer_depth = "", -1
    if buffer_depth != -1:
        out.append(">" * buffer_depth + (" " if buffer_depth else "") + buffer)
    return "\n".join(out)


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
