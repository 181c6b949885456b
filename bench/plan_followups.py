"""Benchmark: the follow-up planner's pass over a campaign, beside baselines from the same run.

The planner runs every `dispatch.followup_seconds` over every campaign with follow-up steps, so
two figures matter: how fast it reads threads when none is due (every run but a few), and how
fast it makes follow-ups when all are due. Baselines, on the same database in the same run:
streaming the campaign's letters with their recipients (the least a pass must read), and the
approval of the first letters (the same composing and inserting, for the first step).

    .venv/bin/python bench/plan_followups.py [--threads 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import time_machine
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.import_recipients import generate
from outreach.approval import approve_campaign
from outreach.campaign import create_campaign, get_campaign
from outreach.config import Settings
from outreach.db import make_engine, session_scope, upgrade
from outreach.followup_listing import follow_up_rows
from outreach.letter import Composer
from outreach.models import Campaign, CampaignState, Letter, LetterState, Recipient
from outreach.planner import plan_campaign
from outreach.recipients.importer import import_files
from outreach.recipients.table import to_record
from outreach.steps import declare_steps

REPO = Path(__file__).resolve().parent.parent
APPROVED = dt.datetime(2026, 4, 27, 0, 30, tzinfo=dt.UTC)
SENT = dt.datetime(2026, 4, 30, 8, 0, tzinfo=dt.UTC)


def main() -> None:
    """Build the campaign, then time the passes and print them with their baselines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2000)
    args = parser.parse_args()
    settings = Settings(paths={"templates": str(REPO / "templates")})
    composer = Composer.load(settings)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        generate(root / "recipients.csv", args.threads)
        engine = make_engine(f"sqlite:///{root / 'bench.db'}")
        upgrade(engine)
        assert import_files(engine, [root / "recipients.csv"], actor="bench").committed
        with time_machine.travel(APPROVED, tick=False), session_scope(engine) as session:
            campaign = create_campaign(
                session, "bench", appeal_slug=composer.appeal.slug, where=[],
                window="Mon-Fri 09:00-12:00", start_at=None, closed_dates=[], actor="bench",
            )  # fmt: skip
            session.flush()
            declare_steps(
                session, campaign, composer, after_days=10, template="followup", count=1,
                actor="bench",
            )  # fmt: skip
            started = time.perf_counter()
            approve_campaign(session, campaign, composer, actor="bench", skip_problems=False)
        approval = args.threads / (time.perf_counter() - started)
        with engine.begin() as connection:
            connection.execute(sa.update(Letter).values(state=LetterState.SENT, sent_at=SENT))
            connection.execute(sa.update(Campaign).values(state=CampaignState.RUNNING))

        with session_scope(engine, write=False) as session:
            started = time.perf_counter()
            query = select(Letter, Recipient).outerjoin(
                Recipient, col(Recipient.id) == col(Letter.recipient_id)
            )
            read = sum(
                1
                for _, row in session.exec(query.execution_options(yield_per=500))
                if to_record(row)
            )
            streamed = read / (time.perf_counter() - started)
        with session_scope(engine, write=False) as session:
            campaign = get_campaign(session, "bench")
            started = time.perf_counter()
            listed = sum(1 for _ in follow_up_rows(session, campaign, SENT + dt.timedelta(days=1)))
            scanned = listed / (time.perf_counter() - started)
        with session_scope(engine) as session:
            campaign = get_campaign(session, "bench")
            started = time.perf_counter()
            report = plan_campaign(session, campaign, composer, SENT + dt.timedelta(days=30))
            planned = report.created / (time.perf_counter() - started)
    print(f"threads: {args.threads} (SQLite)")
    print(f"baseline: letters streamed with their recipients  {streamed:10,.0f} /s")
    print(
        f"planner pass, nothing due (rule on every thread) {scanned:10,.0f} /s"
        f"   ratio {scanned / streamed:.2f}"
    )
    print(f"baseline: first letters approved (composed)      {approval:10,.0f} /s")
    print(
        f"planner, every follow-up due (composed)          {planned:10,.0f} /s"
        f"   ratio {planned / approval:.2f}   ({report.created} made)"
    )


if __name__ == "__main__":
    main()
