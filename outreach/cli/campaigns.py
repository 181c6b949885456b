"""Commands on campaigns: create, list, check, approve, pause, resume, cancel, status."""

from __future__ import annotations

import datetime as dt
import json

import click
from sqlmodel import col, select

from outreach.campaign import (
    CampaignError,
    create_campaign,
    get_campaign,
    letter_counts,
    segment_size,
    set_state,
)
from outreach.cli import App, OutreachGroup, pass_app
from outreach.cli.recipients import where_option
from outreach.db import session_scope
from outreach.errors import InputError
from outreach.followup import parse_after
from outreach.letter import Composer
from outreach.models import Campaign, CampaignState, LetterState
from outreach.recipients.lint import blocked_by, empty_segment, refusal
from outreach.steps import DEFAULT_TEMPLATE, declare_steps, steps_of


def parse_instant(text: str | None) -> dt.datetime | None:
    """An ISO 8601 date-time with its offset (2026-03-10T09:00+01:00 or ...Z)."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--start {text!r}: write an ISO date-time, e.g. 2026-03-10T09:00+01:00"
        ) from None
    if value.tzinfo is None:
        raise InputError(f"--start {text!r}: give the offset too, e.g. 2026-03-10T09:00+01:00 or Z")
    return value.astimezone(dt.UTC)


def parse_dates(values: tuple[str, ...]) -> list[dt.date]:
    """--closed YYYY-MM-DD values."""
    try:
        return [dt.date.fromisoformat(value) for value in values]
    except ValueError as exc:
        raise InputError(f"--closed: {exc}; write YYYY-MM-DD") from None


@click.group(cls=OutreachGroup)
def campaign() -> None:
    """Campaigns: an appeal sent to a segment inside a sending window.

    Example: outreach campaign status spring-2026
    """


@campaign.command("create")
@click.argument("name")
@click.option("--appeal", "slug", metavar="SLUG", help="The appeal (default: letters.appeal).")
@where_option
@click.option(
    "--window",
    help='Local sending window, e.g. "Tue-Thu 09:00-11:00" (default Mon-Fri 09:00-12:00).',
)
@click.option("--start", metavar="ISO-DATETIME", help="Send nothing before this instant.")
@click.option(
    "--closed",
    multiple=True,
    metavar="YYYY-MM-DD",
    help="A date on which nothing is sent (repeatable).",
)
@click.option(
    "--every-day",
    is_flag=True,
    help="Send on weekends and public holidays too (urgent appeals); closed dates still hold.",
)
@click.option(
    "--followup-after",
    metavar="'N working days'",
    help="Declare follow-ups, each N working days after the previous letter.",
)
@click.option(
    "--followup-max", type=int, default=1, show_default=True, help="Follow-ups per recipient."
)
@click.option(
    "--followup-template", default=DEFAULT_TEMPLATE, show_default=True, help="Their templates."
)
@pass_app
def create_command(
    app: App,
    name: str,
    slug: str | None,
    where: tuple[str, ...],
    window: str | None,
    start: str | None,
    closed: tuple[str, ...],
    every_day: bool,
    followup_after: str | None,
    followup_max: int,
    followup_template: str,
) -> None:
    """Create a draft campaign; nothing is sent until it is approved.

    Example: outreach campaign create spring-2026 --where kind=mep --window "Tue-Thu 09:00-11:00"
    """
    composer = Composer.load(app.settings, slug)  # the appeal must exist and be valid
    with session_scope(app.engine) as session:
        created = create_campaign(
            session,
            name,
            appeal_slug=composer.appeal.slug,
            where=list(where),
            window=window,
            start_at=parse_instant(start),
            closed_dates=parse_dates(closed),
            actor=app.actor,
            every_day=every_day,
        )
        if segment_size(session, created) == 0:
            warning = empty_segment(list(where))
            click.echo(f"warning: {warning}")
            if blocked_by([warning], app.settings.checks.block):
                raise CampaignError(refusal([warning], "creating it", "no campaign was created"))
        steps = []
        if followup_after is not None:
            session.flush()
            steps = declare_steps(
                session,
                created,
                composer,
                after_days=parse_after(followup_after),
                template=followup_template,
                count=followup_max,
                actor=app.actor,
            )
    app.out.print(
        f"created draft campaign {created.name}: {created.appeal_slug}, window {created.window}"
        + (" on every day, weekends and public holidays included" if created.every_day else "")
    )
    if steps:
        app.out.print(
            f"with {len(steps)} follow-up(s), each {steps[0].after_days} working day(s) after "
            "the previous letter"
        )
    app.out.print(f"next: outreach campaign check {name}, then outreach campaign approve {name}")


@campaign.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def list_command(app: App, as_json: bool) -> None:
    """List campaigns and their states.

    Example: outreach campaign list
    """
    with session_scope(app.engine, write=False) as session:
        rows = session.exec(select(Campaign).order_by(col(Campaign.created_at))).all()
        data = [
            {"name": c.name, "appeal": c.appeal_slug, "state": c.state.value, "window": c.window}
            for c in rows
        ]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for item in data:
        app.out.print(f"{item['name']}  {item['state']}  {item['appeal']}  {item['window']}")


def change_state(app: App, name: str, target: CampaignState, reason: str | None) -> None:
    """Apply a state change and say so."""
    with session_scope(app.engine) as session:
        chosen = get_campaign(session, name)
        set_state(session, chosen, target, actor=app.actor, reason=reason)
    app.out.print(f"{name} is {target.value}")


@campaign.command("pause")
@click.argument("name")
@click.option("--reason", default="paused by staff", help="Shown in status.")
@pass_app
def pause_command(app: App, name: str, reason: str) -> None:
    """Stop claiming letters of a campaign (letters already sending finish).

    Example: outreach campaign pause spring-2026 --reason "waiting for the minister's visit"
    """
    change_state(app, name, CampaignState.PAUSED, reason)


@campaign.command("resume")
@click.argument("name")
@pass_app
def resume_command(app: App, name: str) -> None:
    """Resume a paused campaign.

    Example: outreach campaign resume spring-2026
    """
    change_state(app, name, CampaignState.RUNNING, None)


@campaign.command("cancel")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def cancel_command(app: App, name: str, yes: bool) -> None:
    """Cancel a campaign for good: every letter not yet sending is cancelled.

    Example: outreach campaign cancel spring-2026 --yes
    """
    if not yes:
        click.confirm(f"Cancel {name} and every letter not yet sent?", abort=True)
    change_state(app, name, CampaignState.CANCELLED, None)


@campaign.command("status")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def status_command(app: App, name: str, as_json: bool) -> None:
    """Counts of letters by state, and why the campaign is paused if it is.

    Example: outreach campaign status spring-2026 --json
    """
    with session_scope(app.engine, write=False) as session:
        chosen = get_campaign(session, name)
        counts = letter_counts(session, chosen.id)
        steps = [
            {
                "step": step.number,
                "after_working_days": step.after_days,
                "template": step.template,
                "approved": step.approved_at is not None,
            }
            for step in steps_of(session, chosen.id)
        ]
    data = {
        "name": chosen.name,
        "appeal": chosen.appeal_slug,
        "state": chosen.state.value,
        "pause_reason": chosen.pause_reason,
        "window": chosen.window,
        "every_day": chosen.every_day,
        "letters": counts,
        "followup_steps": steps,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    app.out.print(
        f"{chosen.name}: {chosen.state.value} ({chosen.appeal_slug}, window {chosen.window})"
    )
    if chosen.pause_reason and chosen.state is CampaignState.PAUSED:
        app.out.print(f"paused: {chosen.pause_reason}")
    app.out.print(
        "  ".join(f"{state} {number}" for state, number in counts.items() if number) or "no letters"
    )
    for step in steps:
        approval = "approved" if step["approved"] else "awaiting approval"
        app.out.print(
            f"follow-up {step['step']}: {step['after_working_days']} working day(s) after the "
            f"previous letter ({approval})"
        )
    if counts[LetterState.UNKNOWN.value]:
        app.out.print(
            f"{counts['unknown']} letter(s) in unknown state: see `outreach letters list "
            f"--campaign {name} --state unknown` and settle each with `outreach letters resolve`"
        )
