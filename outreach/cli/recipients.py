"""Commands on the recipient database: import, list, show, set, suppress, export and erase."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
from rich.table import Table

from outreach import clock
from outreach.cli import App, OutreachGroup, pass_app
from outreach.db import session_scope
from outreach.errors import RecipientError
from outreach.models import Recipient, SuppressionSource
from outreach.privacy import erase_recipient, export_person
from outreach.recipients.edit import edit_recipient, parse_changes
from outreach.recipients.importer import ImportReport, import_files
from outreach.recipients.segment import FIELDS, parse_where, to_conditions
from outreach.recipients.table import get_recipient, iter_recipients, to_json
from outreach.suppression import list_suppressions, suppress, unsuppress

WHERE_HELP = "Filter FIELD=VALUE (repeatable; the same field repeated means any of them). " + (
    "Fields: " + ", ".join(FIELDS)
)


def where_option(function: click.decorators.FC) -> click.decorators.FC:
    """The shared --where option."""
    return click.option("--where", "where", multiple=True, metavar="FIELD=VALUE", help=WHERE_HELP)(
        function
    )


@click.group(cls=OutreachGroup)
def recipients() -> None:
    """The people and offices letters are written to.

    Example: outreach recipients list --where kind=mep --where committee=AFET
    """


@recipients.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even if others are not.")
@click.option("--dry-run", is_flag=True, help="Validate and count, write nothing.")
@pass_app
def import_command(app: App, files: tuple[Path, ...], skip_invalid: bool, dry_run: bool) -> None:
    """Import recipients from CSV, YAML, EP XML or EP Open Data JSON files (upsert by key).

    All files are imported together or not at all: one invalid row rejects the import and
    every problem is listed as FILE:LINE: field: message.

    Example: outreach recipients import recipients/diplomats.csv recipients/un-and-eu.yaml
    """
    for path in files:
        if not path.is_file():
            raise RecipientError(f"{path}: no such file")
    report = import_files(
        app.engine, files, actor=app.actor, skip_invalid=skip_invalid, dry_run=dry_run
    )
    for problem in report.problems:
        click.echo(str(problem), err=True)
    print_report(app, report, dry_run=dry_run)
    if report.problems and not skip_invalid:
        raise RecipientError(
            f"{report.invalid} invalid row(s); nothing was imported. Fix the rows listed above, "
            "or import the valid ones with --skip-invalid"
        )


def print_report(app: App, report: ImportReport, *, dry_run: bool) -> None:
    """One line of counts, and notes on rows that cannot be written to yet."""
    app.out.print(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"invalid {report.invalid}"
    )
    if dry_run:
        app.out.print("dry run: nothing was written")
    if report.without_email:
        app.out.print(f"note: {report.without_email} recipient(s) have no e-mail address yet")
    if report.suppressed:
        app.out.print(f"note: {report.suppressed} recipient(s) have a suppressed address")
    if report.erased:
        app.out.print(
            f"note: {report.erased} record(s) of people erased on request were not imported "
            "again (take them off the source list)"
        )


@recipients.command("list")
@where_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of full records.")
@pass_app
def list_command(app: App, where: tuple[str, ...], as_json: bool) -> None:
    """List recipients, optionally a segment of them.

    Example: outreach recipients list --where kind=embassy --where language=fr --json
    """
    conditions = to_conditions(parse_where(where))
    with session_scope(app.engine, write=False) as session:
        rows = iter_recipients(session, conditions)
        if as_json:
            write_json_array(to_json(row) for row in rows)
            return
        count = print_table(app, rows)
    app.out.print(f"{count} recipient(s)")


def write_json_array(items: Iterator[dict[str, object]]) -> None:
    """Stream a JSON array, one element per line, without holding the list in memory."""
    click.echo("[", nl=False)
    separator = "\n"
    for item in items:
        click.echo(separator + json.dumps(item, ensure_ascii=False), nl=False)
        separator = ",\n"
    click.echo("\n]")


def print_table(app: App, rows: Iterator[Recipient], chunk: int = 200) -> int:
    """Print rows as tables of `chunk` rows, so that a large segment streams; returns the count."""
    count = 0
    table = new_table(header=True)
    for row in rows:
        name = " ".join(part for part in (row.given_name, row.family_name) if part) or "(office)"
        table.add_row(
            row.key,
            row.kind.value,
            row.role.value,
            name,
            row.organisation,
            row.country or "",
            row.email or "",
            row.languages.replace("|", " "),
            row.status.value,
        )
        count += 1
        if count % chunk == 0:
            app.out.print(table)
            table = new_table(header=False)
    if table.row_count:
        app.out.print(table)
    return count


def new_table(*, header: bool) -> Table:
    """An empty recipient table with fixed columns, one line per recipient."""
    table = Table(show_header=header, box=None, pad_edge=False)
    widths = {"organisation": 34, "name": 24, "email": 36}
    for name in ("key", "kind", "role", "name", "organisation", "ctry", "email", "lang", "status"):
        table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=widths.get(name))
    return table


@recipients.command("show")
@click.argument("key")
@pass_app
def show_command(app: App, key: str) -> None:
    """Show every field of one recipient.

    Example: outreach recipients show emb-fr-am-head
    """
    with session_scope(app.engine, write=False) as session:
        data = to_json(get_recipient(session, key))
    width = max(len(name) for name in data)
    for name, value in data.items():
        shown = " | ".join(map(str, value)) if isinstance(value, list) else value
        app.out.print(f"{name:<{width}}  {'' if shown is None else shown}")


@recipients.command("set")
@click.argument("key")
@click.argument("changes", nargs=-1, required=True, metavar="FIELD=VALUE...")
@pass_app
def set_command(app: App, key: str, changes: tuple[str, ...]) -> None:
    """Change fields of one recipient, validated as an import is; an empty VALUE clears one.

    Lists are written a|b|c. A later import from the source carrying a field overwrites it.

    Example: outreach recipients set emb-fr-am-head email=ambassade@example.org languages="fr|en"
    """
    with session_scope(app.engine) as session:
        changed = edit_recipient(
            session, key, parse_changes(list(changes)), actor=app.actor, now=clock.now()
        )
    app.out.print(
        f"{key}: changed {', '.join(changed)}" if changed else f"{key}: nothing to change"
    )


@recipients.command("suppress")
@click.argument("address")
@click.option("--reason", required=True, help="Why (e.g. 'asked not to be contacted').")
@click.option("--requested", is_flag=True, help="The person asked for it themselves.")
@pass_app
def suppress_command(app: App, address: str, reason: str, requested: bool) -> None:
    """Never write to an address again (survives deletion and re-import of the recipient).

    Example: outreach recipients suppress chancery.br-am@example.net --reason "asked to stop"
    """
    source = SuppressionSource.REQUEST if requested else SuppressionSource.MANUAL
    with session_scope(app.engine) as session:
        entry, new = suppress(session, address, reason=reason, source=source, actor=app.actor)
    shown = entry.address or "(erased address)"
    app.out.print(f"suppressed {shown}" if new else f"{shown} was already suppressed")


@recipients.command("unsuppress")
@click.argument("address")
@click.option("--reason", required=True, help="Why the suppression is lifted.")
@pass_app
def unsuppress_command(app: App, address: str, reason: str) -> None:
    """Lift a suppression added by mistake.

    Example: outreach recipients unsuppress chancery.br-am@example.net --reason "typo"
    """
    with session_scope(app.engine) as session:
        entry = unsuppress(session, address, actor=app.actor, reason=reason)
    app.out.print(f"{entry.address} may be written to again")


@recipients.command("suppressions")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def suppressions_command(app: App, as_json: bool) -> None:
    """List the suppression list (erased people appear only as a hash).

    Example: outreach recipients suppressions --json
    """
    with session_scope(app.engine, write=False) as session:
        entries = [
            {
                "address": entry.address,
                "address_hash": entry.address_hash,
                "source": entry.source.value,
                "reason": entry.reason,
                "since": entry.created_at.isoformat(),
                "by": entry.created_by,
            }
            for entry in list_suppressions(session)
        ]
    if as_json:
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    for entry in entries:
        shown = entry["address"] or f"sha256:{entry['address_hash']}"
        app.out.print(f"{shown}  {entry['source']}  {entry['since']}  {entry['reason']}")
    app.out.print(f"{len(entries)} suppressed address(es)")


@recipients.command("export")
@click.argument("key")
@pass_app
def export_command(app: App, key: str) -> None:
    """Print everything held about one person, as JSON (a subject access request).

    Example: outreach recipients export mep-999001 > mep-999001.json
    """
    with session_scope(app.engine, write=False) as session:
        data = export_person(session, key)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@recipients.command("erase")
@click.argument("key")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def erase_command(app: App, key: str, yes: bool) -> None:
    """Erase a person's data, keeping only a hashed suppression so they are never written to.

    Example: outreach recipients erase mep-999001 --yes
    """
    if not yes:
        click.confirm(f"Erase every record of {key}? This cannot be undone", abort=True)
    erasure = erase_recipient(app.engine, key, actor=app.actor)
    kept = f"; its address is suppressed as sha256:{erasure.digest}" if erasure.digest else ""
    app.out.print(f"erased {key}{kept}")
    app.out.print(
        f"scrubbed {erasure.letters} letter(s), {erasure.attempts} attempt(s), "
        f"{erasure.messages} message(s), {erasure.positions} position(s), "
        f"{erasure.audit} audit entr(ies); {erasure.mentions} mention(s) elsewhere redacted"
    )
    for address, other in erasure.kept:
        app.out.print(f"kept {address}: it is also the address of {other}")
    for other, name in erasure.named_by:
        app.out.print(
            f"kept: the record of {other} names them in {name}; correct it with "
            f"`outreach recipients set {other} {name}=…`, or erase that record too"
        )
    if not erasure.wal_emptied:
        app.out.print(
            "warning: another program (`outreach run`, `outreach web`) is reading the "
            "database, so its write-ahead log (the -wal file) still holds old pages; "
            "they leave it when that program stops"
        )
