"""Fixtures of the web dashboard's tests (a pytest plugin: see tests/conftest.py).

A module of web tests asks for fast hashing with `pytestmark =
pytest.mark.usefixtures("cheap_hashing")`, and may override `world` (e.g. on both databases).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.test_web import World, client_for, populate, use_cheap_hashing, web_settings


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its smallest cost: these tests check the flow, not the hash's strength."""
    use_cheap_hashing(monkeypatch)


@pytest.fixture
def world(sqlite_engine: Engine, tmp_path: Path) -> World:
    """The populated SQLite database (route × role tests do not differ by dialect)."""
    return populate(sqlite_engine, web_settings(tmp_path))


@pytest.fixture
def both_world(engine: Engine, tmp_path: Path) -> World:
    """The populated database on SQLite and on PostgreSQL."""
    return populate(engine, web_settings(tmp_path))


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    """A client of a fresh app on the world's database, not signed in."""
    with client_for(world) as running:
        yield running
