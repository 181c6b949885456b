"""Where a link or a redirect may point: only to a path on this dashboard (no open redirect).

A browser reads `//host/…` and `/\\host/…` as another site, drops tabs and line breaks from
URLs before parsing them (WHATWG URL Standard), and runs `javascript:` URLs: a target that is
not a plain absolute path of this site gives way to the dashboard's start page (OWASP
Unvalidated Redirects and Forwards Cheat Sheet).
"""

from __future__ import annotations

from urllib.parse import urlsplit

HOME = "/campaigns"


def local_path(target: str | None, default: str = HOME) -> str:
    """`target` if it is a path on this site, else `default`."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return default
    return target


def back_from(referer: str, netloc: str, default: str = HOME) -> str:
    """The page of this site (`netloc`) that a Referer names, as a local path; else `default`.

    The Referer is written by the browser of whoever sent the request, and any page can make
    it name this site with a path such as `//evil.example/`: it is checked like any target.
    """
    source = urlsplit(referer)
    if source.scheme not in ("http", "https") or source.netloc != netloc:
        return default
    return local_path(source.path + (f"?{source.query}" if source.query else ""), default)
