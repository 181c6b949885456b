"""The database layer: migrations from empty, schema checks, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from outreach.db import (
    current_revision,
    empty_wal,
    head_revision,
    make_engine,
    require_current,
    upgrade,
)
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


# --- what SQLite keeps of deleted and overwritten values ------------------------------------

SECRET = "marie.exemple-durand@example.org"


def overwrite_a_secret(connection: Any) -> None:
    """Store the secret in a short value and in one long enough for overflow pages, commit,
    then overwrite both and delete a row holding it (a DB-API connection in autocommit)."""
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, short TEXT, long TEXT)")
    for n in range(50):
        connection.execute("INSERT INTO t (short, long) VALUES (?, ?)", (f"n{n}", "x" * 300))
    connection.execute("INSERT INTO t (short, long) VALUES (?, ?)", (SECRET, SECRET * 500))
    connection.execute("INSERT INTO t (short, long) VALUES (?, ?)", (SECRET, "deleted"))
    connection.execute(
        "UPDATE t SET short = 'gone', long = 'gone' WHERE short = ? AND id = 51", (SECRET,)
    )
    connection.execute("DELETE FROM t WHERE id = 52")


def copies(path: Path) -> int:
    """How often the secret is in the database file and its write-ahead log, as bytes."""
    files = [path, path.with_name(path.name + "-wal")]
    return sum(p.read_bytes().count(SECRET.encode()) for p in files if p.exists())


def test_without_secure_delete_sqlite_keeps_overwritten_values_in_the_file(tmp_path: Path) -> None:
    # The control for the next test: what a build without SQLITE_SECURE_DELETE does.
    path = tmp_path / "plain.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA secure_delete=OFF")
    overwrite_a_secret(connection)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert copies(path) > 0
    connection.close()


def test_our_connections_zero_what_is_overwritten_or_deleted(tmp_path: Path) -> None:
    path = tmp_path / "outreach.db"
    engine = make_engine(f"sqlite:///{path}")
    reader = sqlite3.connect(path)  # another program with the database open
    connection = engine.raw_connection()
    assert connection.cursor().execute("PRAGMA secure_delete").fetchone() == (1,)
    overwrite_a_secret(connection.cursor())
    connection.close()
    assert copies(path) > 0  # the log still holds the pages written before the overwrite
    assert empty_wal(engine)
    assert (copies(path), path.with_name("outreach.db-wal").stat().st_size) == (0, 0)
    reader.close()
    engine.dispose()


def test_emptying_the_log_is_nothing_to_do_on_postgresql(pg_url: str) -> None:
    assert empty_wal(make_engine(pg_url))


def test_a_new_sqlite_database_and_its_log_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    # Another account on a shared server must not read the recipients (a 022 umask, as most
    # systems have, made the file 0644).
    previous = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'outreach.db'}")
        upgrade(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
            connection.commit()
            modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.iterdir()}
        engine.dispose()
    finally:
        os.umask(previous)
    assert modes == {"outreach.db": 0o600, "outreach.db-wal": 0o600, "outreach.db-shm": 0o600}


def test_a_database_error_does_not_show_the_values_of_the_query(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'outreach.db'}")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (address TEXT UNIQUE)")
        insert = sa.text("INSERT INTO t VALUES (:address)")
        connection.execute(insert, {"address": "someone@example.org"})
        with pytest.raises(sa.exc.IntegrityError) as error:
            connection.execute(insert, {"address": "someone@example.org"})
    assert "someone@example.org" not in str(error.value)
