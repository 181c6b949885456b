"""Crash consistency (RELIABILITY.md test 1): a 500-letter campaign, a sink that injects faults,
the sender killed at every named point and at random moments, restarted until done.

Invariants, all zero: duplicate Message-IDs at the sink; suppressed addresses at the sink;
letters not in a final state (or unknown); `sent` but not at the sink; at the sink but neither
`sent` nor `unknown`.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from outreach.crashpoint import POINTS
from outreach.db import make_engine, session_scope, upgrade
from outreach.models import Letter, LetterState, SuppressionSource
from outreach.suppression import suppress
from tests import factory
from tests.sink import start_sink

ROOT = Path(__file__).resolve().parent.parent
LETTERS = 500
SUPPRESSED = [f"person.r{n}@example.org" for n in range(7, LETTERS, 50)]  # 10 addresses
FINAL = {LetterState.SENT, LetterState.FAILED, LetterState.UNKNOWN, LetterState.SUPPRESSED}


def sender(url: str, port: int, offset: float, crash_at: str | None) -> subprocess.Popen[bytes]:
    environment = {k: v for k, v in os.environ.items() if k != "OUTREACH_CRASH_AT"}
    if crash_at:
        environment["OUTREACH_CRASH_AT"] = crash_at
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_sender", url, str(port), str(offset)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes], kill_after: float | None = None) -> int:
    if kill_after is not None:
        try:
            process.wait(kill_after)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
    _, error = process.communicate(timeout=120)
    code = process.returncode
    assert code in (0, -signal.SIGKILL), error.decode()[-3000:]
    return code


def states(engine: Engine) -> dict[str, LetterState]:
    table = Letter.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection:
        return {
            row.message_id: LetterState(row.state)
            for row in connection.execute(sa.select(table.c.message_id, table.c.state))
        }


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_killed_and_restarted_the_sender_never_duplicates_nor_loses(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'crash.db'}"
        if dialect == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    engine = make_engine(url)
    upgrade(engine)
    factory.letters(engine, factory.campaign(engine), LETTERS)
    with session_scope(engine) as session:
        for address in SUPPRESSED:
            suppress(session, address, reason="asked", source=SuppressionSource.REQUEST, actor="t")
    rng = random.Random(20230307)
    killed_at: Counter[str] = Counter()
    with start_sink(tmp_path / "sink", fault_rate=0.03, after_data_drop_rate=0.02, seed=5) as sink:
        offset = 0.0
        # Named points first, each several times and at different depths of a run.
        for point in POINTS:
            for nth in (1, 2, 3) if point == "after_claim" else (1, 4, 15):
                if finish(sender(url, sink.port, offset, f"{point}:{nth}")) != 0:
                    killed_at[point] += 1
                offset += 31  # past the 30 s lease: the next run settles what this one held
        # Then random moments.
        for _ in range(12):
            if finish(sender(url, sink.port, offset, None), kill_after=rng.uniform(0.05, 0.6)):
                killed_at["random"] += 1
            offset += 31
        # Restart until done: retries come due as the (shifted) clock moves on.
        for _ in range(40):
            if set(states(engine).values()) <= FINAL:
                break
            finish(sender(url, sink.port, offset, None))
            offset += 3600
        accepted = sink.accepted()
        sink_faults = Counter(
            line.split("\t")[1]
            for line in sink.log.read_text().splitlines()
            if line.startswith("FAULT")
        )
    letters = states(engine)
    at_sink = Counter(message_id for message_id, _ in accepted)
    assert [m for m, n in at_sink.items() if n > 1] == [], "duplicates at the sink"
    assert {rcpt for _, rcpt in accepted} & set(SUPPRESSED) == set(), (
        "suppressed addresses at the sink"
    )
    assert {m: s for m, s in letters.items() if s not in FINAL} == {}, (
        "letters not in a final state"
    )
    assert [m for m, s in letters.items() if s is LetterState.SENT and m not in at_sink] == [], (
        "sent but not at the sink"
    )
    assert [
        m for m in at_sink if letters[m] not in (LetterState.SENT, LetterState.UNKNOWN)
    ] == [], "at the sink but neither sent nor unknown"
    assert sum(1 for s in letters.values() if s is LetterState.SUPPRESSED) == len(SUPPRESSED)
    assert sum(1 for s in letters.values() if s is LetterState.SENT) > LETTERS * 0.8
    # The kills really happened, at every named point: otherwise the test has lost its teeth.
    print("kills", dict(killed_at), "states", Counter(letters.values()), "faults", sink_faults)
    assert set(killed_at) >= set(POINTS), killed_at
    assert sum(killed_at.values()) >= 12, killed_at
