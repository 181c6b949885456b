"""The terminal edge: every character a command writes is inert, whoever wrote the data.

Inbound subjects and bodies are written by anyone, and a terminal obeys what they carry: ESC
starts a control sequence (ECMA-48 §5.4: clear the screen, move the cursor, retitle the
window, OSC 8 hyperlinks that show one address and open another), BEL rings, a lone CR or a
backspace overwrites what was printed, and C1 controls (U+0080-U+009F, ECMA-48 §5.2) act as
ESC sequences on terminals that honour them. Bidirectional controls (Unicode's Bidi_Control
property: UAX #9 §2) reorder what a terminal with bidi support shows (CVE-2021-42574,
"Trojan Source"). Each is printed as a `\\uXXXX` escape instead, which is also a valid JSON
escape of the same character, so `--json` output stays valid and means the same.

The commands never call this module: `OutreachGroup.main` swaps it in front of stdout and
stderr for the whole run, so no command, warning or error message can forget it. The console
that commands print tables with escapes before rich lays them out, so columns stay aligned.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO, cast

from rich.console import Console
from rich.text import Text

# Newline and tab are layout and stay; CR stays only as part of CRLF (the raw MIME of a letter).
# Everything else below U+0020, DEL, the C1 block, and the twelve Bidi_Control characters.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|\r(?!\n)"
)


def _escaped(match: re.Match[str]) -> str:
    """The visible form of one unsafe character."""
    return f"\\u{ord(match.group()):04x}"


def inert(text: str) -> str:
    """`text` with every control and bidi character shown as `\\uXXXX`, not obeyed."""
    return _UNSAFE.sub(_escaped, text)


class InertStream:
    """A text stream that passes everything through `inert` to the stream it wraps.

    It has no `buffer`: click writes bytes to a stream's buffer when it finds one, and that
    way round the escaping would be open again.
    """

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw
        # What click and rich read to decide how to write (click re-wraps an ASCII stream's
        # buffer, which this class does not have: it keeps writing here).
        self.encoding: str = getattr(raw, "encoding", None) or "utf-8"
        self.errors: str | None = getattr(raw, "errors", None)
        self._cr = ""  # a CR at the end of one write may begin a CRLF in the next

    @property
    def closed(self) -> bool:
        """Whether the wrapped stream is closed."""
        return bool(getattr(self.raw, "closed", False))

    def write(self, text: str) -> int:
        """Write `text` with its unsafe characters escaped; only text is accepted."""
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        pending = self._cr + text
        self._cr = "\r" if pending.endswith("\r") else ""
        if self._cr:
            pending = pending[:-1]
        self.raw.write(inert(pending))
        return len(text)

    def flush(self) -> None:
        """Flush the wrapped stream (unless it is closed already: the wrapper may outlive it)."""
        if not self.closed:
            self.raw.flush()

    def finish(self) -> None:
        """Write a CR left at the very end, escaped: no CRLF followed it."""
        if self._cr:
            self._cr = ""
            self.raw.write(inert("\r"))
        self.flush()

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal (rich and click adapt to it)."""
        return self.raw.isatty()

    def fileno(self) -> int:
        """The wrapped stream's descriptor (for the terminal's size)."""
        return self.raw.fileno()

    def writable(self) -> bool:
        """Always: this is an output stream."""
        return True


class InertConsole(Console):
    """A rich console that escapes each string before it measures it.

    The stream would escape it anyway, but only after rich had laid out a table on the
    unescaped text: one `\\u001b` is six columns that rich counted as none.
    """

    def render_str(self, text: str, **options: Any) -> Text:
        """The string as rich Text, its unsafe characters already escaped."""
        return super().render_str(inert(text), **options)


def inert_file(stream: TextIO) -> TextIO:
    """`stream` behind an InertStream: for a text file that will be shown on a terminal."""
    return cast(TextIO, InertStream(stream))


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under an InertStream, for our own control sequences (a progress bar)."""
    return stream.raw if isinstance(stream, InertStream) else stream


@contextmanager
def inert_output() -> Iterator[None]:
    """Make stdout and stderr inert until the block ends, then put the originals back."""
    saved = sys.stdout, sys.stderr
    out, err = InertStream(sys.stdout), InertStream(sys.stderr)
    sys.stdout, sys.stderr = cast(TextIO, out), cast(TextIO, err)
    try:
        yield
    finally:
        out.finish()
        err.finish()
        sys.stdout, sys.stderr = saved
