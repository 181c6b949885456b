"""The report's figures, aggregated in SQL: a handful of queries whatever the campaign's size."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from outreach import clock
from outreach.appeal import Appeal
from outreach.models import (
    Campaign,
    InboundKind,
    LetterState,
    RecipientKind,
)
from outreach.privacy import hashed_subject
from outreach.recipients.segment import parse_where, to_conditions
from outreach.reports.model import (
    DEMAND_COLUMNS,
    FUNNEL,
    Cell,
    Day,
    DemandRow,
    FunnelRow,
    MatrixRow,
    Report,
    Silent,
)
from outreach.reports.scope import COUNTED, INBOUND, LETTER, RECIPIENT, Scope

# Letters that left (or may have left): the matrix and the per-demand counts cover these.
OUT = (LetterState.SENT, LetterState.BOUNCED, LetterState.REPLIED, LetterState.UNKNOWN)
# Funnel columns that are plain letter states (the others are computed below).
BY_STATE: dict[str, tuple[LetterState, ...]] = {
    "suppressed": (LetterState.SUPPRESSED,),
    "duplicate": (LetterState.DUPLICATE,),
    "skipped": (LetterState.SKIPPED,),
    "cancelled": (LetterState.CANCELLED,),
    "queued": (LetterState.QUEUED, LetterState.CLAIMED, LetterState.SENDING),
    "sent": (LetterState.SENT, LetterState.BOUNCED, LetterState.REPLIED),
    "deferred": (LetterState.DEFERRED,),
    "failed": (LetterState.FAILED,),
    "unknown": (LetterState.UNKNOWN,),
    "bounced": (LetterState.BOUNCED,),
}
KIND_ORDER = {kind.value: n for n, kind in enumerate(RecipientKind)}


def build_report(
    session: Session,
    campaign: Campaign,
    *,
    appeal: Appeal | None = None,
    where: list[str] | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Report:
    """Every figure of the report on `campaign`; reads only. Without `appeal`, demands are keys."""
    assert campaign.id is not None
    filters = list(where or [])
    generated = now or clock.now()
    today = today or generated.astimezone(dt.UTC).date()
    follow_ups = session.execute(
        sa.select(sa.exists().where(LETTER.c.campaign_id == campaign.id, LETTER.c.step > 0))
    ).scalar_one()
    scope = Scope(campaign.id, to_conditions(parse_where(filters)), follow_ups=bool(follow_ups))
    if appeal is not None:
        demands = {d.key: d.text.get(appeal.default_language, d.key) for d in appeal.demands}
        title = appeal.title.get(appeal.default_language, "")
    else:
        demands = {key: key for key in demand_keys_in_use(session, campaign.id)}
        title = ""
    return Report(
        campaign=campaign.name,
        appeal=campaign.appeal_slug,
        appeal_title=title,
        state=campaign.state.value,
        generated_at=generated,
        segment=filters,
        demands=demands,
        funnel=funnel(session, scope),
        positions=positions(session, scope, list(demands)),
        matrix=matrix(session, scope, list(demands)),
        silent=silent(session, scope, today),
        median_days_to_reply=median_days_to_reply(session, scope),
        timeline=timeline(session, scope, today),
    )


def demand_keys_in_use(session: Session, campaign_id: int) -> list[str]:
    """The demand keys found on the campaign's letters, in order of first appearance."""
    rows = session.execute(
        sa.select(LETTER.c.demand_keys)
        .where(LETTER.c.campaign_id == campaign_id)
        .group_by(LETTER.c.demand_keys)
        .order_by(sa.func.min(LETTER.c.id))
    ).scalars()
    return list(dict.fromkeys(key for keys in rows for key in keys.split("|") if key))


def kind_sort(kind: str) -> tuple[int, str]:
    """Recipient kinds in the enum's order, "unknown" (erased) last."""
    return (KIND_ORDER.get(kind, len(KIND_ORDER)), kind)


def funnel(session: Session, scope: Scope) -> list[FunnelRow]:
    """Letters by outcome per recipient kind, with an "all" row first."""
    columns: list[sa.ColumnElement[Any]] = [sa.func.count().label("created")]
    for name, states in BY_STATE.items():
        test = LETTER.c.state.in_([state.value for state in states])
        columns.append(sa.func.sum(sa.case((test, 1), else_=0)).label(name))
    columns.append(sa.func.sum(scope.auto_replied).label("auto_replied"))
    columns.append(sa.func.sum(scope.replied).label("replied"))
    rows = session.execute(
        sa.select(scope.kind.label("kind"), *columns)
        .select_from(scope.joined())
        .where(*scope.where())
        .group_by(scope.kind)
    ).mappings()
    by_kind = {row["kind"]: {name: int(row[name] or 0) for name in FUNNEL} for row in rows}
    total = {name: sum(counts[name] for counts in by_kind.values()) for name in FUNNEL}
    groups = [("all", total), *sorted(by_kind.items(), key=lambda item: kind_sort(item[0]))]
    return [FunnelRow(group, counts, rate(counts)) for group, counts in groups]


def rate(counts: dict[str, int]) -> float | None:
    """Replied / sent, rounded to four places; None when nothing was sent."""
    return round(counts["replied"] / counts["sent"], 4) if counts["sent"] else None


def asks(demand: str) -> sa.ColumnElement[bool]:
    """Whether the letter asks `demand`: its keys are stored `a|b|c`."""
    wrapped = sa.literal("|") + LETTER.c.demand_keys + sa.literal("|")
    return wrapped.contains(f"|{demand}|", autoescape=True)


def positions(session: Session, scope: Scope, demands: list[str]) -> list[DemandRow]:
    """Per demand, the asked recipients by latest stance: all, by kind, country, group."""
    if not demands:
        return []
    waiting = sa.case((scope.has_reply, "uncoded"), else_="no_reply")
    parts = [
        sa.select(
            sa.cast(sa.literal(demand), sa.String).label("demand"),
            scope.kind.label("kind"),
            RECIPIENT.c.country.label("country"),
            RECIPIENT.c.political_group.label("political_group"),
            sa.func.coalesce(scope.stance(demand), waiting, type_=sa.String).label("status"),
        )
        .select_from(scope.joined())
        .where(*scope.where(LETTER.c.state.in_([s.value for s in OUT]), asks(demand)))
        for demand in demands
    ]
    # One query: the union of each demand's letters, grouped by every dimension at once.
    union = sa.union_all(*parts).subquery("asked")
    keys = (union.c.demand, union.c.kind, union.c.country, union.c.political_group, union.c.status)
    rows = session.execute(sa.select(*keys, sa.func.count()).group_by(*keys)).all()
    # The rolled-up groups are few (kinds × countries × groups): summing them here is cheap.
    tally: dict[tuple[str, str, str], dict[str, int]] = defaultdict(
        lambda: dict.fromkeys(DEMAND_COLUMNS, 0)
    )
    for demand, kind, country, group, column, count in rows:
        targets = [("all", "all"), ("kind", kind)]
        if country is not None:
            targets.append(("country", country))
        if kind == RecipientKind.MEP.value and group is not None:
            targets.append(("political_group", group))
        for dimension, value in targets:
            tally[(demand, dimension, value)][column] += count
    order = {"all": 0, "kind": 1, "country": 2, "political_group": 3}
    result = []
    for demand in demands:
        result.append(DemandRow(demand, "all", "all", tally[(demand, "all", "all")]))
        found = [key for key in tally if key[0] == demand and key[1] != "all"]
        found.sort(key=lambda k: (order[k[1]], kind_sort(k[2]) if k[1] == "kind" else (0, k[2])))
        result.extend(
            DemandRow(demand, dim, value, tally[(demand, dim, value)]) for _, dim, value in found
        )
    return result


def display(given: str | None, family: str | None, organisation: str | None) -> str:
    """The person's name, or the office for a mailbox without one."""
    return " ".join(part for part in (given, family) if part) or (organisation or "")


def matrix(session: Session, scope: Scope, demands: list[str]) -> list[MatrixRow]:
    """One row per recipient whose letter left, with their latest position on each demand."""
    out = LETTER.c.state.in_([s.value for s in OUT])
    latest = scope.latest
    coded: dict[tuple[int, str], Cell] = {
        (row.letter_id, row.demand_key): Cell(
            row.stance, "coded", row.coded_at.astimezone(dt.UTC).date(), row.evidence
        )
        for row in session.execute(
            sa.select(latest)
            .select_from(
                # Driven by the few positions, each finding its letter by primary key.
                latest.join(LETTER, LETTER.c.id == latest.c.letter_id).outerjoin(
                    RECIPIENT, RECIPIENT.c.id == LETTER.c.recipient_id
                )
            )
            .where(*scope.where(out))
        )
    }
    rows = session.execute(
        sa.select(
            LETTER.c.id,
            LETTER.c.recipient_key,
            LETTER.c.state,
            LETTER.c.demand_keys,
            RECIPIENT.c.id.label("recipient_id"),
            RECIPIENT.c.given_name,
            RECIPIENT.c.family_name,
            RECIPIENT.c.organisation,
            scope.kind.label("kind"),
            RECIPIENT.c.country,
            RECIPIENT.c.political_group,
            scope.replied.label("replied"),
        )
        .select_from(scope.joined())
        .where(*scope.where(out))
        .order_by(LETTER.c.recipient_key, LETTER.c.id)
    )
    not_asked = Cell(None, "not_asked", None, "")
    uncoded, no_reply = Cell(None, "uncoded", None, ""), Cell(None, "no_reply", None, "")
    result = []
    for row in rows:
        asked = set(row.demand_keys.split("|"))
        waiting = uncoded if row.replied else no_reply
        cells = {
            demand: coded.get((row.id, demand), waiting) if demand in asked else not_asked
            for demand in demands
        }
        erased = row.recipient_id is None
        result.append(
            MatrixRow(
                # An erased person's key is shown as in the audit trail, not in clear.
                recipient=hashed_subject(row.recipient_key) if erased else row.recipient_key,
                name=display(row.given_name, row.family_name, row.organisation),
                organisation=row.organisation or "",
                kind=row.kind,
                country=row.country,
                political_group=row.political_group,
                letter_state=LetterState(row.state).value,
                cells=cells,
            )
        )
    return result


def silent(session: Session, scope: Scope, today: dt.date) -> list[Silent]:
    """Recipients whose letter is sent and who have not replied, longest silence first."""
    rows = session.execute(
        sa.select(
            LETTER.c.recipient_key,
            RECIPIENT.c.given_name,
            RECIPIENT.c.family_name,
            RECIPIENT.c.organisation,
            RECIPIENT.c.email,
            LETTER.c.sent_at,
            scope.auto_replied.label("auto_replied"),
        )
        .select_from(scope.joined())
        .where(
            *scope.where(
                LETTER.c.state == LetterState.SENT.value,
                LETTER.c.sent_at.is_not(None),
                ~scope.has_reply,
                # An erased person is not called back: nobody is left to call.
                RECIPIENT.c.id.is_not(None),
            )
        )
        .order_by(LETTER.c.sent_at, LETTER.c.recipient_key)
    )
    result = []
    for row in rows:
        sent_on = row.sent_at.astimezone(dt.UTC).date()
        result.append(
            Silent(
                recipient=row.recipient_key,
                name=display(row.given_name, row.family_name, row.organisation),
                organisation=row.organisation,
                email=row.email or "",
                sent_on=sent_on,
                days=(today - sent_on).days,
                auto_replied=bool(row.auto_replied),
            )
        )
    return result


def median_days_to_reply(session: Session, scope: Scope) -> float | None:
    """Median of (first human reply − sending) in days, to one decimal; None without replies."""
    rows = session.execute(
        sa.select(LETTER.c.sent_at, scope.first_reply)
        .select_from(scope.joined())
        .where(*scope.where(LETTER.c.sent_at.is_not(None), scope.has_reply))
    ).all()
    if not rows:
        return None
    days = [(reply - sent).total_seconds() / 86400 for sent, reply in rows]
    return round(float(statistics.median(days)), 1)


def utc_day(session: Session, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, in this database's SQL."""
    if session.get_bind().dialect.name == "postgresql":
        # A timestamptz cast to date would use the session's time zone: pin it to UTC.
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)  # SQLite stores UTC text: its first ten characters


def as_date(value: object) -> dt.date:
    """A day as returned by either database (a date, or ISO text from SQLite)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def timeline(session: Session, scope: Scope, today: dt.date) -> list[Day]:
    """Letters sent and human replies received per UTC day, from the first sending to today."""
    sent_day = utc_day(session, LETTER.c.sent_at)
    sent = {
        as_date(day): count
        for day, count in session.execute(
            sa.select(sent_day, sa.func.count())
            .select_from(scope.joined())
            .where(*scope.where(LETTER.c.sent_at.is_not(None), threads=False))
            .group_by(sent_day)
        )
    }
    reply_day = utc_day(session, INBOUND.c.received_at)
    replies = {
        as_date(day): count
        for day, count in session.execute(
            sa.select(reply_day, sa.func.count())
            .select_from(
                INBOUND.join(LETTER, LETTER.c.id == INBOUND.c.letter_id).outerjoin(
                    RECIPIENT, RECIPIENT.c.id == LETTER.c.recipient_id
                )
            )
            .where(*scope.where(INBOUND.c.kind == InboundKind.REPLY.value, COUNTED, threads=False))
            .group_by(reply_day)
        )
    }
    if not sent:
        return []
    first, last = min(sent), max(today, *sent, *replies)
    days = (first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return [Day(day, sent.get(day, 0), replies.get(day, 0)) for day in days]
