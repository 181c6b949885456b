"""The command line: a thin layer over one domain call per command; errors become exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.engine import Engine

from outreach import __version__
from outreach.audit import default_actor
from outreach.config import Settings, load_settings
from outreach.db import make_engine, require_current
from outreach.errors import OutreachError, Problem, RecipientError
from outreach.terminal import InertConsole, inert_output, raw_stream

# A row id as the CLI takes it: the id columns are 4-byte integers on PostgreSQL, so a larger
# number is refused here, with click's message, instead of failing in the database.
ROW_ID = click.IntRange(1, 2**31 - 1)


class UserError(click.ClickException):
    """An OutreachError shown as a one-line message with its exit code, never a traceback."""

    def __init__(self, error: OutreachError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code  # type: ignore[misc]  # click reads it per instance
        self.problems: tuple[Problem, ...] = (
            error.problems if isinstance(error, RecipientError) else ()
        )

    def show(self, file: Any = None) -> None:
        """Print the message and, for bad files, every problem on its own line."""
        for problem in self.problems:
            click.echo(str(problem), err=True)
        click.echo(f"error: {self.message}", err=True)


class OutreachGroup(click.Group):
    """A command group that turns domain errors into clean messages and exit codes."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line with stdout and stderr inert: data cannot steer the terminal.

        Here rather than in each command, so that every line (a command's output, a warning,
        click's own usage errors, the error message of a UserError) passes the same edge.
        """
        with inert_output():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, translating OutreachError."""
        try:
            return super().invoke(ctx)
        except OutreachError as error:
            raise UserError(error) from None


class App:
    """What commands share: settings and the database engine, loaded only when needed."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        # Wide enough for a recipient per line when the output goes to a file or a pipe.
        # No markup and no emoji codes: data such as "[fr]" or ":flag:" is printed as is. No
        # colours or styles either: stdout escapes every ESC, ours included (outreach.terminal).
        self.out = InertConsole(
            highlight=False,
            markup=False,
            emoji=False,
            color_system=None,
            width=None if sys.stdout.isatty() else 200,
        )

    @cached_property
    def settings(self) -> Settings:
        """The validated settings."""
        return load_settings(self.config_path)

    @cached_property
    def raw_engine(self) -> Engine:
        """An engine, without checking the schema (for init and upgrade)."""
        return make_engine(self.settings.database.url)

    @cached_property
    def engine(self) -> Engine:
        """An engine on a database whose schema is this version's."""
        require_current(self.raw_engine)
        return self.raw_engine

    @contextmanager
    def progress(self, label: str, total: int | None) -> Iterator[Callable[[], None]]:
        """A progress bar on the terminal (none when stderr is not one); yields `advance`."""
        if not sys.stderr.isatty():
            yield lambda: None
            return
        # The bar draws with cursor movements, which the inert stderr would escape: it writes
        # to the terminal under it, and shows only our own fixed labels.
        terminal = Console(file=raw_stream(sys.stderr))
        with Progress(console=terminal, transient=True) as bar:
            task = bar.add_task(label, total=total)
            yield lambda: bar.advance(task)

    @property
    def actor(self) -> str:
        """Who is recorded as making changes."""
        return default_actor(self.settings.audit.actor)


pass_app = click.make_pass_decorator(App)


@click.group(cls=OutreachGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="outreach")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Configuration file (default: $OUTREACH_CONFIG, else ./outreach.toml).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Send a personalised appeal to diplomats and track every delivery and reply.

    Example: outreach recipients import recipients/diplomats.csv
    """
    ctx.obj = App(config_path)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="outreach"))


def register() -> None:
    """Attach the command groups (imported here so that each module stays small)."""
    from outreach.cli import (
        approval,
        campaigns,
        database,
        delivery,
        followups,
        letters,
        recipients,
        replies,
        reports,
        web,
    )

    cli.add_command(database.init)
    cli.add_command(database.db)
    cli.add_command(recipients.recipients)
    cli.add_command(letters.appeals)
    cli.add_command(letters.preview)
    cli.add_command(letters.check)
    cli.add_command(campaigns.campaign)
    approval.register()
    followups.register()
    cli.add_command(delivery.letters)
    cli.add_command(delivery.dispatch)
    cli.add_command(delivery.run)
    cli.add_command(delivery.send)
    cli.add_command(replies.inbox)
    cli.add_command(replies.replies)
    cli.add_command(reports.report)
    cli.add_command(web.web)
    cli.add_command(web.users)


register()
