"""Commands on a campaign's follow-ups: declare the steps, list what is planned, sent, skipped."""

from __future__ import annotations

import json
from collections import Counter

import click

from outreach import clock
from outreach.campaign import get_campaign
from outreach.cli import App, pass_app
from outreach.cli.campaigns import campaign
from outreach.db import session_scope
from outreach.errors import InputError
from outreach.followup import parse_after
from outreach.followup_listing import follow_up_rows
from outreach.letter import Composer
from outreach.models import CampaignState
from outreach.steps import DEFAULT_TEMPLATE, declare_steps, steps_of


@campaign.command("followup")
@click.argument("name")
@click.option(
    "--after",
    metavar="'N working days'",
    help="Working days after the previous letter (on each recipient's calendar).",
)
@click.option(
    "--template",
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="Templates folder under the appeal: <appeal>/<template>/<lang>/.",
)
@click.option(
    "--max",
    "count",
    type=int,
    default=1,
    show_default=True,
    help="Follow-ups per recipient at most; 0 withdraws them.",
)
@pass_app
def followup_command(app: App, name: str, after: str | None, template: str, count: int) -> None:
    """Declare the campaign's follow-up steps (replacing any declared before); --max 0 withdraws.

    Example: outreach campaign followup spring-2026 --after "10 working days" --max 2
    """
    if after is None and count:
        raise InputError('--after is needed, e.g. --after "10 working days" (or --max 0)')
    days = parse_after(after) if after is not None else 0
    with session_scope(app.engine) as session:
        chosen = get_campaign(session, name)
        composer = Composer.load(app.settings, chosen.appeal_slug)
        steps = declare_steps(
            session,
            chosen,
            composer,
            after_days=days,
            template=template,
            count=count,
            actor=app.actor,
        )
        state = chosen.state
    if not steps:
        app.out.print(f"{name}: no follow-ups; those not yet sent were cancelled")
        return
    app.out.print(
        f"{name}: {len(steps)} follow-up(s), each {days} working day(s) after the previous "
        f"letter, templates {template}/"
    )
    if state is CampaignState.DRAFT:
        app.out.print(f"approving the campaign approves them: outreach campaign approve {name}")
    else:
        app.out.print(f"they wait for approval: outreach campaign approve {name}")


@campaign.command("followups")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_app
def followups_command(app: App, name: str, as_json: bool) -> None:
    """List follow-ups: planned, waiting, sent and skipped, each with its reason.

    Example: outreach campaign followups spring-2026 --json
    """
    counts: Counter[str] = Counter()
    with session_scope(app.engine, write=False) as session:
        chosen = get_campaign(session, name)
        steps = steps_of(session, chosen.id)
        if as_json:
            click.echo("[", nl=False)
            for number, row in enumerate(follow_up_rows(session, chosen, clock.now())):
                click.echo(("," if number else "") + "\n  " + json.dumps(row.as_json()), nl=False)
            click.echo("\n]")
            return
        for step in steps:
            approval = f"approved by {step.approved_by}" if step.approved_by else "not approved"
            app.out.print(
                f"step {step.number}: {step.after_days} working day(s) after the previous "
                f"letter, templates {step.template}/ ({approval})",
                markup=False,
            )
        if not steps:
            app.out.print(f"{name} declares no follow-up (see `outreach campaign followup`)")
        for row in follow_up_rows(session, chosen, clock.now()):
            counts[row.status] += 1
            when = row.at.strftime("%Y-%m-%d %H:%M UTC") if row.at else ""
            if not when and row.due_on:
                when = f"from {row.due_on.isoformat()}"
            demands = ",".join(row.demand_keys) or "-"
            app.out.print(
                f"{row.recipient_key}  step {row.step}  {row.status}  {when or '-'}  "
                f"demands {demands}  {row.reason}",
                markup=False,
            )
    app.out.print("  ".join(f"{status} {number}" for status, number in sorted(counts.items())))


def register() -> None:
    """The commands above attach themselves to `outreach campaign` when this module loads."""
