"""The database edge: engines, sessions, and the schema's migrations (Alembic)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from outreach.errors import DatabaseError
from outreach.permissions import create_private

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BEGIN = "outreach_sqlite_begin"


def normalise_url(url: str) -> str:
    """Pick the psycopg 3 driver for a plain `postgresql://` URL."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, foreign keys, secure delete and a busy timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:" and Path(database).parent.is_dir():
            create_private(Path(database))  # personal data: 0600 from the first moment
        # hide_parameters: an error's message (logged, or shown) must not carry the values
        # of a query, which are often addresses and names.
        engine = sa.create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's BEGIN (see below) decide transactions, not the sqlite3 module.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints under WAL
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # Deleted and overwritten content is zeroed, in the file and in the WAL's page
            # images: without it an erased person's bytes stay in free space (the default only
            # where SQLite was compiled with SQLITE_SECURE_DELETE, as Debian's is).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(connection: sa.Connection) -> None:
            # A writing transaction says BEGIN IMMEDIATE: it takes the write lock at the start,
            # so two writers never interleave a read-then-write (the naive claim that
            # double-sends) and never fail to upgrade a read lock. Readers stay deferred.
            mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
            connection.exec_driver_sql(f"BEGIN {mode}")

        return engine
    if url.startswith("postgresql"):
        return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)
    raise DatabaseError(
        f"database.url: unsupported database {url.split(':', 1)[0]!r}; "
        "use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


@contextmanager
def session_scope(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """A session committed on success and rolled back on any error; `write` locks SQLite early."""
    bind = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) if write else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def empty_wal(engine: Engine) -> bool:
    """Copy SQLite's write-ahead log into the database and truncate it to zero bytes.

    The WAL keeps the page images of earlier transactions, erased data among them, until a
    checkpoint copies them back and the log is reused; TRUNCATE ends that at once
    (https://sqlite.org/pragma.html#pragma_wal_checkpoint). False when another connection is
    reading and the log could not be emptied; PostgreSQL has nothing to do here (True).
    """
    if engine.dialect.name != "sqlite":
        return True
    # On the DB-API connection: SQLAlchemy's would wrap the pragma in our BEGIN, and a
    # checkpoint inside a transaction cannot truncate the log.
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        busy, _, _ = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        cursor.close()
    finally:
        connection.close()
    return int(busy) == 0


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the migrations shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The newest migration this version ships."""
    head = ScriptDirectory.from_config(
        alembic_config(sa.create_engine("sqlite://"))
    ).get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise DatabaseError(f"cannot open the database: {exc.orig}") from None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate the schema to the newest revision; returns (before, after)."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), "head")
    return before, head_revision()


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not this version's."""
    current, head = current_revision(engine), head_revision()
    if current is None:
        raise DatabaseError(
            f"the database {engine.url.render_as_string(hide_password=True)} is empty: "
            "run `outreach init` (or `outreach db upgrade`) first"
        )
    if current != head:
        raise DatabaseError(
            f"the database is at schema revision {current}, this version needs {head}: "
            "run `outreach db upgrade`"
        )
