"""The outbox: the only module that changes a letter's state. Every change is one guarded UPDATE.

A guard (`WHERE state = … AND claimed_by = …`) makes each transition happen at most once, so a
slow worker whose lease was taken over can never act on a letter it no longer holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from outreach.models import (
    Attempt,
    AttemptOutcome,
    Campaign,
    CampaignState,
    Letter,
    LetterState,
    Recipient,
    RecipientStatus,
    Suppression,
)

L = Letter.__table__  # type: ignore[attr-defined]
C = Campaign.__table__  # type: ignore[attr-defined]
A = Attempt.__table__  # type: ignore[attr-defined]
R = Recipient.__table__  # type: ignore[attr-defined]
S = Suppression.__table__  # type: ignore[attr-defined]

WAITING = (LetterState.QUEUED, LetterState.DEFERRED)
IN_FLIGHT = (LetterState.CLAIMED, LetterState.SENDING)
SENDABLE_CAMPAIGNS = (CampaignState.APPROVED, CampaignState.RUNNING)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A letter taken by a worker: what it needs to send it."""

    id: int
    campaign_id: int | None
    to_address: str
    domain: str
    token: str
    message_id: str
    mime: bytes
    attempts: int
    deadline: dt.datetime


def campaign_may_send() -> sa.ColumnElement[bool]:
    """The letter is ad hoc, or its campaign is approved or running."""
    sendable = sa.select(C.c.id).where(C.c.state.in_([s.value for s in SENDABLE_CAMPAIGNS]))
    return sa.or_(L.c.campaign_id.is_(None), L.c.campaign_id.in_(sendable))


def address_allowed() -> sa.ColumnElement[bool]:
    """The address is not suppressed and the recipient is still active."""
    inactive = sa.select(R.c.id).where(R.c.status != RecipientStatus.ACTIVE.value)
    return sa.and_(
        L.c.address_hash.not_in(sa.select(S.c.address_hash)),
        sa.or_(L.c.recipient_id.is_(None), L.c.recipient_id.not_in(inactive)),
    )


def suppress_waiting(connection: Connection, now: dt.datetime) -> int:
    """Mark waiting letters whose address was suppressed (or recipient retired) since approval."""
    result = connection.execute(
        L.update()
        .where(L.c.state.in_([s.value for s in WAITING]), sa.not_(address_allowed()))
        .values(
            state=LetterState.SUPPRESSED.value,
            reason="suppressed after approval (suppression list or recipient status)",
            updated_at=now,
        )
    )
    return result.rowcount


def recover_expired(connection: Connection, now: dt.datetime) -> tuple[int, int]:
    """Settle letters of workers that died: claimed → queued again, sending → unknown.

    A claimed letter was never offered to a server, so it is safe to retake. A sending letter
    may have been accepted (RFC 1047): it becomes `unknown` and is never resent automatically.
    """
    expired = sa.and_(L.c.lease_until.is_not(None), L.c.lease_until < now)
    unknown = connection.execute(
        L.update()
        .where(L.c.state == LetterState.SENDING.value, expired)
        .values(
            state=LetterState.UNKNOWN.value,
            reason="the worker stopped after DATA began; check whether it arrived",
            updated_at=now,
        )
    ).rowcount
    released = connection.execute(
        L.update()
        .where(L.c.state == LetterState.CLAIMED.value, expired)
        .values(state=LetterState.QUEUED.value, claimed_by=None, lease_until=None, updated_at=now)
    ).rowcount
    return released, unknown


def due_candidates(
    connection: Connection, now: dt.datetime, limit: int, only: list[int] | None = None
) -> list[tuple[int, str, int | None]]:
    """Due letters (id, domain, campaign), oldest first, locked against other workers.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows. SQLite: the
    caller's BEGIN IMMEDIATE already excludes every other writer (SQLAlchemy's
    with_for_update(skip_locked=True) would silently lock nothing there).
    """
    query = (
        sa.select(L.c.id, L.c.domain, L.c.campaign_id)
        .where(
            L.c.state.in_([s.value for s in WAITING]),
            L.c.due_at <= now,
            campaign_may_send(),
            address_allowed(),
        )
        .order_by(L.c.due_at, L.c.id)
        .limit(limit)
    )
    if only is not None:
        query = query.where(L.c.id.in_(only))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=L)
    return [(row.id, row.domain, row.campaign_id) for row in connection.execute(query)]


def claim(
    connection: Connection, ids: list[int], worker: str, now: dt.datetime, lease: dt.timedelta
) -> list[Claimed]:
    """Take the letters for `worker` until `now + lease`; returns what was taken."""
    if not ids:
        return []
    rows = connection.execute(
        L.update()
        .where(L.c.id.in_(ids), L.c.state.in_([s.value for s in WAITING]))
        .values(
            state=LetterState.CLAIMED.value,
            claimed_by=worker,
            lease_until=now + lease,
            updated_at=now,
        )
        .returning(
            L.c.id,
            L.c.campaign_id,
            L.c.to_address,
            L.c.domain,
            L.c.token,
            L.c.message_id,
            L.c.mime,
            L.c.attempts,
            L.c.deadline,
        )
    ).all()
    campaigns = {row.campaign_id for row in rows if row.campaign_id is not None}
    if campaigns:
        connection.execute(
            C.update()
            .where(C.c.id.in_(campaigns), C.c.state == CampaignState.APPROVED.value)
            .values(state=CampaignState.RUNNING.value)
        )
    claimed = [
        Claimed(
            id=row.id,
            campaign_id=row.campaign_id,
            to_address=row.to_address,
            domain=row.domain,
            token=row.token,
            message_id=row.message_id,
            mime=bytes(row.mime),
            attempts=row.attempts,
            deadline=as_utc(row.deadline),
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda letter: ids.index(letter.id))


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timestamp read through Core (no TypeDecorator on RETURNING in every dialect) as UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def mark_sending(
    connection: Connection, letter_id: int, worker: str, now: dt.datetime, lease: dt.timedelta
) -> bool:
    """Commit point before DATA: true only if the letter is still ours and may still be sent."""
    result = connection.execute(
        L.update()
        .where(
            L.c.id == letter_id,
            L.c.state == LetterState.CLAIMED.value,
            L.c.claimed_by == worker,
            campaign_may_send(),
            address_allowed(),
        )
        .values(
            state=LetterState.SENDING.value,
            lease_until=now + lease,
            attempts=L.c.attempts + 1,
            updated_at=now,
        )
    )
    return result.rowcount == 1


def release(connection: Connection, letter_id: int, worker: str, now: dt.datetime) -> None:
    """Give a claimed letter back unsent (paused campaign, suppression, shutdown)."""
    connection.execute(
        L.update()
        .where(
            L.c.id == letter_id,
            L.c.state == LetterState.CLAIMED.value,
            L.c.claimed_by == worker,
        )
        .values(state=LetterState.QUEUED.value, claimed_by=None, lease_until=None, updated_at=now)
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one attempt, to be recorded."""

    letter_id: int
    worker: str
    outcome: AttemptOutcome
    started_at: dt.datetime
    finished_at: dt.datetime
    domain: str
    smtp_code: int | None
    enhanced_code: str | None
    reply: str
    retry_at: dt.datetime | None  # for a deferral; None past the deadline
    counted_attempt: bool  # DATA began, so mark_sending already counted it


def record(connection: Connection, outcome: Outcome) -> LetterState | None:
    """Record an attempt and move the letter to its next state; None if no longer ours."""
    state, values = next_state(outcome)
    guard = sa.and_(
        L.c.id == outcome.letter_id,
        L.c.claimed_by == outcome.worker,
        # `unknown`: our lease ran out and another worker settled the letter, but we did hear
        # the server's answer: that is the evidence the unknown state waits for.
        L.c.state.in_([s.value for s in (*IN_FLIGHT, LetterState.UNKNOWN)]),
    )
    if not outcome.counted_attempt:
        values["attempts"] = L.c.attempts + 1
    updated = connection.execute(L.update().where(guard).values(**values)).rowcount
    connection.execute(
        A.insert().values(
            letter_id=outcome.letter_id,
            domain=outcome.domain,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            outcome=outcome.outcome.value,
            smtp_code=outcome.smtp_code,
            enhanced_code=outcome.enhanced_code,
            reply=outcome.reply[:2000],
            worker=outcome.worker,
        )
    )
    return state if updated else None


def next_state(outcome: Outcome) -> tuple[LetterState, dict[str, object]]:
    """The letter's new state and column values after an attempt."""
    values: dict[str, object] = {
        "updated_at": outcome.finished_at,
        "claimed_by": outcome.worker,
        "lease_until": None,
    }
    error = " ".join(str(part) for part in (outcome.smtp_code, outcome.reply) if part)
    if outcome.outcome is AttemptOutcome.SENT:
        values.update(sent_at=outcome.finished_at, last_error=None, reason=None)
        return LetterState.SENT, {**values, "state": LetterState.SENT.value}
    if outcome.outcome is AttemptOutcome.UNKNOWN:
        values.update(last_error=error or "no reply after DATA", reason="no reply after DATA")
        return LetterState.UNKNOWN, {**values, "state": LetterState.UNKNOWN.value}
    if outcome.outcome is AttemptOutcome.DEFERRED and outcome.retry_at is not None:
        values.update(last_error=error, due_at=outcome.retry_at, claimed_by=None)
        return LetterState.DEFERRED, {**values, "state": LetterState.DEFERRED.value}
    reason = "retry deadline passed" if outcome.outcome is AttemptOutcome.DEFERRED else "refused"
    values.update(last_error=error, reason=reason)
    return LetterState.FAILED, {**values, "state": LetterState.FAILED.value}


def recent_load(connection: Connection, now: dt.datetime) -> tuple[int, dict[str, int]]:
    """Letters attempted in the last minute or in flight now: in all, and by domain."""
    by_domain: dict[str, int] = {}
    attempted = connection.execute(
        sa.select(A.c.domain, sa.func.count())
        .where(A.c.started_at > now - dt.timedelta(minutes=1))
        .group_by(A.c.domain)
    )
    in_flight = connection.execute(
        sa.select(L.c.domain, sa.func.count())
        .where(L.c.state.in_([s.value for s in IN_FLIGHT]))
        .group_by(L.c.domain)
    )
    for domain, count in [*attempted, *in_flight]:
        by_domain[domain] = by_domain.get(domain, 0) + count
    return sum(by_domain.values()), by_domain


def next_due(connection: Connection) -> dt.datetime | None:
    """When the next waiting letter of a sendable campaign falls due."""
    value = connection.execute(
        sa.select(sa.func.min(L.c.due_at)).where(
            L.c.state.in_([s.value for s in WAITING]), campaign_may_send()
        )
    ).scalar()
    return None if value is None else as_utc(value)


def resolve(
    connection: Connection, letter_id: int, *, sent: bool, actor: str, now: dt.datetime
) -> bool:
    """Settle an `unknown` letter: sent (evidence it arrived), or not sent (due again now)."""
    guard = sa.and_(L.c.id == letter_id, L.c.state == LetterState.UNKNOWN.value)
    if sent:
        values: dict[str, object] = {
            "state": LetterState.SENT.value,
            "sent_at": now,
            "reason": f"resolved as sent by {actor}",
        }
    else:
        values = {
            "state": LetterState.QUEUED.value,
            "due_at": now,
            "claimed_by": None,
            "lease_until": None,
            "reason": f"resolved as not sent by {actor}",
        }
    updated = connection.execute(L.update().where(guard).values(updated_at=now, **values))
    if updated.rowcount == 1 and not sent:
        # The campaign may have finished around this letter: it has one to send again.
        campaign = sa.select(L.c.campaign_id).where(L.c.id == letter_id).scalar_subquery()
        connection.execute(
            C.update()
            .where(C.c.id == campaign, C.c.state == CampaignState.FINISHED.value)
            .values(state=CampaignState.RUNNING.value)
        )
    return updated.rowcount == 1
