"""`campaign check` and `campaign approve`: every letter and follow-up seen, then frozen."""

from __future__ import annotations

import json
import sys
from collections import Counter

import click
from sqlmodel import Session

from outreach import clock
from outreach.approval import (
    APPROVAL_STATES,
    Planned,
    PlanSummary,
    approve_campaign,
    campaign_lint,
    plan_letters,
)
from outreach.campaign import get_campaign, segment_of, segment_size
from outreach.cli import App, pass_app
from outreach.cli.campaigns import campaign
from outreach.cli.lint import count_warnings, print_warnings
from outreach.db import session_scope
from outreach.errors import StateError
from outreach.followup_preview import (
    Schedule,
    StepSample,
    Thread,
    first_threads,
    render_thread,
    step_samples,
)
from outreach.letter import Composer, Letter
from outreach.models import Campaign, CampaignState, LetterState
from outreach.recipients.lint import blocked_by
from outreach.repeats import Resend
from outreach.steps import approve_steps, steps_of


def left_out(planned: Planned) -> dict[str, str] | None:
    """A recipient approval writes no letter to, as JSON: key, state and why; else None."""
    if planned.state is LetterState.QUEUED:
        return None
    return {
        "recipient": planned.recipient.key,
        "state": planned.state.value,
        "reason": planned.reason or "",
    }


LEFT_OUT_LABEL = {
    LetterState.SKIPPED: "problem",
    LetterState.SUPPRESSED: "not written to",
    LetterState.DUPLICATE: "left out",
}


def print_plan(app: App, chosen: Campaign, plan: PlanSummary) -> None:
    """The plan's summary lines, as `campaign check` and `campaign approve` print them."""
    app.out.print(
        f"segment: {' AND '.join(segment_of(chosen)) or 'everyone'}; window {chosen.window}"
    )
    by_language = ", ".join(f"{k} {v}" for k, v in plan.languages.most_common())
    app.out.print(f"letters: {plan.queued} to send ({by_language})")
    if plan.first is not None and plan.last is not None:
        app.out.print(
            f"first leaves {plan.first:%Y-%m-%d %H:%M} UTC, last {plan.last:%Y-%m-%d %H:%M} UTC"
        )
    if plan.states["suppressed"]:
        app.out.print(f"not written to: {plan.states['suppressed']}")
    if plan.states["duplicate"]:
        app.out.print(
            f"left out: {plan.states['duplicate']} (their mailbox has this appeal already, or "
            "another recipient of the campaign shares it; a re-send on purpose: campaign "
            'approve --resend KEY --reason "…")'
        )


@campaign.command("check")
@click.argument("name")
@click.option("--samples", is_flag=True, help="Print one letter per language, and per follow-up.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: counts and everyone left out.")
@pass_app
def check_command(app: App, name: str, samples: bool, as_json: bool) -> None:
    """Render every letter and every follow-up of the campaign, warn of data mistakes.

    Exit status 1 on a problem, or on a data warning that checks.block makes blocking.

    Lists who approval would leave out and why: suppressed, inactive or do_not_contact, a
    mailbox this appeal already went to (another campaign, an ad hoc send), or a mailbox
    another recipient of the segment shares. Each follow-up step is rendered for every
    recipient, as if nothing were answered, and dated as the planner would date it.

    Example: outreach campaign check spring-2026 --samples
    """
    entries: list[dict[str, str]] = []
    problems: list[str] = []
    follow_ups: dict[int, Counter[str]] = {}
    with session_scope(app.engine, write=False) as session:
        chosen = get_campaign(session, name)
        composer = Composer.load(app.settings, chosen.appeal_slug)
        steps = steps_of(session, chosen.id)
        schedule = Schedule.of(chosen)
        # Every problem is printed as it is found; the data warnings after the letters.
        lint = campaign_lint(session, chosen, composer)
        plan = PlanSummary(listed=0, lint=lint)
        with app.progress("checking letters", segment_size(session, chosen)) as advance:
            for planned in plan_letters(session, chosen, composer, clock.now()):
                advance()
                plan.add(planned)
                entry = left_out(planned)
                if entry is not None:
                    entries.append(entry)
                    if planned.state is LetterState.SKIPPED:
                        problems.append(planned.reason or planned.recipient.key)
                    if not as_json:
                        label = LEFT_OUT_LABEL[planned.state]
                        shown = (
                            planned.reason
                            if planned.state is LetterState.SKIPPED
                            else (f"{planned.recipient.key}: {planned.reason}")
                        )
                        click.echo(f"{label}: {shown}")
                    continue
                assert planned.letter is not None
                assert planned.send_after is not None
                if planned.letter.to_address != planned.recipient.email and not as_json:
                    # An IDN domain goes in punycode: show the address as the server will see it.
                    click.echo(
                        f"address: {planned.recipient.key}: {planned.recipient.email} "
                        f"is sent as {planned.letter.to_address}"
                    )
                thread = Thread.of_letter(planned.recipient, planned.letter, planned.send_after)
                for sample in render_thread(composer, steps, thread, schedule):
                    if sample.problem is not None:
                        problems.append(sample.describe())
                        if not as_json:
                            click.echo(f"problem: {sample.describe()}")
                    else:
                        follow_ups.setdefault(sample.step, Counter())[sample.language] += 1
        step_letters = (
            step_samples(composer, steps, plan.threads.values(), schedule) if samples else []
        )
    blocking = blocked_by(lint.warnings, app.settings.checks.block)
    if as_json:
        data = plan_json(chosen, plan, entries)
        data["problems"] = problems
        data["warnings"] = [
            {"check": w.check, "recipient": w.key, "field": w.field, "message": w.message}
            for w in lint.warnings
        ]
        data["follow_ups"] = [
            {
                "step": step.number,
                "after_working_days": step.after_days,
                "rendered": sum(follow_ups.get(step.number, Counter()).values()),
                "languages": dict(follow_ups.get(step.number, Counter()).most_common()),
            }
            for step in steps
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        if problems or blocking:
            sys.exit(1)
        return
    print_warnings(lint.warnings)
    print_plan(app, chosen, plan)
    for step in steps:
        rendered = follow_ups.get(step.number, Counter())
        by_language = ", ".join(f"{k} {v}" for k, v in rendered.most_common())
        app.out.print(
            f"follow-up {step.number} ({step.after_days} working day(s) after the previous "
            f"letter): {sum(rendered.values())} rendered ({by_language or 'none'})"
        )
    if samples:
        for language, letter in sorted(plan.samples.items()):
            print_letter(app, f"first letter in {language}", letter)
        print_step_samples(app, step_letters)
    count_warnings(app, lint.warnings, "approval")
    if problems:
        app.out.print(f"{len(problems)} problem(s)")
        sys.exit(1)
    if blocking:
        sys.exit(1)
    app.out.print("no problems")


def print_letter(app: App, title: str, letter: Letter) -> None:
    """One letter in full: who it is to, its subject and its text."""
    app.out.print(f"\n--- {title}, to {letter.recipient_key} <{letter.to_address}> ---")
    app.out.print(f"Subject: {letter.subject}\n")
    app.out.print(letter.text.rstrip())


def print_step_samples(app: App, samples: list[StepSample]) -> None:
    """The sample of each follow-up step in each language."""
    for sample in samples:
        if sample.letter is None:
            app.out.print(f"\nproblem: {sample.describe()}")
            continue
        print_letter(
            app,
            f"follow-up {sample.step} in {sample.language} ({sample.after_days} working day(s) "
            "after the previous letter; sample)",
            sample.letter,
        )


def plan_json(
    chosen: Campaign, plan: PlanSummary, entries: list[dict[str, str]]
) -> dict[str, object]:
    """The plan as JSON: letters by state and language, send times, everyone left out."""
    return {
        "campaign": chosen.name,
        "appeal": chosen.appeal_slug,
        "letters": {state.value: plan.states[state.value] for state in APPROVAL_STATES},
        "languages": dict(plan.languages.most_common()),
        "first": plan.first.isoformat() if plan.first else None,
        "last": plan.last.isoformat() if plan.last else None,
        "left_out": entries,
    }


@campaign.command("approve")
@click.argument("name")
@click.option(
    "--skip-problems", is_flag=True, help="Approve even if some recipients have no letter."
)
@click.option(
    "--resend",
    "resend_to",
    multiple=True,
    metavar="KEY|EMAIL",
    help="Write again to this recipient although their mailbox has the appeal (repeatable).",
)
@click.option(
    "--resend-all", is_flag=True, help="Write again to every mailbox that has the appeal."
)
@click.option("--reason", metavar="TEXT", help="Why the appeal goes again (with --resend).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: counts and everyone left out.")
@pass_app
def approve_command(
    app: App,
    name: str,
    skip_problems: bool,
    resend_to: tuple[str, ...],
    resend_all: bool,
    reason: str | None,
    as_json: bool,
) -> None:
    """Approve: create every letter, frozen exactly as it will be sent, and let it go.

    A mailbox this appeal already went to (in another campaign or ad hoc) gets no letter, and
    recipients who share a mailbox get one; both are listed. A re-send on purpose names the
    recipients (or --resend-all) and says why; it is kept in the audit trail.
    On a campaign approved before, this approves the follow-up steps declared since.

    Example: outreach campaign approve spring-2026
    """
    resend = Resend.of(list(resend_to), everyone=resend_all, reason=reason)
    plan = PlanSummary()
    with session_scope(app.engine) as session:
        chosen = get_campaign(session, name)
        composer = Composer.load(app.settings, chosen.appeal_slug)
        if chosen.state is not CampaignState.DRAFT:
            if resend:
                raise StateError(
                    f"campaign {name} is {chosen.state.value}: --resend applies when a draft is "
                    "approved (create another campaign for those recipients)"
                )
            steps = approve_steps(session, chosen, composer, actor=app.actor, now=clock.now())
            if not steps:
                raise StateError(
                    f"campaign {name} is {chosen.state.value}, not a draft, and no follow-up "
                    "step awaits approval"
                )
            app.out.print(f"approved {steps} follow-up step(s) of {name}")
            print_step_samples(app, samples_of(session, chosen, composer))
            return
        entries: list[dict[str, str]] = []

        def count(planned: Planned) -> None:
            plan.add(planned)
            entry = left_out(planned)
            if entry is not None:
                entries.append(entry)

        lint = campaign_lint(session, chosen, composer)
        try:
            with app.progress("making letters", segment_size(session, chosen)) as advance:
                counts = approve_campaign(
                    session,
                    chosen,
                    composer,
                    actor=app.actor,
                    skip_problems=skip_problems,
                    advance=advance,
                    resend=resend,
                    seen=count,
                    lint=lint,
                )
        finally:  # shown whether the approval goes through or is refused
            if not as_json:
                print_warnings(lint.warnings)
                count_warnings(app, lint.warnings, "approval")
        follow_up_samples = samples_of(session, chosen, composer)
    if as_json:
        click.echo(json.dumps(plan_json(chosen, plan, entries), ensure_ascii=False, indent=2))
        return
    for entry in entries:
        if entry["state"] != LetterState.SKIPPED.value:
            label = LEFT_OUT_LABEL[LetterState(entry["state"])]
            click.echo(f"{label}: {entry['recipient']}: {entry['reason']}")
    app.out.print(
        f"approved {name}: {counts['queued']} letter(s) queued, {counts['suppressed']} not written "
        f"to, {counts['duplicate']} left out (mailbox has the appeal, or shares it), "
        f"{counts['skipped']} without a letter"
    )
    print_step_samples(app, follow_up_samples)


def samples_of(session: Session, chosen: Campaign, composer: Composer) -> list[StepSample]:
    """A sample of each of the campaign's follow-up steps in each language of its letters."""
    return step_samples(
        composer, steps_of(session, chosen.id), first_threads(session, chosen), Schedule.of(chosen)
    )


def register() -> None:
    """The commands above attach themselves to `outreach campaign` when this module loads."""
