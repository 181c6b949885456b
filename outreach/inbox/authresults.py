"""Authentication-Results (RFC 8601): the DMARC verdict our own receiving server wrote, if any.

Anyone can write an Authentication-Results field into a message, so only one counts: the
topmost field that carries the configured authserv-id (RFC 8601 §7.1: ignore the others). The
receiving server prepends its field above what arrived (as trace fields are, RFC 5321 §4.4), so
a sender's copy lies below it and is never read, even when the server's own says nothing of
DMARC. RFC 8601 §5 also requires that server to remove or rename fields arriving with its own
authserv-id, which is why `trusted_authserv_id` must only name a server that does so: it covers
a message the server passed without adding a field of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

__all__ = ["Dmarc", "dmarc_result"]

_COMMENT = re.compile(r"\([^()]*\)")  # CFWS comments (RFC 5322 §3.2.2), one level
_DMARC = re.compile(r"^\s*dmarc\s*=\s*([a-z]+)", re.IGNORECASE)
_HEADER_FROM = re.compile(r"\bheader\.from\s*=\s*\"?([^\s;\"]+)", re.IGNORECASE)


class Dmarc(StrEnum):
    """What the trusted server found for the From domain (RFC 7489 §11.2)."""

    PASS = "pass"  # noqa: S105 (not a password)
    FAIL = "fail"


def dmarc_result(fields: Sequence[str], authserv_id: str, domain: str) -> Dmarc | None:
    """Pass or fail for `domain` from the topmost field of the trusted server; else None.

    `fields` are the message's Authentication-Results values, topmost first. A result for
    another domain than the From address's, or any other result (none, temperror, ...), is None.
    """
    if not authserv_id:
        return None
    for field in fields:
        text = _COMMENT.sub(" ", field)
        server, _, results = text.partition(";")
        words = server.split()
        if not words or words[0].lower() != authserv_id.lower():
            continue
        # The topmost field of our server: what it says, or nothing; never a field below it.
        for result in results.split(";"):
            found = _DMARC.match(result)
            if found is None:
                continue
            named = _HEADER_FROM.search(result)
            if named is not None and named.group(1).lower().rstrip(".") != domain.lower():
                return None
            verdict = found.group(1).lower()
            return Dmarc(verdict) if verdict in {"pass", "fail"} else None
        return None
    return None
