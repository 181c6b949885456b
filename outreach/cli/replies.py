"""Commands on inbound mail: inbox fetch/import, and replies list/show/match/confirm/reject/code."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlmodel import Session, col, select

from outreach import clock
from outreach.appeal import Appeal, load_appeal
from outreach.cli import ROW_ID, App, OutreachGroup, pass_app
from outreach.db import session_scope
from outreach.errors import StateError
from outreach.inbox.fetch import IntakeReport, fetch_imap, import_path
from outreach.inbox.manual import confirm_match, match_by_hand, reject_match
from outreach.inbox.record import get_inbound
from outreach.models import InboundKind, InboundMessage, Letter, MatchStrength
from outreach.positions import code_reply, parse_codings, positions_of, suggest, uncoded_replies


@click.group(cls=OutreachGroup)
def inbox() -> None:
    """Take in replies, bounces and auto-replies.

    Example: outreach inbox fetch
    """


def print_intake(app: App, report: IntakeReport) -> None:
    """One line of what an intake did."""
    kinds = ", ".join(f"{kind} {number}" for kind, number in sorted(report.by_kind.items()))
    app.out.print(
        f"taken in {report.taken} ({kinds or 'nothing new'}); duplicates {report.duplicates}; "
        f"unmatched {report.unmatched}; quarantined {report.quarantined}"
    )
    if report.reused_message_ids:
        app.out.print(
            f"{report.reused_message_ids} new message(s) carry a Message-ID that another message "
            "has: each is kept, the new one flagged for review (`outreach replies list`)"
        )
    if report.for_review:
        app.out.print(
            f"{report.for_review} matched for review only: no effect until confirmed "
            "(`outreach replies list --review`)"
        )
    if report.moved:
        app.out.print(f"moved {report.moved} to {app.settings.imap.processed_folder}")


@inbox.command("fetch")
@pass_app
def fetch_command(app: App) -> None:
    """Read new messages from the IMAP folder, record each once, then move it to processed.

    Example: outreach inbox fetch
    """
    print_intake(app, fetch_imap(app.engine, app.settings))


@inbox.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@pass_app
def import_command(app: App, paths: tuple[Path, ...]) -> None:
    """Take in messages from a Maildir folder, an mbox file, .eml files or a folder of them.

    Example: outreach inbox import ~/exported/replies.mbox
    """
    for path in paths:
        print_intake(app, import_path(app.engine, app.settings, path))


@click.group(cls=OutreachGroup)
def replies() -> None:
    """Inbound messages: list, read, attach to a letter, and code positions on the demands.

    Example: outreach replies list --uncoded
    """


def row_json(message: InboundMessage, letter: Letter | None) -> dict[str, object]:
    """An inbound message as JSON (without its raw bytes)."""
    return {
        "id": message.id,
        "kind": message.kind.value,
        "reason": message.reason,
        "review": message.review,
        "quarantined": message.quarantined,
        "message_id": message.message_id,
        "reused_message_id": message.reused_message_id,
        "sender": message.sender,
        "subject": message.subject,
        "date": message.date.isoformat() if message.date else None,
        "language": message.language,
        "return_date": message.return_date.isoformat() if message.return_date else None,
        "letter": message.letter_id,
        "match": message.match_method.value if message.match_method else None,
        "strength": message.match_strength.value if message.match_strength else None,
        "why": message.match_note,
        "recipient": letter.recipient_key if letter else None,
    }


@replies.command("list")
@click.option("--kind", type=click.Choice([k.value for k in InboundKind]), help="Only this kind.")
@click.option("--unmatched", is_flag=True, help="Only messages tied to no letter (triage).")
@click.option("--uncoded", is_flag=True, help="Only matched replies with no position yet.")
@click.option("--review", is_flag=True, help="Only matches for review: no effect until confirmed.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
def list_command(
    app: App, kind: str | None, unmatched: bool, uncoded: bool, review: bool, as_json: bool
) -> None:
    """List inbound messages of every kind, newest last, with the letter each answers.

    A match "for review" (a stranger writing to a letter's address, a report naming another
    address...) has changed nothing yet: confirm or reject it.

    Example: outreach replies list --review
    """
    query = select(InboundMessage, Letter).join(
        Letter, col(Letter.id) == col(InboundMessage.letter_id), isouter=True
    )
    if kind:
        query = query.where(InboundMessage.kind == InboundKind(kind))
    if unmatched:
        query = query.where(col(InboundMessage.letter_id).is_(None))
    if uncoded:
        query = query.where(uncoded_replies())
    if review:
        query = query.where(InboundMessage.match_strength == MatchStrength.FOR_REVIEW)
    with session_scope(app.engine, write=False) as session:
        rows = [
            row_json(m, letter)
            for m, letter in session.exec(query.order_by(col(InboundMessage.id)))
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        flag = " (review)" if row["review"] else ""
        if row["strength"] == MatchStrength.FOR_REVIEW.value:
            flag = " (for review, no effect yet: see `replies show`)"
        if row["reused_message_id"]:
            flag = " (review: Message-ID reused)"
        target = f"letter {row['letter']} {row['recipient']}" if row["letter"] else "unmatched"
        app.out.print(
            f"{row['id']:>5}  {row['kind']:<10} {target:<36} {row['sender'] or '':<36} "
            f"{row['subject']}{flag}"
        )
    app.out.print(f"{len(rows)} message(s)")


def appeal_of(app: App, letter: Letter) -> Appeal:
    """The appeal a letter carried."""
    return load_appeal(Path(app.settings.paths.templates) / letter.appeal_slug)


def same_message_id(session: Session, message: InboundMessage) -> list[int]:
    """The other stored messages that carry this message's Message-ID."""
    if message.message_id is None:
        return []
    return [
        other
        for other in session.exec(
            select(InboundMessage.id)
            .where(InboundMessage.message_id == message.message_id)
            .order_by(col(InboundMessage.id))
        )
        if other is not None and other != message.id
    ]


@replies.command("show")
@click.argument("message_id", type=ROW_ID)
@pass_app
def show_command(app: App, message_id: int) -> None:
    """Show a message: its stripped text, the letter it answers, suggestions and positions.

    Example: outreach replies show 7
    """
    with session_scope(app.engine, write=False) as session:
        message = get_inbound(session, message_id)
        letter = session.get(Letter, message.letter_id) if message.letter_id else None
        current = positions_of(session, message_id)
        history = positions_of(session, message_id, history=True)
        namesakes = same_message_id(session, message)
    data = row_json(message, letter)
    for key in ("kind", "reason", "sender", "subject", "date", "language", "message_id"):
        app.out.print(f"{key:<11} {data[key] or ''}")
    if namesakes:
        listed = ", ".join(str(other) for other in namesakes)
        app.out.print(
            f"{'reused':<11} other content under this Message-ID: message(s) {listed}; each is kept"
        )
    if message.return_date:
        app.out.print(f"{'back on':<11} {message.return_date.isoformat()}")
    if message.kind is InboundKind.BOUNCE:
        kind = "permanent" if message.bounce_permanent else "temporary"
        app.out.print(
            f"{'bounce':<11} {kind} {message.bounce_status or ''} {message.bounce_addresses}"
        )
    if message.error:
        app.out.print(f"{'error':<11} {message.error}")
    if letter is None:
        app.out.print(
            "letter      none: attach with `outreach replies match ID --letter LETTER_ID`"
        )
    else:
        to = f"{letter.recipient_key} <{letter.to_address}>"
        app.out.print(f"letter      {letter.id} to {to}, {letter.state.value}")
        print_strength(app, message)
        if message.kind is InboundKind.REPLY:
            found = suggest(message.text, appeal_of(app, letter), message.language)
            app.out.print(f"suggested   {', '.join(found) or 'none'} (not counted until coded)")
    for position in current:
        quote = f' "{position.evidence}"' if position.evidence else ""
        who = f"{position.coded_by}, {position.coded_at:%Y-%m-%d}"
        app.out.print(f"position    {position.demand_key}={position.stance.value}{quote} ({who})")
    if len(history) > len(current):
        app.out.print(f"history     {len(history) - len(current)} earlier coding(s)")
    if message.text:
        app.out.print("")
        app.out.print(message.text)


def print_strength(app: App, message: InboundMessage) -> None:
    """How surely the message is about its letter, why, and what to do about a suggestion."""
    strength = message.match_strength
    if strength is MatchStrength.FOR_REVIEW:
        app.out.print(f"{'match':<11} for review, no effect yet: {message.match_note}")
        app.out.print(
            f"{'':<11} confirm with `outreach replies confirm {message.id}`, or reject with "
            f"`outreach replies reject {message.id}` (it is not about this letter)"
        )
    elif strength is not None:
        app.out.print(f"{'match':<11} {strength.value}: {message.match_note}")


@replies.command("match")
@click.argument("message_id", type=ROW_ID)
@click.option("--letter", "letter_id", type=ROW_ID, required=True, help="The letter it answers.")
@pass_app
def match_command(app: App, message_id: int, letter_id: int) -> None:
    """Attach an unmatched (or wrongly matched) message to the letter it answers.

    Example: outreach replies match 12 --letter 42
    """
    with session_scope(app.engine) as session:
        match_by_hand(
            session, message_id, letter_id, app.settings, actor=app.actor, now=clock.now()
        )
    app.out.print(f"message {message_id} answers letter {letter_id}")


@replies.command("confirm")
@click.argument("message_id", type=ROW_ID)
@click.option(
    "--letter", "letter_id", type=ROW_ID, help="Another letter it answers (a match by hand)."
)
@pass_app
def confirm_command(app: App, message_id: int, letter_id: int | None) -> None:
    """Confirm a match for review: the message is about its letter, and its effects follow.

    A reply then marks the letter replied and may be coded; a bounce marks it bounced and
    suppresses the address. The confirmation is recorded in the audit trail.

    Example: outreach replies confirm 12
    """
    with session_scope(app.engine) as session:
        message = confirm_match(
            session, message_id, app.settings, actor=app.actor, now=clock.now(), letter_id=letter_id
        )
        letter = message.letter_id
    app.out.print(f"message {message_id} answers letter {letter}: confirmed")


@replies.command("reject")
@click.argument("message_id", type=ROW_ID)
@pass_app
def reject_command(app: App, message_id: int) -> None:
    """Reject a match for review: the message is not about that letter; it becomes unmatched.

    Nothing had taken effect, so nothing changes but the match. Recorded in the audit trail.

    Example: outreach replies reject 12
    """
    with session_scope(app.engine) as session:
        note = reject_match(session, message_id, actor=app.actor, now=clock.now()).match_note
    app.out.print(f"message {message_id}: {note}; it is unmatched now")


@replies.command("code")
@click.argument("message_id", type=ROW_ID)
@click.option(
    "--demand", "demands", multiple=True, metavar="KEY=STANCE", help="A position (repeatable)."
)
@click.option(
    "--evidence",
    "evidence",
    multiple=True,
    metavar="QUOTE",
    help="The quote, per --demand in order.",
)
@pass_app
def code_command(
    app: App, message_id: int, demands: tuple[str, ...], evidence: tuple[str, ...]
) -> None:
    """Record where a reply stands on demands; recoding keeps the earlier coding as history.

    Stances: supports, commits, noncommittal, declines, not_addressed.

    Example: outreach replies code 7 --demand un-fact-finding=supports --evidence "we support"
    """
    codings = parse_codings(list(demands), list(evidence))
    with session_scope(app.engine) as session:
        message = get_inbound(session, message_id)
        if message.letter_id is None:
            raise StateError(
                f"message {message_id} is not matched to a letter: attach it first with "
                f"`outreach replies match {message_id} --letter LETTER_ID`"
            )
        letter = session.get(Letter, message.letter_id)
        assert letter is not None
        added = code_reply(
            session, message_id, appeal_of(app, letter), codings, actor=app.actor, now=clock.now()
        )
    for position in added:
        app.out.print(f"{position.demand_key}: {position.stance.value}")
