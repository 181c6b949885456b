"""The automatic pause: failures in a row that are the server's, not the letters', stop a campaign.

A campaign that keeps sending while its server refuses us burns its audience: every letter
fails or waits, and a provider that rejects us for spam counts each further attempt against our
reputation. So each campaign counts, across runs and workers, its attempts in a row that failed
on the server's side (connection, policy) or on ours; one that went through, or that the server
refused for the letter's own sake (5.1.1, a full mailbox), resets the count.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from outreach.models import Campaign, CampaignState
from outreach.policy import FailureKind

# How the pause reason names the run, by the kind of its last failure.
RUN_NAMES = {
    FailureKind.CONNECTION: "connection failures",
    FailureKind.POLICY: "policy rejections",
    FailureKind.LOCAL: "letters outreach could not send",
}
ADVICE = {
    FailureKind.CONNECTION: "",
    # The server refuses who sends, not to whom: retrying the list would deepen the harm.
    FailureKind.POLICY: " (the server refuses our mail, not these recipients: settle it with the"
    " relay or the receiving provider, then resume the campaign; the held letters go then)",
    FailureKind.LOCAL: " (see `outreach letters list --state failed` for the reasons)",
}


@dataclass(frozen=True, slots=True)
class FailureMark:
    """One attempt as the pause counts it."""

    campaign_id: int | None  # None: an ad hoc letter, which no campaign counts
    kind: FailureKind | None  # None: the server works (sent, or refused for the letter's sake)
    error: str  # the server's words (or outreach's reason), for the pause reason


@dataclass(frozen=True, slots=True)
class PauseLimits:
    """Failures in a row that pause: policy rejections have their own, lower, limit."""

    failures: int  # dispatch.max_consecutive_failures
    policy_rejections: int  # dispatch.max_policy_rejections

    def reached(self, count: int, kind: FailureKind) -> bool:
        """Whether a run of `count` failures, the last of this kind, pauses the campaign."""
        limit = self.policy_rejections if kind is FailureKind.POLICY else self.failures
        return count >= limit


def account_failures(
    connection: Connection, marks: list[FailureMark], limits: PauseLimits
) -> set[int]:
    """Count failures in a row per campaign, in the order they happened; pause at the limits.

    One counter per campaign (`consecutive_failures`) for every kind: a run that mixes dropped
    connections and spam rejections is one run of a server refusing us. Returns the campaigns
    paused now.
    """
    table = Campaign.__table__  # type: ignore[attr-defined]
    ids = {mark.campaign_id for mark in marks if mark.campaign_id is not None}
    if not ids:
        return set()
    current: dict[int, int] = dict(
        connection.execute(
            sa.select(table.c.id, table.c.consecutive_failures).where(table.c.id.in_(ids))
        ).all()
    )
    counts = dict(current)
    last: dict[int, FailureMark] = {}
    for mark in marks:
        if mark.campaign_id is not None:
            counts[mark.campaign_id] = counts[mark.campaign_id] + 1 if mark.kind else 0
            last[mark.campaign_id] = mark
    paused: set[int] = set()
    for campaign, count in counts.items():
        if count != current[campaign]:
            connection.execute(
                table.update().where(table.c.id == campaign).values(consecutive_failures=count)
            )
        kind = last[campaign].kind
        if kind is None or not limits.reached(count, kind):
            continue
        # The server's words last: if anything is cut to fit the column, it is their tail.
        reason = (
            f"paused after {count} {RUN_NAMES[kind]} in a row{ADVICE[kind]}; "
            f"last: {last[campaign].error}"
        )
        changed = connection.execute(
            table.update()
            .where(
                table.c.id == campaign,
                table.c.state.in_([CampaignState.APPROVED.value, CampaignState.RUNNING.value]),
            )
            .values(state=CampaignState.PAUSED.value, pause_reason=reason[:1000])
        ).rowcount
        if changed:
            paused.add(campaign)
    return paused
