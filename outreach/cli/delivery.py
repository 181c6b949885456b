"""Commands that deliver: letters list/show/resolve, dispatch --once, run, and ad hoc send."""

from __future__ import annotations

import email
import json
from email import policy

import click
from sqlmodel import Session, col, select

from outreach import clock, outbox
from outreach.adhoc import enqueue, prepare
from outreach.campaign import get_campaign
from outreach.cli import ROW_ID, App, OutreachGroup, pass_app
from outreach.cli.recipients import where_option
from outreach.db import session_scope
from outreach.dispatch import Dispatcher, DispatchReport
from outreach.errors import InputError, NotFoundError
from outreach.letter import Composer
from outreach.models import Attempt, Letter, LetterState
from outreach.planner import PlanReport, plan_all
from outreach.repeats import lock_appeal


@click.group(cls=OutreachGroup)
def letters() -> None:
    """Letters: what was sent to whom, each attempt, and settling unknown ones.

    Example: outreach letters list --state unknown
    """


@letters.command("list")
@click.option("--campaign", "name", help="Only this campaign's letters.")
@click.option("--state", type=click.Choice([s.value for s in LetterState]), help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
def list_command(app: App, name: str | None, state: str | None, as_json: bool) -> None:
    """List letters (streamed), optionally of one campaign and one state.

    Example: outreach letters list --campaign spring-2026 --state deferred
    """
    with session_scope(app.engine, write=False) as session:
        query = select(Letter).order_by(col(Letter.id))
        if name:
            query = query.where(Letter.campaign_id == get_campaign(session, name).id)
        if state:
            query = query.where(Letter.state == LetterState(state))
        rows = session.exec(query.execution_options(yield_per=500))
        if as_json:
            click.echo("[", nl=False)
            separator = "\n"
            for row in rows:
                click.echo(separator + json.dumps(summary(row), ensure_ascii=False), nl=False)
                separator = ",\n"
            click.echo("\n]")
            return
        count = 0
        for row in rows:
            count += 1
            due = (
                f"due {row.due_at:%Y-%m-%d %H:%M}Z"
                if row.state in (LetterState.QUEUED, LetterState.DEFERRED)
                else ""
            )
            app.out.print(
                f"{row.id:>7}  {row.state.value:<10} {row.recipient_key:<24} {row.to_address:<36} "
                f"{row.language:<3} {due} {row.reason or row.last_error or ''}".rstrip()
            )
    app.out.print(f"{count} letter(s)")


def summary(row: Letter) -> dict[str, object]:
    """A letter as JSON (without its bytes)."""
    return {
        "id": row.id,
        "campaign_id": row.campaign_id,
        "appeal": row.appeal_slug,
        "recipient": row.recipient_key,
        "to": row.to_address,
        "language": row.language,
        "subject": row.subject,
        "state": row.state.value,
        "reason": row.reason,
        "message_id": row.message_id,
        "token": row.token,
        "send_after": row.send_after.isoformat(),
        "due_at": row.due_at.isoformat(),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
    }


def get_letter(session: Session, letter_id: int) -> Letter:
    """The letter with that id."""
    row = session.get(Letter, letter_id)
    if row is None:
        raise NotFoundError(f"no letter {letter_id} (see `outreach letters list`)")
    return row


@letters.command("show")
@click.argument("letter_id", type=ROW_ID)
@click.option("--eml", is_flag=True, help="Print only the exact message, as sent.")
@pass_app
def show_command(app: App, letter_id: int, eml: bool) -> None:
    """Show a letter: its state, every attempt, and the exact message sent.

    Example: outreach letters show 42
    """
    with session_scope(app.engine, write=False) as session:
        row = get_letter(session, letter_id)
        attempts = session.exec(
            select(Attempt).where(Attempt.letter_id == letter_id).order_by(col(Attempt.id))
        ).all()
    if eml:
        click.echo(row.mime.decode("ascii"), nl=False)
        return
    for key, value in summary(row).items():
        app.out.print(f"{key:<12} {'' if value is None else value}")
    app.out.print("attempts:" if attempts else "attempts:    none")
    for attempt in attempts:
        app.out.print(
            f"  {attempt.started_at:%Y-%m-%d %H:%M:%S}Z  {attempt.outcome.value:<9} "
            f"{attempt.smtp_code or '-'} {attempt.enhanced_code or ''} "
            f"{attempt.reply or ''}".rstrip()
        )
    if row.mime:
        message = email.message_from_bytes(row.mime, policy=policy.default)
        app.out.print(f"message:     {len(row.mime)} bytes; To: {message['To']}")
        app.out.print(f"subject:     {message['Subject']}")
        app.out.print(f"             (the exact bytes: outreach letters show {letter_id} --eml)")


@letters.command("resolve")
@click.argument("letter_id", type=ROW_ID)
@click.option(
    "--sent", "outcome", flag_value="sent", help="It arrived (e.g. found in the Sent folder)."
)
@click.option(
    "--not-sent", "outcome", flag_value="not-sent", help="It did not arrive: send it again."
)
@pass_app
def resolve_command(app: App, letter_id: int, outcome: str | None) -> None:
    """Settle a letter in unknown state, on evidence: it was sent, or it was not.

    Example: outreach letters resolve 42 --sent
    """
    if outcome is None:
        raise InputError("say what happened: --sent or --not-sent")
    with session_scope(app.engine) as session:
        outbox.resolve_letter(
            session, letter_id, sent=outcome == "sent", actor=app.actor, now=clock.now()
        )
    app.out.print(
        f"letter {letter_id}: {'sent' if outcome == 'sent' else 'queued to be sent again'}"
    )


def print_report(app: App, report: DispatchReport) -> None:
    """One line of what a dispatch did."""
    outcomes = ", ".join(f"{state} {number}" for state, number in sorted(report.by_outcome.items()))
    app.out.print(f"claimed {report.claimed}: {outcomes or 'nothing due'}")
    if report.recovered_unknown:
        app.out.print(f"{report.recovered_unknown} letter(s) of a stopped worker are now unknown")
    if report.suppressed:
        app.out.print(f"{report.suppressed} letter(s) suppressed since approval")
    if report.paused:
        app.out.print(
            "a campaign was paused after connection failures: see `outreach campaign status`"
        )
    if report.next_due:
        app.out.print(f"next letter due {report.next_due:%Y-%m-%d %H:%M} UTC")


@click.command()
@click.option("--once", is_flag=True, required=True, help="Send what is due now, then exit.")
@click.option("--worker", help="Name of this worker (default: host, process and a random part).")
@pass_app
def dispatch(app: App, once: bool, worker: str | None) -> None:
    """Plan the follow-ups that are due, send every letter due now (within the pace), then exit.

    Example: outreach dispatch --once
    """
    print_followups(app, plan_all(app.engine, app.settings, clock.now()))
    print_report(app, Dispatcher(app.engine, app.settings, worker=worker).run_once())


def print_followups(app: App, reports: dict[str, PlanReport]) -> None:
    """Say which follow-ups the planner made."""
    for name, report in reports.items():
        if report.created or report.skipped:
            app.out.print(
                f"{name}: {report.created} follow-up(s) planned, {report.skipped} could not be "
                f"made (see `outreach campaign followups {name}`)"
            )


@click.command()
@pass_app
def run(app: App) -> None:
    """Run the scheduler: send due letters, plan follow-ups, read the inbox (with [imap]).

    Example: outreach run
    """
    from outreach.cli.replies import print_intake
    from outreach.scheduler import run_forever

    run_forever(
        app.engine,
        app.settings,
        report=lambda report: print_report(app, report),
        report_intake=lambda report: print_intake(app, report),
        report_followups=lambda reports: print_followups(app, reports),
    )


@click.command()
@click.option("--appeal", "slug", metavar="SLUG", help="The appeal (default: letters.appeal).")
@click.option("--to", "to", multiple=True, metavar="KEY|EMAIL", help="A recipient (repeatable).")
@where_option
@click.option("--lang", "language", metavar="LANG", help="Write in this language.")
@click.option(
    "--again",
    is_flag=True,
    help="Send even to a mailbox this appeal already went to (needs --reason; audited).",
)
@click.option("--reason", metavar="TEXT", help="Why the appeal goes again (with --again).")
@click.option(
    "--dry-run/--no-dry-run",
    default=True,
    show_default=True,
    help="Only show what would be sent (the default); --no-dry-run sends.",
)
@pass_app
def send(
    app: App,
    slug: str | None,
    to: tuple[str, ...],
    where: tuple[str, ...],
    language: str | None,
    again: bool,
    reason: str | None,
    dry_run: bool,
) -> None:
    """Send the appeal now to chosen recipients, outside any campaign (a dry run by default).

    Example: outreach send --to emb-fr-am-head --no-dry-run
    """
    if again and not (reason or "").strip():
        raise InputError(
            '--again needs --reason "…": why this appeal goes again to a mailbox that has it'
        )
    composer = Composer.load(app.settings, slug)
    now = clock.now()
    with session_scope(app.engine) as session:
        lock_appeal(session, composer.appeal.slug)
        prepared = prepare(
            session, composer, list(to), list(where), language=language, again=again, now=now
        )
        for item in prepared:
            if item.letter is None:
                app.out.print(f"not sent   {item.recipient.key}: {item.reason}")
            else:
                verb = "would send" if dry_run else "sending"
                app.out.print(
                    f"{verb} {item.recipient.key} <{item.letter.to_address}> "
                    f"[{item.letter.language}] {item.letter.subject}"
                )
        ready = sum(1 for item in prepared if item.letter is not None)
        if dry_run:
            app.out.print(f"dry run: nothing was sent; add --no-dry-run to send {ready} letter(s)")
            return
        ids = enqueue(session, prepared, now=now, actor=app.actor, again_reason=reason)
    if not ids:
        app.out.print("nothing to send")
        return
    print_report(app, Dispatcher(app.engine, app.settings).run_once(only=ids))
    with session_scope(app.engine, write=False) as session:
        for letter_id in ids:
            row = get_letter(session, letter_id)
            error = row.last_error or ""
            app.out.print(
                f"letter {letter_id} to {row.to_address}: {row.state.value} {error}".rstrip()
            )
