"""Helpers of the dispatcher's tests (a fixture plugin): a frozen clock, a test server, the rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.config import Settings
from outreach.dispatch import Dispatcher, DispatchReport
from outreach.models import Attempt, Campaign, Letter
from tests import factory
from tests.smtp_server import SmtpServer


class Clock:
    """A frozen clock the test moves by hand: no sleeps."""

    def __init__(self) -> None:
        self.now = factory.T0 + dt.timedelta(seconds=1)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


@pytest.fixture
def clock() -> Clock:
    return Clock()


def settings_for(
    server: SmtpServer, tmp_path: Path | None = None, **sections: dict[str, object]
) -> Settings:
    smtp: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "timeout": 5,
    }
    smtp.update(sections.pop("smtp", {}))
    dispatch: dict[str, object] = {
        "rate_per_minute": 0,
        "domain_rate_per_minute": 0,
        "connections": 2,
    }
    dispatch.update(sections.pop("dispatch", {}))
    return Settings(smtp=smtp, dispatch=dispatch, sender={"address": "appeal@outreach.example.org"})


def run(engine: Engine, settings: Settings, clock: Clock, worker: str = "w1") -> DispatchReport:
    return Dispatcher(engine, settings, worker=worker, now=clock).run_once()


def letters(engine: Engine) -> list[Letter]:
    with Session(engine) as session:
        return list(session.exec(select(Letter).order_by(col(Letter.id))))


def attempts(engine: Engine) -> list[Attempt]:
    with Session(engine) as session:
        return list(session.exec(select(Attempt).order_by(col(Attempt.id))))


def campaign_row(engine: Engine) -> Campaign:
    with Session(engine) as session:
        return session.exec(select(Campaign)).one()
