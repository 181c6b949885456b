"""The resource limits of classifying one message: sizes, depth, a deadline, a pre-parse check."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

__all__ = ["MAX_TEXT_CHARS", "Deadline", "LimitExceeded", "Limits", "header_end", "precheck"]

MAX_TEXT_CHARS = 200_000  # text handed to any regex-based step
_HEADER_START = re.compile(rb"^[!-9;-~]{1,76}:")  # RFC 5322 §2.2 field-name, then ':'
_MULTIPART_DECL = re.compile(rb"^content-type:[ \t]*(?:multipart|message)/", re.I | re.M)
_RECEIVED = re.compile(rb"^received:", re.I | re.M)


@dataclass(frozen=True)
class Limits:
    """Resource limits for classifying one message (defaults suit diplomatic correspondence)."""

    max_bytes: int = 10_000_000  # whole message
    max_depth: int = 20  # MIME nesting (multipart and message/rfc822 levels)
    max_parts: int = 500  # MIME parts in the tree
    max_header_bytes: int = 100_000  # top-level header block; real ones are < 20 kB
    max_seconds: float = 5.0  # wall-clock budget, checked between steps
    max_received: int = 100  # RFC 5321 §6.3: more Received fields than this is a loop


class LimitExceeded(Exception):
    """A message broke a limit or cannot be read; the text is the quarantine reason.

    It never leaves ``classify()``, which returns it as a quarantined verdict.
    """


class Deadline:
    """Wall-clock budget checked between processing steps."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def check(self, step: str) -> None:
        """Raise LimitExceeded, naming the step, once the budget is spent."""
        if time.monotonic() > self.end:
            raise LimitExceeded(f"time limit of {self.seconds:g} s exceeded during {step}")


def header_end(raw: bytes, limit: int) -> int | None:
    """Offset where the header block ends (the empty line), searched within ``limit`` bytes."""
    window = raw[: limit + 4]
    ends = [i for i in (window.find(b"\r\n\r\n"), window.find(b"\n\n")) if i >= 0]
    if ends:
        return min(ends)
    return None if len(raw) > limit else len(raw)


def precheck(raw: bytes, limits: Limits) -> str | None:
    """Refuse hostile shapes before the MIME parser runs; returns the reason or None."""
    start = raw[:1000]
    if start.startswith(b"From "):  # mbox separator line left by some exporters
        start = start.partition(b"\n")[2]
    if not _HEADER_START.match(start):
        return "no RFC 5322 header block (message does not start with a header field)"
    end = header_end(raw, limits.max_header_bytes)
    header = raw[: end if end is not None else limits.max_header_bytes * 2]
    if b"\x00" in header:
        return "NUL byte in the header block (RFC 5322 §2.2 forbids it)"
    received = len(_RECEIVED.findall(header))
    if received > limits.max_received:
        return f"mail loop: {received}+ Received header fields (limit {limits.max_received})"
    if end is None or end > limits.max_header_bytes:
        return f"header block larger than {limits.max_header_bytes} bytes"
    if len(raw) > limits.max_bytes:
        return f"message larger than {limits.max_bytes} bytes"
    declared = len(_MULTIPART_DECL.findall(raw))
    if declared > limits.max_parts:
        return f"more than {limits.max_parts} MIME parts declared ({declared})"
    return None
