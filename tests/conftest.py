"""Shared fixtures: a fresh database per test, on SQLite and on the PostgreSQL of this machine."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from outreach.db import make_engine, upgrade
from tests.samples import SAMPLE_CSV

pytest_plugins = [
    "tests.dispatching",
    "tests.dovecot",
    "tests.mailloop",
    "tests.smtp_server",
    "tests.web_fixtures",
]

PG_ADMIN = os.environ.get("OUTREACH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def pg_admin() -> str:
    """The PostgreSQL server's admin URL; the suite needs it (`make test` starts it)."""
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN} ({exc}); run `make system-deps`")
    return PG_ADMIN


@pytest.fixture
def pg_url(pg_admin: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"outreach_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = pg_admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(pg_admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database URL: each test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'outreach.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on both dialects."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database, for tests whose SQL does not differ by dialect."""
    engine = make_engine(f"sqlite:///{tmp_path / 'outreach.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sample_csv(tmp_path: Path) -> Path:
    """The design notes' example rows as a CSV file."""
    path = tmp_path / "sample.csv"
    path.write_text(SAMPLE_CSV, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's outreach.toml or OUTREACH_* variables."""
    for name in list(os.environ):
        if name.startswith("OUTREACH_") and name != "OUTREACH_TEST_PG":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
