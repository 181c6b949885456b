"""Helpers of the CLI tests: a working folder pointed, the documented way, at a test server."""

from __future__ import annotations

import pytest

from tests.smtp_server import SmtpServer


def point_at(server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Send through `server`: the documented way to point a run at another server is
    OUTREACH_<SECTION>__<KEY>."""
    for name, value in {
        "OUTREACH_SMTP__HOST": "127.0.0.1",
        "OUTREACH_SMTP__PORT": str(server.port),
        "OUTREACH_SMTP__SECURITY": "none",
        "OUTREACH_SENDER__ADDRESS": "appeal@outreach.example.org",
        "OUTREACH_DISPATCH__RATE_PER_MINUTE": "0",
    }.items():
        monkeypatch.setenv(name, value)
