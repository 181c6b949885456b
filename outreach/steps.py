"""A campaign's follow-up steps: declared by staff, approved with the campaign, withdrawn."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session, col, select

from outreach import clock
from outreach.audit import record_event
from outreach.errors import InputError, LetterError, StateError
from outreach.followup import MAX_STEPS, StepRule
from outreach.followup_preview import Schedule, first_threads, step_samples
from outreach.letter import Composer
from outreach.models import Campaign, CampaignState, FollowUpStep, LetterState
from outreach.models import Letter as LetterRow

DEFAULT_TEMPLATE = "followup"


def steps_of(session: Session, campaign_id: int | None) -> list[FollowUpStep]:
    """The campaign's declared steps, first first."""
    return list(
        session.exec(
            select(FollowUpStep)
            .where(FollowUpStep.campaign_id == campaign_id)
            .order_by(col(FollowUpStep.number))
        ).all()
    )


def rules_of(steps: list[FollowUpStep]) -> dict[int, StepRule]:
    """The steps as the follow-up rule reads them, by number."""
    return {
        step.number: StepRule(
            step.number, step.after_days, step.template, approved=step.approved_at is not None
        )
        for step in steps
    }


def check_templates(composer: Composer, template: str, languages: set[str]) -> None:
    """Refuse a template folder that lacks a language the campaign's letters are written in."""
    templates = composer.templates_for(template)
    present = templates.languages()
    if not present:
        raise InputError(
            f"{templates.root}: no follow-up templates; add <language>/subject.txt.j2, "
            "body.txt.j2 and body.html.j2 there (see templates/README.md)"
        )
    missing = sorted(languages - present)
    if missing:
        raise LetterError(
            f"{templates.root}: no follow-up templates in {', '.join(missing)}, a language of "
            f"this campaign's letters: add {templates.root}/{missing[0]}/ (subject.txt.j2, "
            "body.txt.j2, body.html.j2)"
        )


def letter_languages(session: Session, campaign_id: int | None) -> set[str]:
    """The languages of the campaign's first letters that will or did go out."""
    rows = session.execute(
        sa.select(col(LetterRow.language))
        .distinct()
        .where(
            col(LetterRow.campaign_id) == campaign_id,
            col(LetterRow.step) == 0,
            col(LetterRow.language) != "",
        )
    ).scalars()
    return set(rows)


def declare_steps(
    session: Session,
    campaign: Campaign,
    composer: Composer,
    *,
    after_days: int,
    template: str,
    count: int,
    actor: str,
) -> list[FollowUpStep]:
    """Replace the campaign's steps by `count` steps of `after_days`; 0 withdraws them all.

    New steps are unapproved: on a draft the campaign's approval covers them; on an approved
    campaign they wait for `campaign approve` again. Withdrawing needs no approval and cancels
    the follow-ups not yet sent.
    """
    if campaign.state is CampaignState.CANCELLED:
        raise StateError(f"campaign {campaign.name} is cancelled: it takes no follow-up")
    if not 0 <= count <= MAX_STEPS:
        raise InputError(f"--max {count}: give 0 (no follow-up) to {MAX_STEPS}")
    if count:
        check_templates(composer, template, letter_languages(session, campaign.id))
    assert campaign.id is not None
    now = clock.now()
    session.execute(sa.delete(FollowUpStep).where(col(FollowUpStep.campaign_id) == campaign.id))
    steps = [
        FollowUpStep(
            campaign_id=campaign.id,
            number=number,
            after_days=after_days,
            template=template,
            created_at=now,
            created_by=actor,
        )
        for number in range(1, count + 1)
    ]
    session.add_all(steps)
    withdrawn = 0 if count else cancel_unsent(session, campaign, now)
    record_event(
        session,
        actor,
        "campaign.followup",
        campaign.name,
        steps=count,
        after_days=after_days,
        template=template,
        withdrawn=withdrawn,
    )
    return steps


def cancel_unsent(session: Session, campaign: Campaign, now: dt.datetime) -> int:
    """Cancel the campaign's follow-ups that are waiting to go."""
    result = session.connection().execute(
        sa.update(LetterRow)
        .where(
            col(LetterRow.campaign_id) == campaign.id,
            col(LetterRow.step) > 0,
            col(LetterRow.state).in_([LetterState.QUEUED, LetterState.DEFERRED]),
        )
        .values(state=LetterState.CANCELLED, reason="follow-ups withdrawn", updated_at=now)
    )
    return int(result.rowcount)


def approve_steps(
    session: Session, campaign: Campaign, composer: Composer, *, actor: str, now: dt.datetime
) -> int:
    """Approve the campaign's steps not yet approved; their templates must fit its letters."""
    if campaign.state is CampaignState.CANCELLED:
        raise StateError(f"campaign {campaign.name} is cancelled: it takes no follow-up")
    steps = steps_of(session, campaign.id)
    pending = [step for step in steps if step.approved_at is None]
    languages = letter_languages(session, campaign.id)
    for template in sorted({step.template for step in pending}):
        check_templates(composer, template, languages)
    if pending:
        # Seen before they go: a sample of each step in each language must render.
        numbers = {step.number for step in pending}
        samples = step_samples(
            composer, steps, first_threads(session, campaign), Schedule.of(campaign)
        )
        failed = [sample for sample in samples if sample.problem and sample.step in numbers]
        if failed:
            raise LetterError(
                f"{failed[0].describe()}; nothing was approved. Fix the follow-up templates "
                f"and see every follow-up with `outreach campaign check {campaign.name}`"
            )
    for step in pending:
        step.approved_at, step.approved_by = now, actor
        session.add(step)
    if pending:
        record_event(session, actor, "campaign.followup.approve", campaign.name, steps=len(pending))
    return len(pending)
