"""Benchmark: importing generated recipients; prints records/s and peak memory by file size.

Each measurement runs in a fresh child process so that its peak RSS is its own. Baselines
measured in the same run: parsing + validation alone (no database) for speed, and the
10,000-row import for memory (a streamed import keeps the same peak at 10x the rows).

    .venv/bin/python bench/import_recipients.py [--rows 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HEADER = [
    "key", "kind", "role", "courtesy_title", "gender", "given_name", "family_name",
    "organisation", "country", "host_country", "city", "tz", "email", "languages",
    "committees", "tags", "source", "source_date",
]  # fmt: skip
COUNTRIES = [("FR", "fr|en"), ("DE", "de|en"), ("ES", "es|en"), ("IT", "it|en"), ("PL", "pl|en")]


def generate(path: Path, rows: int) -> None:
    """Write `rows` fictional MEP-like recipients (example.org addresses only)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            country, languages = COUNTRIES[n % len(COUNTRIES)]
            title, gender = ("Ms", "f") if n % 2 else ("Mr", "m")
            writer.writerow([
                f"gen-{n:07d}", "mep", "mep", title, gender, "Given", f"Family-{n}",
                "European Parliament", country, "BE", "Brussels", "", f"person.{n}@example.org",
                languages, "AFET|DROI:substitute" if n % 3 == 0 else "", "generated",
                "benchmark", "2026-11-28",
            ])  # fmt: skip


def child(mode: str, path: Path, url: str) -> None:
    """Run one measurement in this process and print it as JSON."""
    from outreach.db import make_engine, upgrade
    from outreach.recipients.importer import import_files
    from outreach.recipients.reader import read_numbered

    started = time.perf_counter()
    if mode == "validate":
        rows = sum(1 for _ in read_numbered(path))
    else:
        engine = make_engine(url)
        upgrade(engine)
        started = time.perf_counter()
        report = import_files(engine, [path], actor="bench")
        if not report.committed or report.problems:
            raise SystemExit(f"import failed: {report.problems[:3]}")
        rows = report.created
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def measure(mode: str, path: Path, url: str) -> dict[str, float]:
    """One measurement in a fresh interpreter."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fresh_pg(admin: str) -> str:
    """A new empty PostgreSQL database for one measurement."""
    import psycopg

    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin.rsplit("/", 1)[0] + "/" + name


def drop_pg(admin: str, url: str) -> None:
    """Drop a database made by fresh_pg."""
    import psycopg

    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> None:
    """Generate the files, run every measurement, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres", metavar="URL", help="also import into PostgreSQL (admin URL)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.child[2])
        return
    small = args.rows // 10
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = {small: root / "small.csv", args.rows: root / "large.csv"}
        for rows, path in files.items():
            generate(path, rows)
        print(f"{'measurement':<34} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'peak MiB':>9}")
        results = {}
        runs = [("validate only (baseline)", "validate", args.rows, "")]
        for rows in (small, args.rows):
            runs.append((f"import SQLite {rows:,}", "import", rows, f"sqlite:///{root}/{rows}.db"))
        created: list[str] = []
        if args.postgres:
            for rows in (small, args.rows):
                created.append(fresh_pg(args.postgres))
                runs.append((f"import PostgreSQL {rows:,}", "import", rows, created[-1]))
        for label, mode, rows, url in runs:
            result = measure(mode, files[rows], url)
            results[label] = result
            rate = result["rows"] / result["seconds"]
            print(
                f"{label:<34} {result['rows']:>8,.0f} {result['seconds']:>8.2f} {rate:>9,.0f} "
                f"{result['peak_mib']:>9.1f}"
            )
        for url in created:
            drop_pg(args.postgres, url)
        base = results["validate only (baseline)"]
        big = results[f"import SQLite {args.rows:,}"]
        little = results[f"import SQLite {small:,}"]
        print()
        print(
            f"SQLite import speed vs validation alone: "
            f"{(big['rows'] / big['seconds']) / (base['rows'] / base['seconds']):.2f}x"
        )
        print(
            f"peak memory, {args.rows:,} rows vs {small:,} rows: "
            f"{big['peak_mib'] / little['peak_mib']:.2f}x (1.00 = does not grow with the file)"
        )


if __name__ == "__main__":
    main()
