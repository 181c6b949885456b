"""The follow-up listing: what was made (planned, sent, skipped) and what each thread gets next."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session, col, select

from outreach.followup import Verdict
from outreach.models import Campaign, LetterState
from outreach.models import Letter as LetterRow
from outreach.planner import decisions


@dataclass(frozen=True, slots=True)
class FollowUpRow:
    """One line of `campaign followups`: a follow-up letter, or the next one a thread may get."""

    recipient_key: str
    step: int
    status: str  # planned, waiting, sent, bounced, skipped, failed, unknown
    letter_id: int | None  # the follow-up letter, None for one not made yet
    due_on: dt.date | None
    at: dt.datetime | None  # when it leaves (planned) or left (sent)
    demand_keys: tuple[str, ...]
    reason: str

    def as_json(self) -> dict[str, object]:
        """The row as JSON values."""
        return {
            "recipient": self.recipient_key,
            "step": self.step,
            "status": self.status,
            "letter_id": self.letter_id,
            "due_on": self.due_on.isoformat() if self.due_on else None,
            "at": self.at.isoformat() if self.at else None,
            "demands": list(self.demand_keys),
            "reason": self.reason,
        }


LETTER_STATUS = {
    **dict.fromkeys(
        (LetterState.QUEUED, LetterState.CLAIMED, LetterState.SENDING, LetterState.DEFERRED),
        "planned",
    ),
    **dict.fromkeys((LetterState.SENT, LetterState.REPLIED), "sent"),
    LetterState.BOUNCED: "bounced",
    **dict.fromkeys(
        (
            LetterState.SKIPPED,
            LetterState.SUPPRESSED,
            LetterState.DUPLICATE,
            LetterState.CANCELLED,
        ),
        "skipped",
    ),
    LetterState.FAILED: "failed",
    LetterState.UNKNOWN: "unknown",
}
VERDICT_STATUS = {
    Verdict.DUE: "planned",
    Verdict.PLANNED: "planned",
    Verdict.WAITING: "waiting",
    Verdict.NONE: "skipped",
}
FINAL_UNSENT = (
    LetterState.SKIPPED,
    LetterState.SUPPRESSED,
    LetterState.DUPLICATE,
    LetterState.CANCELLED,
)


def follow_up_rows(session: Session, campaign: Campaign, now: dt.datetime) -> Iterator[FollowUpRow]:
    """The follow-ups made so far (planned, sent, skipped), then each thread's next one."""
    query = (
        select(LetterRow)
        .where(LetterRow.campaign_id == campaign.id, col(LetterRow.step) > 0)
        .order_by(col(LetterRow.recipient_key), col(LetterRow.step))
    )
    for letter in session.exec(query.execution_options(yield_per=500)):
        state = LetterState(letter.state)
        yield FollowUpRow(
            recipient_key=letter.recipient_key,
            step=letter.step,
            status=LETTER_STATUS[state],
            letter_id=letter.id,
            due_on=None,
            at=letter.sent_at if letter.sent_at else letter.due_at,
            demand_keys=tuple(key for key in letter.demand_keys.split("|") if key),
            reason=state.value if letter.reason is None else f"{state.value}: {letter.reason}",
        )
    for head, decision in decisions(session, campaign, now):
        if head.step > 0 and head.state in FINAL_UNSENT:
            continue  # the skipped follow-up above already says why the thread ends there
        yield FollowUpRow(
            recipient_key=head.recipient_key,
            step=decision.step,
            status=VERDICT_STATUS[decision.verdict],
            letter_id=None,
            due_on=decision.due_on,
            at=decision.send_after,
            demand_keys=decision.demand_keys,
            reason=decision.reason,
        )
