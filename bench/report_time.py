"""Benchmark: time to build a campaign's report with 100,000 letters and 10,000 replies.

Printed beside a baseline measured in the same run on the same data: one plain
`SELECT state, count(*) FROM letter GROUP BY state`, the least any report must read.

    .venv/bin/python bench/report_time.py [--letters 100000] [--postgres ADMIN_URL]

With --postgres (e.g. postgresql://postgres@127.0.0.1:5432/postgres) a fresh database is
created on that server for the run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.db import make_engine, session_scope, upgrade
from outreach.models import Campaign, InboundMessage, Letter, Position, Recipient
from outreach.reports.data import build_report

T0 = dt.datetime(2026, 2, 2, 8, 0, tzinfo=dt.UTC)
DEMANDS = ("un-fact-finding", "icj-order", "accountability")
KINDS = ("embassy", "mep", "un_permanent_mission", "un_official")
GROUPS = ("EPP", "S&D", "Renew", "Greens/EFA", "ECR", None)
COUNTRIES = ("FR", "DE", "IT", "ES", "PL", "NL", "BE", "AT", "SE", "AM", "AZ", "US")
STANCES = ("supports", "commits", "noncommittal", "declines", "not_addressed")


def insert(engine: Engine, table: sa.Table, rows: list[dict[str, object]]) -> None:
    """Bulk insert in chunks (executemany)."""
    with engine.begin() as connection:
        for start in range(0, len(rows), 5_000):
            connection.execute(table.insert(), rows[start : start + 5_000])


def generate(engine: Engine, letters: int) -> None:
    """A campaign: `letters` recipients and letters, a tenth replied, half the replies coded."""
    rng = random.Random(7)
    campaign: sa.Table = Campaign.__table__  # type: ignore[attr-defined]
    insert(engine, campaign, [{
        "id": 1, "name": "bench", "appeal_slug": "nk-appeal-2023-03-07", "segment": "",
        "window": "Mon-Sun 00:00-24:00", "state": "running", "consecutive_failures": 0,
        "created_at": T0, "created_by": "bench",
    }])  # fmt: skip
    recipients, rows, inbound, positions = [], [], [], []
    for n in range(1, letters + 1):
        kind = KINDS[n % len(KINDS)]
        recipients.append({
            "id": n, "key": f"r{n:07d}", "kind": kind, "role": "mep" if kind == "mep" else "office",
            "gender": "unknown", "organisation": f"Org {n}", "country": COUNTRIES[n % len(COUNTRIES)],
            "tz": "Europe/Brussels", "email": f"r{n}@example.org", "languages": "", "committees": "",
            "delegations": "", "tags": "", "priority": 2, "status": "active",
            "political_group": GROUPS[n % len(GROUPS)] if kind == "mep" else None,
            "created_at": T0, "updated_at": T0,
        })  # fmt: skip
        sent_at = T0 + dt.timedelta(minutes=n % 20_000)
        state = "sent" if n % 20 else rng.choice(("queued", "failed", "suppressed", "deferred"))
        if n % 10 == 0:
            state = "replied"
        elif n % 97 == 0:
            state = "bounced"
        rows.append({
            "id": n, "campaign_id": 1, "appeal_slug": "nk-appeal-2023-03-07", "recipient_id": n,
            "recipient_key": f"r{n:07d}", "to_address": f"r{n}@example.org",
            "address_hash": uuid.uuid4().hex, "domain": "example.org", "language": "en",
            "subject": "Appeal", "demand_keys": "|".join(DEMANDS), "token": f"t{n}",
            "message_id": f"<m{n}@example.org>", "mime": b"", "state": state,
            "send_after": T0, "due_at": T0, "attempts": 1,
            "sent_at": sent_at if state in ("sent", "replied", "bounced") else None,
            "created_at": T0, "updated_at": T0,
        })  # fmt: skip
        kind_in = "reply" if state == "replied" else "auto_reply" if n % 13 == 0 else None
        kind_in = "bounce" if state == "bounced" else kind_in
        if kind_in is None or rows[-1]["sent_at"] is None:
            continue
        inbound.append({
            "id": len(inbound) + 1, "dedup_key": f"in{n}", "raw": b"", "source": "bench",
            "received_at": sent_at + dt.timedelta(hours=rng.randint(1, 24 * 14)),
            "kind": kind_in, "reason": "bench", "review": False, "quarantined": False,
            "subject": "Re: Appeal", "bounce_addresses": "", "letter_id": n,
            "match_strength": "verified", "match_note": "",
        })  # fmt: skip
        if kind_in == "reply" and n % 20 == 0:  # half the replies coded, some recoded
            for demand in DEMANDS:
                for current in (False, True) if n % 60 == 0 else (True,):
                    positions.append({
                        "inbound_id": len(inbound), "letter_id": n, "demand_key": demand,
                        "stance": rng.choice(STANCES), "evidence": "quoted words",
                        "current": current, "coded_by": "bench",
                        "coded_at": sent_at + dt.timedelta(days=15, minutes=len(positions)),
                    })  # fmt: skip
    for model, data in (
        (Recipient, recipients),
        (Letter, rows),
        (InboundMessage, inbound),
        (Position, positions),
    ):
        insert(engine, model.__table__, data)  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(sa.text("ANALYZE"))
            connection.commit()
    print(f"  {letters:,} letters, {len(inbound):,} inbound, {len(positions):,} positions")


def timed(engine: Engine) -> tuple[float, float, int]:
    """Seconds for the baseline and for the report (best of three each), and matrix rows."""
    letter: sa.Table = Letter.__table__  # type: ignore[attr-defined]
    baseline = sa.select(letter.c.state, sa.func.count()).group_by(letter.c.state)
    base, full, rows = float("inf"), float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.execute(baseline).all()
        base = min(base, time.perf_counter() - started)
        started = time.perf_counter()
        with session_scope(engine, write=False) as session:
            campaign = session.get(Campaign, 1)
            assert campaign is not None
            report = build_report(session, campaign)
        full = min(full, time.perf_counter() - started)
        rows = len(report.matrix)
    return base, full, rows


@contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    """A new database on the server of `admin_url`, dropped afterwards."""
    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(label: str, url: str, letters: int) -> None:
    """Generate, time and print one database's line."""
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    generate(engine, letters)
    print(f"  generated in {time.perf_counter() - started:.1f} s")
    base, full, rows = timed(engine)
    print(f"{label:<11} baseline {base:7.3f} s   report {full:7.3f} s   ({rows:,} matrix rows)")
    engine.dispose()


def main() -> None:
    """Run on SQLite, and on PostgreSQL when asked."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="also run on this server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", args.letters)
    if args.postgres:
        with fresh_postgres(args.postgres) as url:
            run("PostgreSQL", url, args.letters)


if __name__ == "__main__":
    main()
