"""Positions of replies on demands: suggested from keywords, confirmed by staff, kept as history."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from outreach.appeal import Appeal
from outreach.audit import record_event
from outreach.errors import InputError, NotFoundError, StateError
from outreach.models import EFFECTIVE, InboundKind, InboundMessage, Position, Stance


@dataclass(frozen=True, slots=True)
class Coding:
    """One demand's stance as staff give it: `KEY=STANCE`, with the quoted evidence."""

    demand_key: str
    stance: Stance
    evidence: str


def parse_codings(demands: list[str], evidence: list[str]) -> list[Coding]:
    """`--demand KEY=STANCE` items with their `--evidence` quotes (in order, or one for all)."""
    if not demands:
        raise InputError("give at least one --demand KEY=STANCE")
    if evidence and len(evidence) not in (1, len(demands)):
        raise InputError(
            f"{len(evidence)} --evidence for {len(demands)} --demand: give one per demand, "
            "in the same order, or one for all"
        )
    codings = []
    for index, item in enumerate(demands):
        key, sep, stance = item.partition("=")
        if not sep:
            raise InputError(f"--demand {item!r}: write KEY=STANCE, e.g. un-fact-finding=supports")
        try:
            parsed = Stance(stance.strip())
        except ValueError:
            choices = ", ".join(s.value for s in Stance)
            raise InputError(f"--demand {item!r}: stance must be one of: {choices}") from None
        quote = evidence[index if len(evidence) > 1 else 0] if evidence else ""
        codings.append(Coding(key.strip(), parsed, quote.strip()))
    return codings


def code_reply(
    session: Session,
    inbound_id: int,
    appeal: Appeal,
    codings: list[Coding],
    *,
    actor: str,
    now: dt.datetime,
) -> list[Position]:
    """Record positions for a reply; a demand coded before keeps its old row as history.

    Refused (StateError) for a reply matched for review until a person confirms it.
    """
    message = session.get(InboundMessage, inbound_id)
    if message is None:
        raise NotFoundError(f"no inbound message {inbound_id} (see `outreach replies list`)")
    if message.kind is not InboundKind.REPLY:
        raise StateError(
            f"message {inbound_id} is {message.kind.value}, not a reply: "
            "only replies take positions"
        )
    if message.letter_id is None:
        raise StateError(
            f"message {inbound_id} is not matched to a letter: attach it first with "
            f"`outreach replies match {inbound_id} --letter LETTER_ID`"
        )
    if message.match_strength not in EFFECTIVE:
        # Coding waits for the confirmation rather than being hidden from the reports after
        # it: then no report, export or follow-up rule can count a stranger's words by mistake.
        raise StateError(
            f"message {inbound_id} is matched to letter {message.letter_id} for review only "
            f"({message.match_note}): confirm that it speaks for the recipient first with "
            f"`outreach replies confirm {inbound_id}`, or reject it with "
            f"`outreach replies reject {inbound_id}`"
        )
    known = set(appeal.demand_keys)
    added = []
    for coding in codings:
        if coding.demand_key not in known:
            raise InputError(
                f"demand {coding.demand_key!r} is not in {appeal.slug}: its demands are "
                f"{', '.join(appeal.demand_keys)}"
            )
        session.execute(
            sa.update(Position)
            .where(
                col(Position.inbound_id) == inbound_id,
                col(Position.demand_key) == coding.demand_key,
                col(Position.current).is_(True),
            )
            .values(current=False)
        )
        position = Position(
            inbound_id=inbound_id,
            letter_id=message.letter_id,
            demand_key=coding.demand_key,
            stance=coding.stance,
            evidence=coding.evidence,
            current=True,
            coded_by=actor,
            coded_at=now,
        )
        session.add(position)
        added.append(position)
        record_event(
            session,
            actor,
            "reply.code",
            str(inbound_id),
            demand=coding.demand_key,
            stance=coding.stance.value,
        )
    return added


def positions_of(session: Session, inbound_id: int, *, history: bool = False) -> list[Position]:
    """The current positions of a reply (or every one ever recorded, oldest first)."""
    query = select(Position).where(Position.inbound_id == inbound_id)
    if not history:
        query = query.where(col(Position.current).is_(True))
    return list(session.exec(query.order_by(col(Position.coded_at), col(Position.id))))


def uncoded_replies() -> sa.ColumnElement[bool]:
    """The condition on inbound messages that still await coding: replies matched to a letter
    with no current position yet (`outreach replies list --uncoded`, the dashboard's inbox)."""
    coded = select(Position.inbound_id).where(col(Position.current).is_(True))
    return sa.and_(
        col(InboundMessage.kind) == InboundKind.REPLY,
        col(InboundMessage.letter_id).is_not(None),
        col(InboundMessage.id).not_in(coded),
    )


def suggest(text: str | None, appeal: Appeal, language: str | None) -> list[str]:
    """The demands a reply appears to address, from the appeal's per-language keywords.

    Only a suggestion: it never counts as a position until staff confirm it.
    """
    if not text:
        return []
    folded = " ".join(text.casefold().split())
    found = []
    for demand in appeal.demands:
        languages = [language] if language in demand.keywords else list(demand.keywords)
        phrases = [phrase for lang in languages for phrase in demand.keywords.get(lang or "", ())]
        if any(
            re.search(r"\b" + re.escape(" ".join(p.casefold().split())), folded) for p in phrases
        ):
            found.append(demand.key)
    return found
