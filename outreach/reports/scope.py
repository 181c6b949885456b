"""The report's unit, as SQL: a recipient's thread (the first letter and its follow-ups)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from outreach.models import EFFECTIVE, InboundKind, InboundMessage, Letter, Position, Recipient
from outreach.recipients.segment import Condition

LETTER: sa.Table = Letter.__table__  # type: ignore[attr-defined]
RECIPIENT: sa.Table = Recipient.__table__  # type: ignore[attr-defined]
INBOUND: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]
POSITION: sa.Table = Position.__table__  # type: ignore[attr-defined]

UNKNOWN_KIND = "unknown"  # the kind shown for letters whose recipient was erased
# Inbound mail counts only once its match has taken effect: a suggestion still for review
# (a stranger's message, a report naming another address) is in no figure until confirmed.
COUNTED = INBOUND.c.match_strength.in_([strength.value for strength in EFFECTIVE])


FOLLOW_UP = LETTER.alias("follow_up")


class Scope:
    """The campaign's threads (optionally a segment of them) and per-thread facts as SQL.

    A row is a recipient's first letter (step 0); what came back to its follow-ups counts for
    it, so a reply to a follow-up is that recipient's reply, and letters are not counted twice.
    """

    def __init__(
        self, campaign_id: int, conditions: list[Condition], *, follow_ups: bool = True
    ) -> None:
        self.campaign_id = campaign_id
        self.conditions = conditions
        # Without follow-ups a thread is its first letter: the simpler queries (one index probe
        # per letter instead of two to four) give the same figures.
        self.follow_ups = follow_ups
        # Correlated subqueries on indexed letter_id / thread_id: index probes per letter,
        # linear in the campaign's size on both databases.
        self.has_reply = self.inbound_exists(InboundKind.REPLY)
        self.replied = sa.case((self.has_reply, 1), else_=0)
        self.auto_replied = sa.case((self.inbound_exists(InboundKind.AUTO_REPLY), 1), else_=0)
        first_of_letter = (
            sa.select(sa.func.min(INBOUND.c.received_at))
            .where(
                INBOUND.c.letter_id == FOLLOW_UP.c.id,
                INBOUND.c.kind == InboundKind.REPLY.value,
                COUNTED,
            )
            .correlate(FOLLOW_UP)
            .scalar_subquery()
        )
        self.first_reply = (
            sa.select(sa.func.min(first_of_letter))
            .where(self.in_thread())
            .correlate(LETTER)
            .scalar_subquery()
        )
        self.kind = sa.func.coalesce(
            sa.type_coerce(RECIPIENT.c.kind, sa.String), UNKNOWN_KIND, type_=sa.String
        )
        # A thread's latest current coding per demand: several replies may each have one.
        thread = sa.func.coalesce(FOLLOW_UP.c.thread_id, FOLLOW_UP.c.id)
        rank = (
            sa.func.row_number()
            .over(
                partition_by=(thread, POSITION.c.demand_key),
                order_by=(POSITION.c.coded_at.desc(), POSITION.c.id.desc()),
            )
            .label("rank")
        )
        ranked = (
            sa.select(
                sa.cast(thread, sa.Integer).label("letter_id"),  # INTEGER affinity: indexable
                POSITION.c.demand_key,
                sa.type_coerce(POSITION.c.stance, sa.String).label("stance"),
                POSITION.c.coded_at,
                POSITION.c.evidence,
                rank,
            )
            .select_from(POSITION.join(FOLLOW_UP, FOLLOW_UP.c.id == POSITION.c.letter_id))
            .where(POSITION.c.current.is_(True), FOLLOW_UP.c.campaign_id == campaign_id)
            .subquery("ranked")
        )
        self.latest = sa.select(ranked).where(ranked.c.rank == 1).subquery("latest")

    def in_thread(self) -> sa.ColumnElement[bool]:
        """FOLLOW_UP is a letter of LETTER's thread (the letter itself without follow-ups)."""
        if not self.follow_ups:
            return FOLLOW_UP.c.id == LETTER.c.id
        return sa.or_(FOLLOW_UP.c.id == LETTER.c.id, FOLLOW_UP.c.thread_id == LETTER.c.id)

    def inbound_exists(self, kind: InboundKind) -> sa.ColumnElement[bool]:
        """Whether the thread has inbound mail of this kind whose match took effect.

        Nested so that each EXISTS probes inbound_message by its letter_id index: the thread's
        first letter, then its follow-ups found by the thread_id index. Written as one join,
        SQLite scanned every message of the kind for each letter instead.
        """

        def on(letter_id: sa.ColumnElement[Any]) -> sa.Exists:
            return sa.exists().where(
                INBOUND.c.letter_id == letter_id, INBOUND.c.kind == kind.value, COUNTED
            )

        if not self.follow_ups:
            return on(LETTER.c.id)
        follow_ups = (
            sa.exists()
            .where(FOLLOW_UP.c.thread_id == LETTER.c.id, on(FOLLOW_UP.c.id))
            .correlate(LETTER)
        )
        return sa.or_(on(LETTER.c.id), follow_ups)

    def stance(self, demand: str) -> sa.ScalarSelect[Any]:
        """The thread's latest current stance on `demand`, NULL when it has none.

        Nested for the indexes: of the thread's letters (primary key, thread_id index) the one
        whose positions on the demand were coded last, then that letter's latest position
        (position.letter_id index). One join of positions to letters let SQLite scan them all.
        """

        def on_demand(letter_id: sa.ColumnElement[Any]) -> list[sa.ColumnElement[bool]]:
            return [
                POSITION.c.letter_id == letter_id,
                POSITION.c.demand_key == demand,
                POSITION.c.current.is_(True),
            ]

        holder: sa.ColumnElement[Any] = LETTER.c.id
        if self.follow_ups:
            last_coded = (
                sa.select(sa.func.max(POSITION.c.coded_at))
                .where(*on_demand(FOLLOW_UP.c.id))
                .correlate(FOLLOW_UP)
                .scalar_subquery()
            )
            holder = (
                sa.select(FOLLOW_UP.c.id)
                .where(self.in_thread())
                .order_by(last_coded.desc().nulls_last(), FOLLOW_UP.c.id.desc())
                .limit(1)
                .correlate(LETTER)
                .scalar_subquery()
            )
        return (
            sa.select(sa.type_coerce(POSITION.c.stance, sa.String))
            .where(*on_demand(holder))
            .order_by(POSITION.c.coded_at.desc(), POSITION.c.id.desc())
            .limit(1)
            .correlate(LETTER)
            .scalar_subquery()
        )

    def joined(self) -> sa.FromClause:
        """Letters and their recipient (absent when erased)."""
        return LETTER.outerjoin(RECIPIENT, RECIPIENT.c.id == LETTER.c.recipient_id)

    def where(
        self, *more: sa.ColumnElement[bool], threads: bool = True
    ) -> list[sa.ColumnElement[bool]]:
        """The campaign and segment conditions, first letters only unless `threads` is False."""
        first = [LETTER.c.step == 0] if threads else []
        return [LETTER.c.campaign_id == self.campaign_id, *first, *self.conditions, *more]
