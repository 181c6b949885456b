"""The `report` command: a campaign's figures as terminal tables, JSON, CSV or HTML."""

from __future__ import annotations

from pathlib import Path

import click

from outreach.appeal import Appeal, AppealError, load_appeal
from outreach.campaign import get_campaign
from outreach.cli import App, pass_app
from outreach.cli.recipients import where_option
from outreach.db import session_scope
from outreach.errors import InputError
from outreach.reports.data import build_report
from outreach.reports.model import Report
from outreach.reports.tabular import TABLES, to_csv, to_json, to_text
from outreach.terminal import InertConsole, inert_file


def appeal_of(app: App, slug: str) -> Appeal | None:
    """The campaign's appeal, for the demands' text; None (with a warning) if it is gone."""
    try:
        return load_appeal(Path(app.settings.paths.templates) / slug)
    except AppealError as exc:
        click.echo(f"warning: demands shown by key only: {exc}", err=True)
        return None


def write(text: str, out: Path | None) -> None:
    """Write to the file, or to standard output."""
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")


def write_csv(report: Report, table: str | None, out: Path | None) -> None:
    """One table to a file or stdout, or every table into the directory `out`."""
    if table is not None:
        write(to_csv(report, table), out)
        return
    if out is None or (out.exists() and not out.is_dir()):
        raise InputError(
            "--format csv: name a --table, or give --out DIRECTORY for one file per table "
            f"({', '.join(TABLES)})"
        )
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        (out / f"{name}.csv").write_text(to_csv(report, name), encoding="utf-8")


@click.command("report")
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "html"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Write to this file (for csv without --table: a directory, one file per table).",
)
@click.option("--table", "table", type=click.Choice(TABLES), help="For csv: the one table.")
@where_option
@pass_app
def report(
    app: App,
    name: str,
    fmt: str,
    out: Path | None,
    table: str | None,
    where: tuple[str, ...],
) -> None:
    """Report on a campaign: letters, replies, positions per demand, who to call; reads only.

    Example: outreach report spring-2026 --format csv --out reports/ --where kind=mep
    """
    if table is not None and fmt != "csv":
        raise InputError("--table is for --format csv")
    # Read-only: a report never changes data, and does not lock SQLite for writing.
    with session_scope(app.engine, write=False) as session:
        chosen = get_campaign(session, name)
        figures = build_report(
            session, chosen, appeal=appeal_of(app, chosen.appeal_slug), where=list(where)
        )
    if fmt == "json":
        write(to_json(figures), out)
    elif fmt == "csv":
        write_csv(figures, table, out)
    elif fmt == "html":
        # Imported here: the HTML renderer is heavier and only this format needs it.
        from outreach.reports.html import render_html

        write(render_html(figures), out)
    elif out is None:
        to_text(figures, app.out)
    else:
        # Terminal tables in a file are read on a terminal (`cat`, `less -R`): inert as well.
        with out.open("w", encoding="utf-8") as file:
            console = InertConsole(
                file=inert_file(file), markup=False, highlight=False, emoji=False, width=200
            )
            to_text(figures, console)
