"""Campaigns: create, check, approve (letters frozen), pause, resume, cancel, finish."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, func, select

from outreach import clock
from outreach.audit import record_event
from outreach.calendar import parse_closed, parse_window
from outreach.errors import InputError, NotFoundError, OutreachError, StateError
from outreach.models import Campaign, CampaignState, LetterState
from outreach.models import Letter as LetterRow
from outreach.recipients.segment import parse_where, to_conditions
from outreach.recipients.table import count_recipients

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
DEFAULT_WINDOW = "Mon-Fri 09:00-12:00"
WAITING = (LetterState.QUEUED, LetterState.DEFERRED, LetterState.CLAIMED, LetterState.SENDING)


class CampaignError(OutreachError):
    """A campaign cannot be created or changed as asked."""

    exit_code = 65


def get_campaign(session: Session, name: str) -> Campaign:
    """The campaign of that name, or an error saying how to list them."""
    campaign = session.exec(select(Campaign).where(Campaign.name == name)).first()
    if campaign is None:
        raise NotFoundError(f"no campaign named {name!r} (see `outreach campaign list`)")
    return campaign


def create_campaign(
    session: Session,
    name: str,
    *,
    appeal_slug: str,
    where: list[str],
    window: str | None,
    start_at: dt.datetime | None,
    closed_dates: list[dt.date],
    actor: str,
    every_day: bool = False,
) -> Campaign:
    """A new draft campaign; every input is validated now, not at approval."""
    if not NAME.match(name):
        raise InputError(
            f"campaign name {name!r}: use 2-100 lower-case letters, digits, '.', '_' or '-'"
        )
    if session.exec(select(Campaign).where(Campaign.name == name)).first() is not None:
        raise CampaignError(f"a campaign named {name!r} exists already")
    parse_where(where)  # fails now, naming the bad filter
    canonical = parse_window(window or DEFAULT_WINDOW).describe()
    if start_at is not None and start_at.tzinfo is None:
        raise InputError("--start needs a time zone, e.g. 2026-03-10T09:00+01:00 or ...Z")
    campaign = Campaign(
        name=name,
        appeal_slug=appeal_slug,
        segment="\n".join(where),
        window=canonical,
        start_at=start_at,
        closed_dates="|".join(sorted(day.isoformat() for day in closed_dates)),
        every_day=every_day,
        created_at=clock.now(),
        created_by=actor,
    )
    session.add(campaign)
    record_event(
        session,
        actor,
        "campaign.create",
        name,
        appeal=appeal_slug,
        window=canonical,
        every_day=every_day,
    )
    return campaign


def segment_of(campaign: Campaign) -> list[str]:
    """The campaign's --where filters."""
    return [line for line in campaign.segment.splitlines() if line]


def closed_of(campaign: Campaign) -> frozenset[dt.date]:
    """The campaign's closed dates."""
    return parse_closed(campaign.closed_dates)


def set_state(
    session: Session, campaign: Campaign, target: CampaignState, *, actor: str, reason: str | None
) -> None:
    """Pause, resume or cancel, from the states where that makes sense."""
    allowed = {
        CampaignState.PAUSED: (CampaignState.APPROVED, CampaignState.RUNNING),
        CampaignState.RUNNING: (CampaignState.PAUSED,),
        CampaignState.CANCELLED: (
            CampaignState.DRAFT,
            CampaignState.APPROVED,
            CampaignState.RUNNING,
            CampaignState.PAUSED,
        ),
    }[target]
    if campaign.state not in allowed:
        raise StateError(f"campaign {campaign.name} is {campaign.state}: it cannot become {target}")
    campaign.state = target
    campaign.pause_reason = reason if target is CampaignState.PAUSED else None
    if target is CampaignState.RUNNING:
        campaign.consecutive_failures = 0
    if target is CampaignState.CANCELLED:
        # Letters already sending finish their attempt; everything not yet sending is cancelled.
        # A claimed letter has not begun either: its worker's mark_sending then finds it gone.
        session.execute(
            sa.update(LetterRow)
            .where(
                col(LetterRow.campaign_id) == campaign.id,
                col(LetterRow.state).in_(
                    [LetterState.QUEUED, LetterState.DEFERRED, LetterState.CLAIMED]
                ),
            )
            .values(
                state=LetterState.CANCELLED, reason="campaign cancelled", updated_at=clock.now()
            )
        )
    session.add(campaign)
    record_event(session, actor, f"campaign.{target.value}", campaign.name, reason=reason)


def letter_counts(
    session: Session, campaign_id: int | None, *, follow_ups_only: bool = False
) -> dict[str, int]:
    """Letters by state (every state present, zero when none); or only the follow-ups."""
    query = select(LetterRow.state, func.count()).where(LetterRow.campaign_id == campaign_id)
    if follow_ups_only:
        query = query.where(col(LetterRow.step) > 0)
    rows = session.exec(query.group_by(LetterRow.state)).all()
    counts = {state.value: 0 for state in LetterState}
    counts.update({LetterState(state).value: number for state, number in rows})
    return counts


def finish_done(connection: Connection) -> int:
    """Mark finished the running campaigns that have no letter waiting or in flight."""
    table = Campaign.__table__  # type: ignore[attr-defined]
    letters = LetterRow.__table__  # type: ignore[attr-defined]
    pending = sa.select(letters.c.campaign_id).where(
        letters.c.campaign_id.is_not(None), letters.c.state.in_([s.value for s in WAITING])
    )
    return connection.execute(
        table.update()
        .where(table.c.state == CampaignState.RUNNING.value, table.c.id.not_in(pending))
        .values(state=CampaignState.FINISHED.value)
    ).rowcount


def segment_size(session: Session, campaign: Campaign) -> int:
    """How many recipients the campaign's segment has now."""
    return count_recipients(session, to_conditions(parse_where(segment_of(campaign))))
