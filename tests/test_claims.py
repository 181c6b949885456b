"""Concurrent workers never claim a letter twice (PostgreSQL and SQLite), and the naive claim
used as a negative control does: otherwise this test would have lost its teeth."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach import outbox
from outreach.db import SQLITE_BEGIN, make_engine, upgrade
from tests import factory

LEASE = dt.timedelta(minutes=5)
NOW = factory.T0 + dt.timedelta(minutes=1)


def claim_all(engine: Engine, worker: str, out: list[int], batch: int = 20) -> None:
    """Claim until nothing is left, the way the dispatcher does."""
    engine = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
    while True:
        with engine.begin() as connection:
            ids = [c[0] for c in outbox.due_candidates(connection, NOW, batch)]
            got = outbox.claim(connection, ids, worker, NOW, LEASE)
        if not got:
            return
        out.extend(letter.id for letter in got)
        # A real worker now sends what it claimed; without this pause SQLite (which has no
        # fair lock queue) may let one process take every batch and the test prove nothing.
        time.sleep(0.002)


def claim_naively(engine: Engine, worker: str, out: list[int], batch: int = 20) -> None:
    """Select, then update in another statement without a guard: what must not be done."""
    table = sa.table("letter", sa.column("id"), sa.column("state"), sa.column("claimed_by"))
    while True:
        with engine.connect() as connection:
            ids = [
                row.id
                for row in connection.execute(
                    sa.select(table.c.id).where(table.c.state == "queued").limit(batch)
                )
            ]
            connection.commit()
            if not ids:
                return
            time.sleep(0.002)  # the gap in which another worker reads the same rows
            try:
                connection.execute(
                    table.update()
                    .where(table.c.id.in_(ids))
                    .values(state="claimed", claimed_by=worker)
                )
                connection.commit()
            except sa.exc.OperationalError:  # a deadlock between two naive workers: try again
                connection.rollback()
                continue
        out.extend(ids)


def doubles(claims: list[list[int]]) -> int:
    """How many letters were claimed by more than one worker."""
    counts = Counter(letter for worker in claims for letter in worker)
    return sum(1 for number in counts.values() if number > 1)


def run_threads(engine: Engine, workers: int, target: object) -> list[list[int]]:
    claims: list[list[int]] = [[] for _ in range(workers)]
    threads = [
        threading.Thread(target=target, args=(engine, f"w{n}", claims[n]))  # type: ignore[arg-type]
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return claims


@pytest.mark.postgres
def test_eight_postgresql_workers_never_claim_a_letter_twice(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    factory.letters(engine, factory.campaign(engine), 2000)
    claims = run_threads(engine, 8, claim_all)
    assert doubles(claims) == 0
    assert sum(len(c) for c in claims) == 2000
    assert sum(1 for c in claims if c) > 1  # the work really was shared


@pytest.mark.postgres
def test_the_naive_claim_on_postgresql_does_claim_twice(pg_url: str) -> None:
    engine = make_engine(pg_url)
    upgrade(engine)
    factory.letters(engine, factory.campaign(engine), 1000)
    claims = run_threads(engine, 8, claim_naively)
    assert doubles(claims) > 0


def sqlite_worker(
    url: str,
    worker: str,
    naive: bool,
    queue: multiprocessing.Queue[list[int]],
    start: threading.Barrier,
) -> None:
    engine = make_engine(url)
    claimed: list[int] = []
    start.wait(timeout=60)  # all processes begin together, or the first takes everything
    (claim_naively if naive else claim_all)(engine, worker, claimed)
    queue.put(claimed)


def run_processes(url: str, workers: int, naive: bool) -> list[list[int]]:
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[int]] = context.Queue()
    start = context.Barrier(workers)
    processes = [
        context.Process(target=sqlite_worker, args=(url, f"p{n}", naive, queue, start))
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    claims = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    return claims


def test_four_sqlite_processes_never_claim_a_letter_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory.letters(engine, factory.campaign(engine), 2000)
    claims = run_processes(url, 4, naive=False)
    assert doubles(claims) == 0
    assert sum(len(c) for c in claims) == 2000
    assert sum(1 for c in claims if c) > 1  # the work really was shared


def test_the_naive_claim_on_sqlite_does_claim_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'naive.db'}"
    engine = make_engine(url)
    upgrade(engine)
    factory.letters(engine, factory.campaign(engine), 1000)
    claims = run_processes(url, 4, naive=True)
    assert doubles(claims) > 0
