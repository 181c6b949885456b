"""The summary of a campaign's planned letters: what `campaign check` prints and the
dashboard's approval preview shows, from the letters approval itself would create."""

from __future__ import annotations

from collections import Counter

import time_machine
from sqlalchemy.engine import Engine

from outreach import clock
from outreach.approval import PlanSummary, plan_letters, summarise_plan
from outreach.campaign import get_campaign
from outreach.config import Settings
from outreach.db import session_scope
from outreach.letter import Composer
from outreach.models import SuppressionSource
from outreach.suppression import suppress
from tests.test_campaigns import MONDAY, approve, create, loaded, settings

__all__ = ["loaded", "settings"]  # fixtures of test_campaigns.py, used here


def summary(engine: Engine, settings: Settings, listed: int = 50) -> PlanSummary:
    with time_machine.travel(MONDAY, tick=False), session_scope(engine, write=False) as session:
        campaign = get_campaign(session, "spring")
        plans = plan_letters(session, campaign, Composer.load(settings), clock.now())
        return summarise_plan(plans, listed=listed)


def test_the_summary_counts_the_letters_approval_creates(
    loaded: Engine, settings: Settings
) -> None:
    create(loaded, where=["kind=embassy"])
    planned = summary(loaded, settings)
    counts = approve(loaded, settings)
    assert planned.states == Counter({k: v for k, v in counts.items() if v})


def test_the_summary_has_one_sample_per_language_of_the_letters(
    loaded: Engine, settings: Settings
) -> None:
    create(loaded, where=["kind=embassy"])
    planned = summary(loaded, settings)
    assert (sum(planned.languages.values()), set(planned.samples)) == (
        planned.queued,
        set(planned.languages),
    )


def test_the_summary_lists_no_more_than_asked_but_counts_all(
    loaded: Engine, settings: Settings
) -> None:
    create(loaded, where=["kind=embassy"])
    before = summary(loaded, settings).states["suppressed"]
    with time_machine.travel(MONDAY, tick=False), session_scope(loaded) as session:
        campaign = get_campaign(session, "spring")
        plans = plan_letters(session, campaign, Composer.load(settings), clock.now())
        queued = [p.letter.to_address for p in plans if p.letter is not None][:3]
        for address in queued:
            suppress(session, address, reason="asked", source=SuppressionSource.MANUAL, actor="t")
    planned = summary(loaded, settings, listed=2)
    assert (planned.states["suppressed"], len(planned.suppressed)) == (before + 3, 2)
