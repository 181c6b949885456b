"""Reports: a campaign with known letters, replies and positions; every figure, in every format."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from rich.console import Console
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.appeal import Appeal, load_appeal
from outreach.cli import cli
from outreach.db import session_scope
from outreach.models import (
    Campaign,
    InboundKind,
    InboundMessage,
    Letter,
    LetterState,
    MatchStrength,
    Position,
    Recipient,
    RecipientKind,
    Role,
    Stance,
)
from outreach.privacy import hashed_subject
from outreach.reports import model
from outreach.reports.data import build_report
from outreach.reports.model import Report
from outreach.reports.tabular import TABLES, to_csv, to_json, to_text
from tests import factory

REPO = Path(__file__).resolve().parent.parent
APPEAL: Appeal = load_appeal(REPO / "templates" / "nk-appeal-2023-03-07")
F, ICJ, A = "un-fact-finding", "icj-order", "accountability"
ALL = f"{F}|{ICJ}|{A}"
TODAY = dt.date(2026, 2, 20)
NOW = dt.datetime(2026, 2, 20, 9, 0, tzinfo=dt.UTC)


def at(day: int, hour: int = 8, minute: int = 0) -> dt.datetime:
    """An instant in February 2026, UTC."""
    return dt.datetime(2026, 2, day, hour, minute, tzinfo=dt.UTC)


# key: (kind, country, political group, letter state, sent day, demand keys); None: erased.
RECIPIENTS: dict[str, tuple[RecipientKind, str | None, str | None] | None] = {
    "emb-fr": (RecipientKind.EMBASSY, "FR", None),
    "emb-de": (RecipientKind.EMBASSY, "DE", None),
    "emb-it": (RecipientKind.EMBASSY, "IT", None),
    "emb-es": (RecipientKind.EMBASSY, "ES", None),
    "emb-pt": (RecipientKind.EMBASSY, "PT", None),
    "emb-nl": (RecipientKind.EMBASSY, "NL", None),
    "emb-be": (RecipientKind.EMBASSY, "BE", None),
    "emb-at": (RecipientKind.EMBASSY, "AT", None),
    "mep-1": (RecipientKind.MEP, "FR", "EPP"),
    "mep-2": (RecipientKind.MEP, "DE", "S&D"),
    "mep-3": (RecipientKind.MEP, "IT", None),
    "mep-4": (RecipientKind.MEP, "ES", "Renew"),
    "un-1": (RecipientKind.UN_SPECIAL_PROCEDURE, None, None),
    "un-2": (RecipientKind.UN_PERMANENT_MISSION, "AM", None),
    "mep-gone": None,  # erased after the letter was sent
}
LETTERS: dict[str, tuple[LetterState, int | None, str]] = {
    "emb-fr": (LetterState.REPLIED, 10, ALL),
    "emb-de": (LetterState.SENT, 10, ALL),
    "emb-it": (LetterState.SUPPRESSED, None, ""),
    "emb-es": (LetterState.QUEUED, None, ALL),
    "emb-pt": (LetterState.FAILED, None, ALL),
    "emb-nl": (LetterState.DEFERRED, None, ALL),
    "emb-be": (LetterState.CANCELLED, None, ALL),
    "emb-at": (LetterState.CLAIMED, None, ALL),
    "mep-1": (LetterState.REPLIED, 11, ALL),
    "mep-2": (LetterState.BOUNCED, 11, ALL),
    "mep-3": (LetterState.SENT, 12, ALL),
    "mep-4": (LetterState.SKIPPED, None, ""),
    "un-1": (LetterState.REPLIED, 12, A),
    "un-2": (LetterState.UNKNOWN, None, ALL),
    "mep-gone": (LetterState.REPLIED, 10, ALL),
}
# (letter, kind, received); a reply's codings: (demand, stance, coded, evidence, current).
Coding = tuple[str, Stance, dt.datetime, str, bool]
INBOUND: list[tuple[str, InboundKind, dt.datetime, list[Coding]]] = [
    (
        "emb-fr",
        InboundKind.REPLY,
        at(12),
        [
            (F, Stance.SUPPORTS, at(13), "We support the mission", True),
            (ICJ, Stance.NONCOMMITTAL, at(13), "We take note", False),  # recoded: history
            (ICJ, Stance.COMMITS, at(14), "We will raise it", True),
        ],
    ),
    ("emb-de", InboundKind.AUTO_REPLY, at(10, 9), []),
    # Two replies: the later coding of F (on the second reply) is the latest position.
    (
        "mep-1",
        InboundKind.REPLY,
        at(11, 23, 30),
        [
            (F, Stance.DECLINES, at(12), "Not now", True),
            (ICJ, Stance.NOT_ADDRESSED, at(12), "", True),
        ],
    ),
    ("mep-1", InboundKind.REPLY, at(15), [(F, Stance.SUPPORTS, at(16), "Count on us", True)]),
    ("mep-2", InboundKind.BOUNCE, at(11, 9), []),
    (
        "un-1",
        InboundKind.REPLY,
        at(16),
        [(A, Stance.DECLINES, at(17), "Outside the mandate", True)],
    ),
    ("mep-gone", InboundKind.REPLY, at(13), [(F, Stance.SUPPORTS, at(14), "Yes", True)]),
]


def build(engine: Engine) -> None:
    """The campaign `spring` as above, plus mail that must not count (another campaign, unmatched)."""
    campaign_id = factory.campaign(engine, "spring")
    other_id = factory.campaign(engine, "other")
    with Session(engine) as session:
        ids: dict[str, int | None] = {}
        for key, info in RECIPIENTS.items():
            if info is None:
                ids[key] = None
                continue
            kind, country, group = info
            recipient = Recipient(
                key=key,
                kind=kind,
                role=Role.MEP if kind is RecipientKind.MEP else Role.OFFICE,
                given_name="Ann" if kind is RecipientKind.MEP else None,
                family_name=key.upper() if kind is RecipientKind.MEP else None,
                organisation=f"Org {key}",
                country=country,
                tz="Europe/Brussels",
                email=f"{key}@example.org",
                political_group=group,
                created_at=factory.T0,
                updated_at=factory.T0,
            )
            session.add(recipient)
            session.flush()
            ids[key] = recipient.id
        letters: dict[str, int] = {}
        for key, (state, day, demands) in [*LETTERS.items(), ("other", (LetterState.REPLIED, 10, ALL))]:  # fmt: skip
            letter = Letter(
                campaign_id=other_id if key == "other" else campaign_id,
                appeal_slug=APPEAL.slug,
                recipient_id=ids.get(key),
                recipient_key=key,
                to_address=f"{key}@example.org",
                address_hash=hashlib.sha256(key.encode()).hexdigest(),
                domain="example.org",
                language="en",
                subject="Appeal",
                demand_keys=demands,
                token=key[:16],
                message_id=f"<{key}@outreach.example.org>",
                mime=b"",
                state=state,
                send_after=factory.T0,
                due_at=factory.T0,
                sent_at=at(day) if day else None,
                created_at=factory.T0,
                updated_at=factory.T0,
            )
            session.add(letter)
            session.flush()
            assert letter.id is not None
            letters[key] = letter.id
        extra = [("other", InboundKind.REPLY, at(12), []), (None, InboundKind.REPLY, at(12), [])]
        for n, (key, kind, received, codings) in enumerate([*INBOUND, *extra]):
            message = InboundMessage(
                dedup_key=f"m{n}",
                raw=b"",
                source="eml:test",
                received_at=received,
                kind=kind,
                reason="test",
                letter_id=letters[key] if key else None,
                match_strength=MatchStrength.VERIFIED if key else None,
            )
            session.add(message)
            session.flush()
            assert message.id is not None
            for demand, stance, coded, evidence, current in codings:
                session.add(
                    Position(
                        inbound_id=message.id,
                        letter_id=letters[key] if key else 0,
                        demand_key=demand,
                        stance=stance,
                        evidence=evidence,
                        current=current,
                        coded_by="test",
                        coded_at=coded,
                    )
                )
        session.commit()


def report_of(engine: Engine, where: list[str] | None = None) -> Report:
    with session_scope(engine, write=False) as session:
        if engine.dialect.name == "postgresql":
            # Far from UTC (for this transaction only): the timeline's days must still be UTC days.
            session.execute(sa.text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))
        campaign = session.exec(sa.select(Campaign).where(Campaign.name == "spring")).scalar_one()  # type: ignore[call-overload]
        return build_report(
            session, campaign, appeal=APPEAL, where=where or [], today=TODAY, now=NOW
        )


def counts(names: tuple[str, ...], **given: int) -> dict[str, int]:
    return {name: given.get(name, 0) for name in names}


def funnel(**given: int) -> dict[str, int]:
    return counts(model.FUNNEL, **given)


def stances(**given: int) -> dict[str, int]:
    return counts(model.DEMAND_COLUMNS, **given)


EXPECTED_FUNNEL = [
    ("all", funnel(created=15, suppressed=1, skipped=1, cancelled=1, queued=2, sent=7, deferred=1,
                   failed=1, unknown=1, bounced=1, auto_replied=1, replied=4), 0.5714),
    ("embassy", funnel(created=8, suppressed=1, cancelled=1, queued=2, sent=2, deferred=1,
                       failed=1, auto_replied=1, replied=1), 0.5),
    ("un_permanent_mission", funnel(created=1, unknown=1), None),
    ("un_special_procedure", funnel(created=1, sent=1, replied=1), 1.0),
    ("mep", funnel(created=4, skipped=1, sent=3, bounced=1, replied=1), 0.3333),
    ("unknown", funnel(created=1, sent=1, replied=1), 1.0),
]  # fmt: skip
EXPECTED_POSITIONS = [
    (F, "all", "all", stances(supports=3, no_reply=4)),
    (F, "kind", "embassy", stances(supports=1, no_reply=1)),
    (F, "kind", "un_permanent_mission", stances(no_reply=1)),
    (F, "kind", "mep", stances(supports=1, no_reply=2)),
    (F, "kind", "unknown", stances(supports=1)),
    (F, "country", "AM", stances(no_reply=1)),
    (F, "country", "DE", stances(no_reply=2)),
    (F, "country", "FR", stances(supports=2)),
    (F, "country", "IT", stances(no_reply=1)),
    (F, "political_group", "EPP", stances(supports=1)),
    (F, "political_group", "S&D", stances(no_reply=1)),
    (ICJ, "all", "all", stances(commits=1, not_addressed=1, no_reply=4, uncoded=1)),
    (ICJ, "kind", "embassy", stances(commits=1, no_reply=1)),
    (ICJ, "kind", "un_permanent_mission", stances(no_reply=1)),
    (ICJ, "kind", "mep", stances(not_addressed=1, no_reply=2)),
    (ICJ, "kind", "unknown", stances(uncoded=1)),
    (ICJ, "country", "AM", stances(no_reply=1)),
    (ICJ, "country", "DE", stances(no_reply=2)),
    (ICJ, "country", "FR", stances(commits=1, not_addressed=1)),
    (ICJ, "country", "IT", stances(no_reply=1)),
    (ICJ, "political_group", "EPP", stances(not_addressed=1)),
    (ICJ, "political_group", "S&D", stances(no_reply=1)),
    (A, "all", "all", stances(declines=1, no_reply=4, uncoded=3)),
    (A, "kind", "embassy", stances(uncoded=1, no_reply=1)),
    (A, "kind", "un_permanent_mission", stances(no_reply=1)),
    (A, "kind", "un_special_procedure", stances(declines=1)),
    (A, "kind", "mep", stances(uncoded=1, no_reply=2)),
    (A, "kind", "unknown", stances(uncoded=1)),
    (A, "country", "AM", stances(no_reply=1)),
    (A, "country", "DE", stances(no_reply=2)),
    (A, "country", "FR", stances(uncoded=2)),
    (A, "country", "IT", stances(no_reply=1)),
    (A, "political_group", "EPP", stances(uncoded=1)),
    (A, "political_group", "S&D", stances(no_reply=1)),
]
NO_REPLY = model.Cell(None, "no_reply", None, "")
UNCODED = model.Cell(None, "uncoded", None, "")
NOT_ASKED = model.Cell(None, "not_asked", None, "")


def coded(stance: str, day: int, evidence: str) -> model.Cell:
    return model.Cell(stance, "coded", dt.date(2026, 2, day), evidence)


# (recipient, name, organisation, kind, country, group, letter state, cells F/ICJ/A)
EXPECTED_MATRIX = [
    ("emb-de", "Org emb-de", "Org emb-de", "embassy", "DE", None, "sent", [NO_REPLY] * 3),
    ("emb-fr", "Org emb-fr", "Org emb-fr", "embassy", "FR", None, "replied",
     [coded("supports", 13, "We support the mission"), coded("commits", 14, "We will raise it"), UNCODED]),
    ("mep-1", "Ann MEP-1", "Org mep-1", "mep", "FR", "EPP", "replied",
     [coded("supports", 16, "Count on us"), coded("not_addressed", 12, ""), UNCODED]),
    ("mep-2", "Ann MEP-2", "Org mep-2", "mep", "DE", "S&D", "bounced", [NO_REPLY] * 3),
    ("mep-3", "Ann MEP-3", "Org mep-3", "mep", "IT", None, "sent", [NO_REPLY] * 3),
    (hashed_subject("mep-gone"), "", "", "unknown", None, None, "replied",
     [coded("supports", 14, "Yes"), UNCODED, UNCODED]),
    ("un-1", "Org un-1", "Org un-1", "un_special_procedure", None, None, "replied",
     [NOT_ASKED, NOT_ASKED, coded("declines", 17, "Outside the mandate")]),
    ("un-2", "Org un-2", "Org un-2", "un_permanent_mission", "AM", None, "unknown", [NO_REPLY] * 3),
]  # fmt: skip
EXPECTED_SILENT = [
    model.Silent(
        "emb-de", "Org emb-de", "Org emb-de", "emb-de@example.org", dt.date(2026, 2, 10), 10, True
    ),
    model.Silent(
        "mep-3", "Ann MEP-3", "Org mep-3", "mep-3@example.org", dt.date(2026, 2, 12), 8, False
    ),
]
# First replies after: emb-fr 2.0 days, mep-1 0.65, mep-gone 3.0, un-1 4.0 → median 2.5.
EXPECTED_MEDIAN = 2.5
SENT_PER_DAY = {10: 3, 11: 2, 12: 2}
REPLIES_PER_DAY = {11: 1, 12: 1, 13: 1, 15: 1, 16: 1}
EXPECTED_TIMELINE = [
    model.Day(dt.date(2026, 2, d), SENT_PER_DAY.get(d, 0), REPLIES_PER_DAY.get(d, 0))
    for d in range(10, 21)
]


def expected_report() -> Report:
    return Report(
        campaign="spring",
        appeal=APPEAL.slug,
        appeal_title=APPEAL.title["en"],
        state="approved",
        generated_at=NOW,
        segment=[],
        demands={d.key: d.text["en"] for d in APPEAL.demands},
        funnel=[model.FunnelRow(g, c, r) for g, c, r in EXPECTED_FUNNEL],
        positions=[model.DemandRow(*row) for row in EXPECTED_POSITIONS],
        matrix=[
            model.MatrixRow(*fixed, dict(zip((F, ICJ, A), cells, strict=True)))  # type: ignore[arg-type]
            for *fixed, cells in EXPECTED_MATRIX
        ],
        silent=EXPECTED_SILENT,
        median_days_to_reply=EXPECTED_MEDIAN,
        timeline=EXPECTED_TIMELINE,
    )


def test_every_figure_of_the_report(engine: Engine) -> None:
    build(engine)
    report = report_of(engine)
    expected = expected_report()
    # Section by section first, for readable failures; then the whole value.
    for name in ("funnel", "positions", "matrix", "silent", "median_days_to_reply", "timeline"):
        assert getattr(report, name) == getattr(expected, name), name
    assert report == expected


def plain(value: object) -> object:
    """A value as JSON should hold it, built here independently of the code under test."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    return value


def test_every_figure_in_json(engine: Engine) -> None:
    build(engine)
    data = json.loads(to_json(report_of(engine)))
    assert data == plain(expected_report())
    # A few figures written out literally, as a reader of the JSON sees them.
    assert data["funnel"][0] == {
        "group": "all",
        "counts": {"created": 15, "suppressed": 1, "duplicate": 0, "skipped": 1, "cancelled": 1,
                   "queued": 2,
                   "sent": 7, "deferred": 1, "failed": 1, "unknown": 1, "bounced": 1,
                   "auto_replied": 1, "replied": 4},
        "reply_rate": 0.5714,
    }  # fmt: skip
    assert data["positions"][0]["counts"] == {
        "supports": 3, "commits": 0, "noncommittal": 0, "declines": 0, "not_addressed": 0,
        "no_reply": 4, "uncoded": 0,
    }  # fmt: skip
    assert data["matrix"][1]["cells"][ICJ] == {
        "stance": "commits", "status": "coded", "date": "2026-02-14", "evidence": "We will raise it"
    }  # fmt: skip
    assert data["silent"][0]["sent_on"] == "2026-02-10"
    assert data["generated_at"] == "2026-02-20T09:00:00+00:00"
    assert data["median_days_to_reply"] == 2.5
    assert list(data) == [f.name for f in dataclasses.fields(Report)]  # the dataclass order


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def expected_tables() -> dict[str, list[list[str]]]:
    """Every CSV table, header first, from the expected figures."""
    tables: dict[str, list[list[object]]] = {
        "summary": [
            ["campaign", "appeal", "state", "generated_at", "segment", "median_days_to_reply"],
            ["spring", APPEAL.slug, "approved", "2026-02-20T09:00:00+00:00", "", 2.5],
        ],
        "funnel": [["group", *model.FUNNEL, "reply_rate"]]
        + [[g, *c.values(), r] for g, c, r in EXPECTED_FUNNEL],
        "positions": [["demand", "dimension", "group", *model.DEMAND_COLUMNS]]
        + [[d, dim, g, *c.values()] for d, dim, g, c in EXPECTED_POSITIONS],
        "matrix": [
            ["recipient", "name", "organisation", "kind", "country", "political_group",
             "letter_state"] + [f"{k}{s}" for k in (F, ICJ, A) for s in ("", "_date", "_evidence")]
        ] + [
            [*fixed, *(v for c in cells for v in (c.stance or c.status, c.date, c.evidence))]
            for *fixed, cells in EXPECTED_MATRIX
        ],
        "silent": [["recipient", "name", "organisation", "email", "sent_on", "days", "auto_replied"]]
        + [list(dataclasses.astuple(s)) for s in EXPECTED_SILENT],
        "timeline": [["day", "sent", "replies"]]
        + [[d.day, d.sent, d.replies] for d in EXPECTED_TIMELINE],
    }  # fmt: skip
    return {name: [[cell_text(v) for v in row] for row in rows] for name, rows in tables.items()}


def test_every_figure_in_csv(engine: Engine) -> None:
    build(engine)
    report = report_of(engine)
    expected = expected_tables()
    assert set(expected) == set(TABLES)
    for name in TABLES:
        assert list(csv.reader(io.StringIO(to_csv(report, name)))) == expected[name], name
    with pytest.raises(ValueError, match="no table"):
        to_csv(report, "nonsense")


def table_rows(output: str) -> list[list[str]]:
    """The body rows of every rich table in the output, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│┃").split("│")]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def test_every_figure_in_text(engine: Engine) -> None:
    build(engine)
    buffer = io.StringIO()
    to_text(report_of(engine), Console(file=buffer, width=250, markup=False, highlight=False))
    output = buffer.getvalue()
    rows = table_rows(output)
    for group, figures, rate in EXPECTED_FUNNEL:
        shown = "-" if rate is None else f"{rate * 100:.1f}%"
        assert [group, *map(str, figures.values()), shown] in rows
    for demand, dimension, group, figures in EXPECTED_POSITIONS:
        assert [demand, dimension, group, *map(str, figures.values())] in rows
    for key, name, _, kind, country, group, state, cells in EXPECTED_MATRIX:
        shown = [f"{c.stance} {c.date}" if c.stance else c.status for c in cells]
        assert [key, name, kind, country or "", group or "", state, *shown] in rows
        for demand, c in zip((F, ICJ, A), cells, strict=True):
            if c.evidence:
                assert [key, demand, c.stance, str(c.date), c.evidence] in rows
    for row in expected_tables()["silent"][1:] + expected_tables()["timeline"][1:]:
        assert row in rows
    assert "median days to reply: 2.5" in output
    assert "Campaign spring (approved): nk-appeal-2023-03-07" in output


# The documented JSON shape, written out once as the contract: changing it breaks this test.
CONTRACT = {
    "report": ["campaign", "appeal", "appeal_title", "state", "generated_at", "segment", "demands",
               "funnel", "positions", "matrix", "silent", "median_days_to_reply", "timeline"],
    "funnel": ["group", "counts", "reply_rate"],
    "funnel.counts": ["created", "suppressed", "duplicate", "skipped", "cancelled", "queued", "sent",
                      "deferred", "failed", "unknown", "bounced", "auto_replied", "replied"],
    "positions": ["demand", "dimension", "group", "counts"],
    "positions.counts": ["supports", "commits", "noncommittal", "declines", "not_addressed",
                         "no_reply", "uncoded"],
    "matrix": ["recipient", "name", "organisation", "kind", "country", "political_group",
               "letter_state", "cells"],
    "matrix.cell": ["stance", "status", "date", "evidence"],
    "silent": ["recipient", "name", "organisation", "email", "sent_on", "days", "auto_replied"],
    "timeline": ["day", "sent", "replies"],
}  # fmt: skip


def names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_the_json_shape_is_the_documented_one(engine: Engine) -> None:
    # The contract agrees with model.py ...
    assert CONTRACT["report"] == names(Report)
    assert CONTRACT["funnel"] == names(model.FunnelRow)
    assert CONTRACT["funnel.counts"] == list(model.FUNNEL)
    assert CONTRACT["positions"] == names(model.DemandRow)
    assert CONTRACT["positions.counts"] == list(model.DEMAND_COLUMNS)
    assert CONTRACT["matrix"] == names(model.MatrixRow)
    assert CONTRACT["matrix.cell"] == names(model.Cell)
    assert CONTRACT["silent"] == names(model.Silent)
    assert CONTRACT["timeline"] == names(model.Day)
    assert [s.value for s in Stance] == list(model.STANCES)  # stance names are the keys
    # ... and every object in the JSON has exactly those keys, in that order.
    build(engine)
    data = json.loads(to_json(report_of(engine)))
    assert list(data) == CONTRACT["report"]
    assert list(data["demands"]) == [F, ICJ, A]
    for row in data["funnel"]:
        assert list(row) == CONTRACT["funnel"]
        assert list(row["counts"]) == CONTRACT["funnel.counts"]
    for row in data["positions"]:
        assert list(row) == CONTRACT["positions"]
        assert list(row["counts"]) == CONTRACT["positions.counts"]
    for row in data["matrix"]:
        assert list(row) == CONTRACT["matrix"]
        assert list(row["cells"]) == [F, ICJ, A]
        assert all(list(cell) == CONTRACT["matrix.cell"] for cell in row["cells"].values())
    for name in ("silent", "timeline"):
        assert data[name]
        assert all(list(row) == CONTRACT[name] for row in data[name])


def test_a_segment_restricts_every_figure(engine: Engine) -> None:
    build(engine)
    report = report_of(engine, ["kind=mep"])
    assert report.segment == ["kind=mep"]
    mep = dict(EXPECTED_FUNNEL[4][1])
    assert [(r.group, r.counts, r.reply_rate) for r in report.funnel] == [
        ("all", mep, 0.3333),
        ("mep", mep, 0.3333),
    ]
    assert [r.recipient for r in report.matrix] == ["mep-1", "mep-2", "mep-3"]
    assert [s.recipient for s in report.silent] == ["mep-3"]
    assert report.median_days_to_reply == 0.6  # 15.5 hours
    assert [(d.day.day, d.sent, d.replies) for d in report.timeline if d.sent or d.replies] == [
        (11, 2, 1),
        (12, 1, 0),
        (15, 0, 1),
    ]
    assert [(r.demand, r.dimension, r.group, r.counts) for r in report.positions][:3] == [
        (F, "all", "all", stances(supports=1, no_reply=2)),
        (F, "kind", "mep", stances(supports=1, no_reply=2)),
        (F, "country", "DE", stances(no_reply=1)),
    ]


def snapshot(engine: Engine) -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of its rows."""
    tables = sa.MetaData()
    tables.reflect(engine)
    result = {}
    with engine.connect() as connection:
        for name, table in sorted(tables.tables.items()):
            rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            result[name] = (len(rows), digest)
    return result


def test_a_report_changes_nothing(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(engine)
    before = snapshot(engine)
    report_of(engine)
    use(engine, monkeypatch)
    for args in (["--format", "json"], ["--format", "csv", "--out", str(tmp_path / "csv")], []):
        assert run("report", "spring", *args).exit_code == 0
    assert snapshot(engine) == before


def use(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the command line at this database and the repository's appeals."""
    monkeypatch.setenv("OUTREACH_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("OUTREACH_PATHS__TEMPLATES", str(REPO / "templates"))


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_command_line(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(engine)
    use(engine, monkeypatch)
    result = run("report", "spring", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected = plain(expected_report())
    assert isinstance(expected, dict)
    # Only the moment and the days since sending depend on the clock.
    for name in ("funnel", "positions", "matrix", "median_days_to_reply"):
        assert data[name] == expected[name], name
    # --table to stdout, and every table into a directory.
    result = run("report", "spring", "--format", "csv", "--table", "funnel")
    assert list(csv.reader(io.StringIO(result.stdout))) == expected_tables()["funnel"]
    assert run("report", "spring", "--format", "csv", "--out", str(tmp_path / "out")).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{t}.csv" for t in TABLES
    )
    positions = (tmp_path / "out" / "positions.csv").read_text("utf-8")
    assert list(csv.reader(io.StringIO(positions))) == expected_tables()["positions"]
    # The terminal tables, and a segment.
    result = run("report", "spring", "--where", "kind=mep")
    assert result.exit_code == 0, result.output
    assert [
        "mep",
        "4",
        "0",
        "0",
        "1",
        "0",
        "0",
        "3",
        "0",
        "0",
        "0",
        "1",
        "0",
        "1",
        "33.3%",
    ] in table_rows(result.stdout)
    assert "segment: kind=mep" in result.stdout
    out = tmp_path / "report.json"
    assert (
        run(
            "report", "spring", "--format", "json", "--where", "kind=mep", "--out", str(out)
        ).exit_code
        == 0
    )
    assert json.loads(out.read_text("utf-8"))["segment"] == ["kind=mep"]
    # Mistakes: an unknown campaign, csv with nowhere to put its tables, a bad filter.
    result = run("report", "nobody")
    assert result.exit_code == 66
    assert "no campaign named 'nobody'" in result.output
    assert run("report", "spring", "--format", "csv").exit_code == 64
    assert run("report", "spring", "--where", "colour=red").exit_code == 64
    assert run("report", "spring", "--table", "funnel").exit_code == 64


def test_html_goes_through_the_renderer(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = pytest.importorskip("outreach.reports.html")
    build(sqlite_engine)
    use(sqlite_engine, monkeypatch)
    out = tmp_path / "report.html"
    assert run("report", "spring", "--format", "html", "--out", str(out)).exit_code == 0
    assert out.read_text("utf-8").lstrip().lower().startswith("<!doctype html")
    assert callable(html.render_html)
