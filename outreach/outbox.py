"""The outbox: the only module that changes a letter's state. Every change is one guarded UPDATE.

A guard (`WHERE state = … AND claimed_by = …`) makes each transition happen at most once, so a
slow worker whose lease was taken over can never act on a letter it no longer holds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from outreach.audit import record_event
from outreach.errors import NotFoundError, StateError
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
from outreach.pace import WINDOW

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
    deadline: dt.datetime | None


def campaign_may_send() -> sa.ColumnElement[bool]:
    """The letter is ad hoc, or its campaign is approved or running.

    Correlated EXISTS rather than NOT IN (subquery): one primary-key lookup per letter instead
    of reading the whole table for every statement.
    """
    sendable = (
        sa.select(sa.literal(1))
        .where(
            C.c.id == L.c.campaign_id,
            C.c.state.in_([s.value for s in SENDABLE_CAMPAIGNS]),
        )
        .exists()
    )
    return sa.or_(L.c.campaign_id.is_(None), sendable)


def address_allowed() -> sa.ColumnElement[bool]:
    """The address is not suppressed and the recipient is still active (two index lookups)."""
    suppressed = sa.select(sa.literal(1)).where(S.c.address_hash == L.c.address_hash).exists()
    retired = (
        sa.select(sa.literal(1))
        .where(R.c.id == L.c.recipient_id, R.c.status != RecipientStatus.ACTIVE.value)
        .exists()
    )
    return sa.and_(sa.not_(suppressed), sa.not_(retired))


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
            deadline=as_utc(row.deadline) if row.deadline is not None else None,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda letter: ids.index(letter.id))


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timestamp read through Core (no TypeDecorator on RETURNING in every dialect) as UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def mark_sending(
    connection: Connection, ids: list[int], worker: str, now: dt.datetime, lease: dt.timedelta
) -> set[int]:
    """Commit point before DATA: the letters still ours that may still be sent now.

    One statement for a whole group of letters (the writer group-commits them).
    """
    rows = connection.execute(
        L.update()
        .where(
            L.c.id.in_(ids),
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
        .returning(L.c.id)
    )
    return {row.id for row in rows}


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
    # The letter's retry deadline, fixed at its first attempt; None: not started (a policy
    # rejection, which is not the recipient's server failing, neither starts nor spends it).
    deadline: dt.datetime | None
    counted_attempt: bool  # DATA began, so mark_sending already counted it
    reason: str | None = None  # instead of the state's usual reason (outreach's own refusal)


# Built once: executed with many parameter sets (executemany), one per attempt.
RECORD = (
    L.update()
    .where(
        L.c.id == sa.bindparam("b_id"),
        L.c.claimed_by == sa.bindparam("b_worker"),
        # `unknown`: our lease ran out and another worker settled the letter, but we did hear
        # the server's answer: that is the evidence the unknown state waits for.
        # OR of equalities: an expanding IN cannot be executed with many parameter sets.
        sa.or_(*(L.c.state == s.value for s in (*IN_FLIGHT, LetterState.UNKNOWN))),
    )
    .values(
        state=sa.bindparam("b_state"),
        updated_at=sa.bindparam("b_now", type_=L.c.updated_at.type),
        claimed_by=sa.bindparam("b_holder"),
        lease_until=None,
        deadline=sa.bindparam("b_deadline", type_=L.c.deadline.type),
        last_error=sa.bindparam("b_error"),
        reason=sa.bindparam("b_reason"),
        sent_at=sa.func.coalesce(sa.bindparam("b_sent_at", type_=L.c.sent_at.type), L.c.sent_at),
        due_at=sa.func.coalesce(sa.bindparam("b_due_at", type_=L.c.due_at.type), L.c.due_at),
        attempts=L.c.attempts + sa.bindparam("b_extra", type_=sa.Integer),
    )
)


def record(connection: Connection, outcomes: list[Outcome]) -> list[LetterState]:
    """Record attempts and move each letter to its next state, for a group of outcomes."""
    states, parameters = [], []
    for outcome in outcomes:
        state, values = next_state(outcome)
        states.append(state)
        parameters.append(values)
    connection.execute(RECORD, parameters)
    connection.execute(
        A.insert(),
        [
            {
                "letter_id": o.letter_id,
                "domain": o.domain,
                "started_at": o.started_at,
                "finished_at": o.finished_at,
                "outcome": o.outcome.value,
                "smtp_code": o.smtp_code,
                "enhanced_code": o.enhanced_code,
                "reply": o.reply[:2000],
                "worker": o.worker,
            }
            for o in outcomes
        ],
    )
    return states


def next_state(outcome: Outcome) -> tuple[LetterState, dict[str, object]]:
    """The letter's new state and the RECORD parameters after an attempt."""
    error = " ".join(str(part) for part in (outcome.smtp_code, outcome.reply) if part)
    state, due_at = LetterState.FAILED, None
    reason: str | None = "refused"
    if outcome.outcome is AttemptOutcome.SENT:
        state, reason, error = LetterState.SENT, None, ""
    elif outcome.outcome is AttemptOutcome.UNKNOWN:
        state, reason, error = LetterState.UNKNOWN, "no reply after DATA", error or "no reply"
    elif outcome.outcome is AttemptOutcome.DEFERRED and outcome.retry_at is not None:
        state, reason, due_at = LetterState.DEFERRED, None, outcome.retry_at
    elif outcome.outcome is AttemptOutcome.DEFERRED:
        reason = "retry deadline passed"
    if outcome.reason is not None:
        reason = outcome.reason
    return state, {
        "b_id": outcome.letter_id,
        "b_worker": outcome.worker,
        "b_state": state.value,
        "b_now": outcome.finished_at,
        # A deferred letter is nobody's until it is due again; others keep who sent them.
        "b_holder": None if state is LetterState.DEFERRED else outcome.worker,
        "b_deadline": outcome.deadline,
        "b_error": error or None,
        "b_reason": reason,
        "b_sent_at": outcome.finished_at if state is LetterState.SENT else None,
        "b_due_at": due_at,
        "b_extra": 0 if outcome.counted_attempt else 1,
    }


def recent_load(connection: Connection, now: dt.datetime) -> tuple[int, dict[str, int]]:
    """Letters attempted in the pace window or in flight now: in all, and by domain."""
    by_domain: dict[str, int] = {}
    attempted = connection.execute(
        sa.select(A.c.domain, sa.func.count())
        .where(A.c.started_at > now - WINDOW)
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


def resolve_letter(
    session: Session, letter_id: int, *, sent: bool, actor: str, now: dt.datetime
) -> None:
    """Settle an `unknown` letter on a person's evidence, and record who did it.

    As `outreach letters resolve` and the dashboard do it: NotFoundError for no such letter,
    StateError when it is not unknown (or stopped being so while the person looked at it).
    """
    row = session.get(Letter, letter_id)
    if row is None:
        raise NotFoundError(f"no letter {letter_id} (see `outreach letters list`)")
    if row.state is not LetterState.UNKNOWN:
        raise StateError(
            f"letter {letter_id} is {row.state.value}: only an unknown letter is resolved"
        )
    if not resolve(session.connection(), letter_id, sent=sent, actor=actor, now=now):
        raise StateError(f"letter {letter_id} changed meanwhile: look at it again")
    outcome = "sent" if sent else "not-sent"
    record_event(session, actor, "letter.resolve", str(letter_id), outcome=outcome)


def settle_by_evidence(
    connection: Connection,
    letter_id: int,
    state: LetterState,
    *,
    allowed_from: tuple[LetterState, ...],
    reason: str,
    now: dt.datetime,
) -> bool:
    """Move a letter on inbound evidence (a bounce, a reply, an auto-reply); true if it moved."""
    return (
        connection.execute(
            L.update()
            .where(L.c.id == letter_id, L.c.state.in_([s.value for s in allowed_from]))
            .values(state=state.value, reason=reason, updated_at=now)
        ).rowcount
        == 1
    )
