"""Commands that create and migrate the configuration and the database."""

from __future__ import annotations

import os
from pathlib import Path

import click

from outreach.cli import App, OutreachGroup, pass_app
from outreach.config import CONFIG_ENV, CONFIG_FILENAME, render_example
from outreach.db import current_revision, head_revision, upgrade
from outreach.errors import ConfigError
from outreach.permissions import write_private


@click.command()
@click.option("--database", "database_url", help="Database URL to write into the new file.")
@click.option(
    "--templates", type=click.Path(path_type=Path, file_okay=False), help="Appeals folder."
)
@pass_app
def init(app: App, database_url: str | None, templates: Path | None) -> None:
    """Create the configuration file (if missing) and the database.

    Example: outreach init --database sqlite:///campaign.db
    """
    path = app.config_path or Path(os.environ.get(CONFIG_ENV) or CONFIG_FILENAME)
    if path.exists():
        if database_url or templates:
            raise ConfigError(f"{path} exists already: edit it instead of passing options")
        app.out.print(f"Configuration: {path} (kept as it was)")
    else:
        overrides = {}
        if database_url:
            overrides[("database", "url")] = database_url
        if templates:
            overrides[("paths", "templates")] = str(templates.resolve())
        write_private(path, render_example(overrides))
        app.out.print(f"Configuration: wrote {path}")
    app.config_path = path
    before, after = upgrade(app.raw_engine)
    state = "created" if before is None else ("up to date" if before == after else "migrated")
    url = app.raw_engine.url.render_as_string(hide_password=True)
    app.out.print(f"Database: {url} ({state}, schema {after})")


@click.group(cls=OutreachGroup)
def db() -> None:
    """Inspect and migrate the database schema.

    Example: outreach db upgrade
    """


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Migrate the database to this version's schema (safe to repeat).

    Example: outreach db upgrade
    """
    before, after = upgrade(app.raw_engine)
    if before == after:
        app.out.print(f"Already at schema {after}.")
    else:
        app.out.print(f"Migrated from {before or 'an empty database'} to {after}.")


@db.command("status")
@pass_app
def db_status(app: App) -> None:
    """Show the database's schema revision and the one this version needs.

    Example: outreach db status
    """
    current = current_revision(app.raw_engine)
    head = head_revision()
    app.out.print(f"Database schema: {current or 'empty'}; this version needs: {head}")
    if current != head:
        raise click.exceptions.Exit(1)
