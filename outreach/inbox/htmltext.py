"""Text of an HTML body and of a format=flowed one, ready for quote stripping."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["OUTLOOK_SEPARATOR", "html_to_text", "unflow"]

# Cap on the HTML handed to the parser, in characters (4x the stripper's text cap).
MAX_HTML_CHARS = 240_000

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
OUTLOOK_SEPARATOR = "_" * 32


# How clients mark the signature block in HTML: Gmail, Thunderbird, Outlook on the web.
_SIGNATURE_CLASSES = frozenset({"gmail_signature", "moz-signature"})
_SIGNATURE_IDS = frozenset({"Signature"})


def _is_signature(attributes: dict[str, str]) -> bool:
    classes = set(attributes.get("class", "").split())
    return bool(classes & _SIGNATURE_CLASSES) or attributes.get("id") in _SIGNATURE_IDS


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
            self.lines.append(OUTLOOK_SEPARATOR)
        elif tag == "blockquote":
            self._flush()
            self.quote += 1
        elif _is_signature(attributes):
            # The signature block a client marks in its HTML becomes the RFC 3676 §4.3
            # separator line, which the signature cut knows.
            self._flush()
            self.lines.append("-- ")
        elif tag in {"td", "th"}:
            self.current.append(" ")  # cells of one row stay apart ("Von:" "Name")
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
    parser.feed(html[:MAX_HTML_CHARS])
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
