"""TLS and AUTH: certificates verified, a password never sent in clear, never logged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.config import Settings
from outreach.dispatch import Dispatcher
from outreach.models import Attempt, Campaign, CampaignState, Letter, LetterState
from tests import factory
from tests.smtp_server import SmtpServer
from tests.test_dispatch import Clock

PASSWORD = "correct horse battery staple"


def settings(
    server: SmtpServer, tmp_path: Path, *, security: str, password: str | None, trust: bool = True
) -> Settings:
    ca_file = tmp_path / "ca.pem"
    server.ca.cert_pem.write_to_path(str(ca_file))
    smtp: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": security,
        "username": "campaign" if password else "",
        "password": password,
        "timeout": 5,
        "ca_file": str(ca_file) if trust else "",
    }
    return Settings(
        smtp=smtp,
        dispatch={
            "rate_per_minute": 0,
            "domain_rate_per_minute": 0,
            "connections": 1,
            "max_consecutive_failures": 2,
        },
        sender={"address": "appeal@outreach.example.org"},
    )


def send(engine: Engine, settings: Settings, count: int = 1) -> list[Letter]:
    factory.letters(engine, factory.campaign(engine), count)
    Dispatcher(engine, settings, worker="w", now=Clock()).run_once()
    with Session(engine) as session:
        return list(session.exec(select(Letter)))


def test_starttls_with_a_verified_certificate_and_auth(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with SmtpServer(tls="starttls", auth={"campaign": PASSWORD}) as server:
        [letter] = send(
            sqlite_engine, settings(server, tmp_path, security="starttls", password=PASSWORD)
        )
        assert letter.state is LetterState.SENT
        assert (server.counters.starttls, server.counters.auth) == (1, 1)


def test_implicit_tls(sqlite_engine: Engine, tmp_path: Path) -> None:
    with SmtpServer(tls="implicit", auth={"campaign": PASSWORD}) as server:
        [letter] = send(
            sqlite_engine, settings(server, tmp_path, security="tls", password=PASSWORD)
        )
        assert letter.state is LetterState.SENT
        assert server.counters.auth == 1


def test_a_server_without_starttls_never_sees_the_password(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    with SmtpServer(
        tls="starttls",
        auth={"campaign": PASSWORD},
        advertise_starttls=False,
        auth_require_tls=False,
    ) as server:
        [letter] = send(
            sqlite_engine, settings(server, tmp_path, security="starttls", password=PASSWORD)
        )
        assert letter.state is LetterState.DEFERRED
        assert letter.last_error is not None
        assert "STARTTLS" in letter.last_error
        assert (server.counters.auth, server.counters.auth_failures) == (0, 0)
        assert server.messages == []


def test_an_untrusted_certificate_is_refused(sqlite_engine: Engine, tmp_path: Path) -> None:
    with SmtpServer(tls="implicit") as server:
        [letter] = send(
            sqlite_engine, settings(server, tmp_path, security="tls", password=None, trust=False)
        )
        assert letter.state is LetterState.DEFERRED
        assert "CERTIFICATE_VERIFY_FAILED" in (letter.last_error or "")
        assert server.messages == []


def test_an_auth_failure_defers_and_pauses_without_logging_the_password(
    sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpServer(tls="starttls", auth={"campaign": PASSWORD}) as server:
        letters = send(
            sqlite_engine,
            settings(server, tmp_path, security="starttls", password="wrong " + PASSWORD),
            count=3,
        )
        assert (server.counters.connections, server.counters.auth) == (2, 0)  # then paused
    assert [letter.state for letter in letters] == [
        LetterState.DEFERRED,
        LetterState.DEFERRED,
        LetterState.QUEUED,
    ]
    with Session(sqlite_engine) as session:
        campaign = session.exec(select(Campaign)).one()
        attempts = session.exec(select(Attempt)).all()
    assert campaign.state is CampaignState.PAUSED
    assert [attempt.smtp_code for attempt in attempts] == [535, 535]
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in (attempt.reply or "") for attempt in attempts)
    assert PASSWORD not in (campaign.pause_reason or "")
