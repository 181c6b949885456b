"""Alembic environment: runs migrations on the engine handed over by outreach.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import outreach.accounts  # registers the users table (the noqa below covers all three)
import outreach.models
import outreach.web_sessions  # noqa: F401  (registers the tables on the metadata)

engine: Engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
