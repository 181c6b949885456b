"""Campaign pages: the list at a glance, one campaign, the approval preview, and the changes
an approver makes (approve, pause, resume) through the same functions as the CLI."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from outreach import clock
from outreach.accounts import User, UserRole
from outreach.approval import approve_campaign, campaign_lint, plan_letters, summarise_plan
from outreach.campaign import WAITING, closed_of, get_campaign, letter_counts, segment_of, set_state
from outreach.db import session_scope
from outreach.followup_preview import Schedule, step_samples
from outreach.letter import Composer
from outreach.models import Campaign, CampaignState
from outreach.recipients.lint import blocked_by
from outreach.steps import steps_of
from outreach.web.dashboard import dashboard, notice
from outreach.web.guard import action, field, page
from outreach.web.pages import render

PAUSABLE = (CampaignState.APPROVED, CampaignState.RUNNING)
MAX_LISTED = 50  # problems, unwritten recipients, warnings listed on the preview; the rest counted


def progress(counts: dict[str, int]) -> dict[str, Any]:
    """Letters in all, how many are settled (no longer waiting or in flight), and the percent."""
    total = sum(counts.values())
    waiting = sum(counts[state.value] for state in WAITING)
    done = total - waiting
    return {"total": total, "done": done, "percent": round(100 * done / total) if total else 0}


def summary(session: Session, campaign: Campaign) -> dict[str, Any]:
    """A campaign with its letter counts (only the states it has) and its progress."""
    counts = letter_counts(session, campaign.id)
    return {
        "campaign": campaign,
        "counts": {state: number for state, number in counts.items() if number},
        "progress": progress(counts),
    }


@page()
def home(request: Request, user: User) -> Response:
    """The dashboard starts at the campaigns."""
    return RedirectResponse("/campaigns", 303)


@page()
def campaign_list(request: Request, user: User) -> Response:
    """Every campaign: state, letters by state, progress."""
    with session_scope(dashboard(request).engine, write=False) as session:
        campaigns = session.exec(select(Campaign).order_by(col(Campaign.created_at))).all()
        rows = [summary(session, campaign) for campaign in campaigns]
    return render(request, "campaigns.html", {"title": "Campaigns", "rows": rows})


@page()
def campaign_page(request: Request, user: User) -> Response:
    """One campaign: its settings, letters by state, and what can be done with it now."""
    name = request.path_params["name"]
    with session_scope(dashboard(request).engine, write=False) as session:
        campaign = get_campaign(session, name)
        data = summary(session, campaign)
        steps = steps_of(session, campaign.id)
        # The follow-up letters by state: one grouped query. The full listing, which applies
        # the rule to every thread, is `outreach campaign followups` (too slow for a page).
        followups = letter_counts(session, campaign.id, follow_ups_only=True)
    return render(
        request,
        "campaign.html",
        {
            "title": f"Campaign {campaign.name}",
            **data,
            "steps": steps,
            "followups": [(state, n) for state, n in followups.items() if n],
            "segment": segment_of(campaign),
            "closed": sorted(closed_of(campaign)),
            "pausable": campaign.state in PAUSABLE,
            "resumable": campaign.state is CampaignState.PAUSED,
            "draft": campaign.state is CampaignState.DRAFT,
            "may_change": user.role.allows(UserRole.APPROVER),
        },
    )


@page()
def preview_page(request: Request, user: User) -> Response:
    """What approval would create: counts, problems, and a sample letter per language."""
    shared = dashboard(request)
    name = request.path_params["name"]
    with session_scope(shared.engine, write=False) as session:
        campaign = get_campaign(session, name)
        composer = Composer.load(shared.settings, campaign.appeal_slug)
        # The very letters approval would freeze (their dates aside: approval uses its moment).
        lint = campaign_lint(session, campaign, composer)
        preview = summarise_plan(
            plan_letters(session, campaign, composer, clock.now()), listed=MAX_LISTED, lint=lint
        )
        # Follow-ups are seen before they go too: one sample per step and language.
        follow_ups = step_samples(
            composer,
            steps_of(session, campaign.id),
            preview.threads.values(),
            Schedule.of(campaign),
        )
    warnings = lint.warnings
    return render(
        request,
        "preview.html",
        {
            "title": f"Approve {campaign.name}?",
            "campaign": campaign,
            "segment": segment_of(campaign),
            "preview": preview,
            "follow_ups": follow_ups,
            "warnings": warnings[:MAX_LISTED],
            "warning_count": len(warnings),
            "blocking": len(blocked_by(warnings, shared.settings.checks.block)),
            "may_approve": campaign.state is CampaignState.DRAFT
            and user.role.allows(UserRole.APPROVER),
        },
    )


@action(UserRole.APPROVER)
def approve(request: Request, user: User, form: FormData) -> Response:
    """Create and freeze every letter of the campaign (all or nothing), as the CLI does."""
    shared = dashboard(request)
    name = request.path_params["name"]
    skip = form.get("skip_problems") == "yes"
    with session_scope(shared.engine) as session:
        campaign = get_campaign(session, name)
        composer = Composer.load(shared.settings, campaign.appeal_slug)
        counts = approve_campaign(session, campaign, composer, actor=user.name, skip_problems=skip)
    notice(
        request,
        f"approved {name}: {counts['queued']} letter(s) queued, {counts['suppressed']} not "
        f"written to, {counts['duplicate']} left out (mailbox has the appeal, or shares it), "
        f"{counts['skipped']} without a letter",
    )
    return RedirectResponse(f"/campaigns/{name}", 303)


def change_state(
    request: Request, user: User, target: CampaignState, reason: str | None
) -> Response:
    """Pause or resume through `set_state`, which checks the state and records the event."""
    name = request.path_params["name"]
    with session_scope(dashboard(request).engine) as session:
        set_state(session, get_campaign(session, name), target, actor=user.name, reason=reason)
    notice(request, f"{name} is {target.value}")
    return RedirectResponse(f"/campaigns/{name}", 303)


@action(UserRole.APPROVER)
def pause(request: Request, user: User, form: FormData) -> Response:
    """Stop claiming the campaign's letters (those already sending finish)."""
    reason = field(form, "reason", required=False, limit=500) or "paused by staff"
    return change_state(request, user, CampaignState.PAUSED, reason)


@action(UserRole.APPROVER)
def resume(request: Request, user: User, form: FormData) -> Response:
    """Let a paused campaign send again."""
    return change_state(request, user, CampaignState.RUNNING, None)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/campaigns", campaign_list, methods=["GET"]),
    Route("/campaigns/{name}", campaign_page, methods=["GET"]),
    Route("/campaigns/{name}/preview", preview_page, methods=["GET"]),
    Route("/campaigns/{name}/approve", approve, methods=["POST"]),
    Route("/campaigns/{name}/pause", pause, methods=["POST"]),
    Route("/campaigns/{name}/resume", resume, methods=["POST"]),
]
