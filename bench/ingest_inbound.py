"""Benchmark: inbound messages classified and recorded per second, from a Maildir of 5,000.

The messages are the test corpus (tests/data/inbound), repeated with fresh Message-IDs. Printed
beside two baselines measured in the same run on the same messages: parsing alone with the
standard library, and classifying alone (no database).

    .venv/bin/python bench/ingest_inbound.py [--messages 5000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import email
import mailbox
import re
import tempfile
import time
import uuid
from email import policy
from pathlib import Path

from outreach.config import Settings
from outreach.db import make_engine, upgrade
from outreach.inbox.classify import classify
from outreach.inbox.fetch import import_path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "inbound"
MESSAGE_ID = re.compile(rb"^Message-ID:[^\r\n]*\r?\n", re.IGNORECASE | re.MULTILINE)


def corpus() -> list[bytes]:
    """The corpus messages small enough to stand for ordinary mail."""
    return [p.read_bytes() for p in sorted(CORPUS.glob("*.eml")) if p.stat().st_size < 200_000]


def make_maildir(folder: Path, count: int) -> list[bytes]:
    """A Maildir of `count` messages from the corpus, each with a Message-ID of its own."""
    box = mailbox.Maildir(folder, create=True)
    samples, written = corpus(), []
    for n in range(count):
        raw = MESSAGE_ID.sub(b"", samples[n % len(samples)], count=1)
        raw = f"Message-ID: <bench-{n}-{uuid.uuid4().hex}@example.net>\r\n".encode() + raw
        box.add(raw)
        written.append(raw)
    return written


def rate(count: int, started: float) -> float:
    """Messages per second since `started`."""
    return count / (time.perf_counter() - started)


def main() -> None:
    """Build the Maildir, run the baselines and the intake, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument(
        "--postgres", metavar="URL", help="also record into PostgreSQL (a fresh database URL)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        messages = make_maildir(folder / "Maildir", args.messages)
        started = time.perf_counter()
        for raw in messages:
            email.message_from_bytes(raw, policy=policy.default)
        parse = rate(len(messages), started)
        started = time.perf_counter()
        for raw in messages:
            classify(raw)
        classified = rate(len(messages), started)
        rows = [("parse only (stdlib email)", parse), ("classify only (no database)", classified)]
        urls = [("SQLite", f"sqlite:///{folder}/bench.db")]
        if args.postgres:
            urls.append(("PostgreSQL", args.postgres))
        for label, url in urls:
            engine = make_engine(url)
            upgrade(engine)
            settings = Settings(
                database={"url": url}, sender={"address": "appeal@outreach.example.org"}
            )
            started = time.perf_counter()
            report = import_path(engine, settings, folder / "Maildir")
            if report.taken != len(messages):
                raise SystemExit(f"{label}: took in {report.taken}, not {len(messages)}")
            rows.append(
                (
                    f"outreach inbox import, {label} (classify + match + record)",
                    rate(len(messages), started),
                )
            )
            engine.dispose()
    print(f"{'measurement':<62} {'msg/s':>9}   ({args.messages:,} messages)")
    for label, value in rows:
        print(f"{label:<62} {value:>9,.0f}")
    print(f"\nrecording costs {classified / rows[-1][1]:.2f}x the classification alone")


if __name__ == "__main__":
    main()
