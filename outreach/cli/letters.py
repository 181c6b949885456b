"""Commands that show letters without sending anything: appeals list, preview, check."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from outreach.appeal import list_appeals
from outreach.cli import App, OutreachGroup, pass_app
from outreach.cli.lint import count_warnings, print_warnings
from outreach.cli.recipients import where_option
from outreach.db import session_scope
from outreach.eligibility import why_not_sendable
from outreach.errors import InputError, LetterError
from outreach.letter import Composer
from outreach.recipients.lint import Linter
from outreach.recipients.segment import parse_where, to_conditions
from outreach.recipients.table import get_recipient, iter_recipients, survey_list, to_record

appeal_option = click.option(
    "--appeal", "slug", metavar="SLUG", help="The appeal (default: letters.appeal of the config)."
)


@click.group(cls=OutreachGroup)
def appeals() -> None:
    """The appeals under the templates folder.

    Example: outreach appeals list
    """


@appeals.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def appeals_list(app: App, as_json: bool) -> None:
    """List the appeals, their languages and which translations await review.

    Example: outreach appeals list --json
    """
    found = list_appeals(Path(app.settings.paths.templates))
    if as_json:
        data = [
            {
                "slug": a.slug,
                "title": a.title,
                "date": a.date.isoformat(),
                "default_language": a.default_language,
                "languages": list(a.languages),
                "unreviewed": list(a.unreviewed),
            }
            for a in found
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for a in found:
        unreviewed = f" (awaiting review: {', '.join(a.unreviewed)})" if a.unreviewed else ""
        app.out.print(f"{a.slug}  {a.date}  {', '.join(a.languages)}{unreviewed}")
        app.out.print(f"    {a.title}")
    app.out.print(f"{len(found)} appeal(s) in {app.settings.paths.templates}")


@click.command()
@appeal_option
@click.option("--recipient", "key", metavar="KEY", help="Show the letter to this recipient.")
@click.option("--lang", "language", metavar="LANG", help="Write in this language instead.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "html", "eml"]),
    default="text",
    show_default=True,
    help="What to show of the letter.",
)
@where_option
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one KEY.eml per recipient of the segment into this folder.",
)
@pass_app
def preview(
    app: App,
    slug: str | None,
    key: str | None,
    language: str | None,
    fmt: str,
    where: tuple[str, ...],
    out: Path | None,
) -> None:
    """Show a letter exactly as it would be sent; nothing is sent.

    Example: outreach preview --recipient emb-fr-am-head --format eml
    """
    composer = Composer.load(app.settings, slug)
    if key is not None:
        if out is not None or where:
            raise InputError("--recipient shows one letter: leave out --out and --where")
        with session_scope(app.engine, write=False) as session:
            recipient = to_record(get_recipient(session, key))
        letter = composer.compose(recipient, language=language)
        shown = {"text": letter.text, "html": letter.html, "eml": letter.mime.decode("ascii")}
        if fmt == "text":
            click.echo(f"Subject: {letter.subject}\n")
        click.echo(shown[fmt], nl=False)
        return
    if out is None:
        raise InputError(
            "give --recipient KEY to show one letter, or --out DIR to write one per recipient"
        )
    out.mkdir(parents=True, exist_ok=True)
    written, problems = 0, 0
    with session_scope(app.engine, write=False) as session:
        for row in iter_recipients(session, to_conditions(parse_where(where))):
            recipient = to_record(row)
            try:
                letter = composer.compose(recipient, language=language)
            except LetterError as exc:
                click.echo(str(exc), err=True)
                problems += 1
                continue
            (out / f"{recipient.key}.eml").write_bytes(letter.mime)
            written += 1
    app.out.print(f"wrote {written} letter(s) to {out}")
    if problems:
        click.echo(f"{problems} recipient(s) have no letter: see the lines above", err=True)
        sys.exit(1)


@click.command()
@appeal_option
@where_option
@pass_app
def check(app: App, slug: str | None, where: tuple[str, ...]) -> None:
    """Render every recipient's letter, list every problem and warn of data mistakes.

    Exit status 1 on a problem, or on a data warning that checks.block makes blocking.

    Example: outreach check --where kind=embassy
    """
    composer = Composer.load(app.settings, slug)
    languages: Counter[str] = Counter()
    unreviewed: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    problems = 0
    with session_scope(app.engine, write=False) as session:
        lint = Linter(
            survey_list(session), lambda r: composer.choose(r).language, segment=list(where)
        )
        for row in iter_recipients(session, to_conditions(parse_where(where))):
            recipient = to_record(row)
            reason = why_not_sendable(session, recipient)
            if reason is not None:
                lint.add(recipient, checked=False)
                skipped[reason] += 1
                continue
            try:
                letter = composer.compose(recipient)
            except LetterError as exc:
                lint.add(recipient, checked=False)
                click.echo(f"problem: {exc}")
                problems += 1
                continue
            lint.add(recipient)
            languages[letter.language] += 1
            if not letter.reviewed:
                unreviewed[letter.language] += 1
    print_warnings(lint.warnings)
    total = sum(languages.values())
    app.out.print(f"{total} letter(s) ready: {counts(languages) or 'none'}")
    if unreviewed:
        app.out.print(f"note: text or form of address awaiting review: {counts(unreviewed)}")
    if skipped:
        app.out.print(f"not written to: {counts(skipped)}")
    blocked = count_warnings(app, lint.warnings, "the check")
    if problems:
        app.out.print(f"{problems} problem(s)")
    if problems or blocked:
        sys.exit(1)
    app.out.print("no problems")


def counts(counter: Counter[str]) -> str:
    """`en 30, fr 10` in descending order."""
    return ", ".join(f"{name} {number}" for name, number in counter.most_common())
