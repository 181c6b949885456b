"""The database layer: migrations from empty, schema checks, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from outreach.db import current_revision, head_revision, make_engine, require_current, upgrade
from outreach.errors import DatabaseError


def test_upgrade_from_empty_reaches_the_head(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    assert upgrade(engine) == (None, head_revision())
    assert current_revision(engine) == head_revision()


def test_the_migrated_schema_matches_the_models(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_upgrade_twice_changes_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    assert upgrade(engine) == (head_revision(), head_revision())


def test_an_empty_database_is_refused_with_what_to_do(db_url: str) -> None:
    engine = make_engine(db_url)
    with pytest.raises(DatabaseError) as error:
        require_current(engine)
    assert "is empty: run `outreach init` (or `outreach db upgrade`) first" in str(error.value)


def test_an_older_schema_is_refused_with_what_to_do(sqlite_engine: sa.Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(DatabaseError) as error:
        require_current(sqlite_engine)
    assert str(error.value) == (
        f"the database is at schema revision 0000, this version needs {head_revision()}: "
        "run `outreach db upgrade`"
    )


def test_sqlite_runs_in_wal_mode(sqlite_engine: sa.Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_an_unsupported_url_is_a_clear_error() -> None:
    with pytest.raises(DatabaseError) as error:
        make_engine("mysql://root@127.0.0.1/test")
    assert str(error.value) == (
        "database.url: unsupported database 'mysql'; "
        "use sqlite:///PATH or postgresql://USER@HOST/DB"
    )
