"""The report's unit, as SQL: a recipient's thread (the first letter and its follow-ups)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from outreach.models import InboundKind, InboundMessage, Letter, Position, Recipient
from outreach.recipients.segment import Condition

LETTER: sa.Table = Letter.__table__  # type: ignore[attr-defined]
RECIPIENT: sa.Table = Recipient.__table__  # type: ignore[attr-defined]
INBOUND: sa.Table = InboundMessage.__table__  # type: ignore[attr-defined]
POSITION: sa.Table = Position.__table__  # type: ignore[attr-defined]

UNKNOWN_KIND = "unknown"  # the kind shown for letters whose recipient was erased


FOLLOW_UP = LETTER.alias("follow_up")


class Scope:
    """The campaign's threads (optionally a segment of them) and per-thread facts as SQL.

    A row is a recipient's first letter (step 0); what came back to its follow-ups counts for
    it, so a reply to a follow-up is that recipient's reply, and letters are not counted twice.
    """

    def __init__(self, campaign_id: int, conditions: list[Condition]) -> None:
        self.campaign_id = campaign_id
        self.conditions = conditions
        # Correlated subqueries on indexed letter_id / thread_id: index probes per letter,
        # linear in the campaign's size on both databases (joins to grouped subqueries were not).
        self.has_reply = self.inbound_exists(InboundKind.REPLY)
        self.replied = sa.case((self.has_reply, 1), else_=0)
        self.auto_replied = sa.case((self.inbound_exists(InboundKind.AUTO_REPLY), 1), else_=0)
        self.first_reply = (
            sa.select(sa.func.min(INBOUND.c.received_at))
            .where(self.in_thread(INBOUND.c.letter_id), INBOUND.c.kind == InboundKind.REPLY.value)
            .correlate_except(INBOUND)
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
                thread.label("letter_id"),
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

    @staticmethod
    def in_thread(letter_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """Whether `letter_id` is the thread's first letter or one of its follow-ups."""
        follow_ups = (
            sa.select(FOLLOW_UP.c.id)
            .where(FOLLOW_UP.c.thread_id == LETTER.c.id)
            .correlate_except(FOLLOW_UP)
        )
        return sa.or_(letter_id == LETTER.c.id, letter_id.in_(follow_ups))

    @classmethod
    def inbound_exists(cls, kind: InboundKind) -> sa.Exists:
        """Whether the thread has inbound mail of this kind."""
        return (
            sa.exists()
            .where(cls.in_thread(INBOUND.c.letter_id), INBOUND.c.kind == kind.value)
            .correlate_except(INBOUND)
        )

    @classmethod
    def stance(cls, demand: str) -> sa.ScalarSelect[Any]:
        """The thread's latest current stance on `demand`, NULL when it has none."""
        return (
            sa.select(sa.type_coerce(POSITION.c.stance, sa.String))
            .where(
                cls.in_thread(POSITION.c.letter_id),
                POSITION.c.demand_key == demand,
                POSITION.c.current.is_(True),
            )
            .order_by(POSITION.c.coded_at.desc(), POSITION.c.id.desc())
            .limit(1)
            .correlate_except(POSITION)
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
