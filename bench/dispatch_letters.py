"""Benchmark: letters per second through claim → send → record, into Postfix's `smtp-sink`.

Measured in one run, on the same machine, into `smtp-sink` on 127.0.0.1 (it accepts everything
and delivers nothing; aiosmtpd would cap near 2,300 msg/s and hide a fast sender):

1. ceiling: Postfix's `smtp-source` (16 sessions kept open, `-d`), the median of
   `--ceiling-runs` runs, with 4 KB messages (the reference: the aim is judged on it) and with
   messages of the stored letters' average size (≈ 14 KB, text + HTML: a lower ceiling);
2. baseline: a plain smtplib loop on one connection: per recipient, render the letter with
   plain Jinja2, build an EmailMessage, send_message. The floor is judged against the loop that
   sends the same letter outreach sends (text and HTML alternatives); the lighter text-only loop
   is printed beside it, for the record;
3. outreach on SQLite and 4. on PostgreSQL, in one process and in `--processes` processes: only
   the dispatch is timed (claim → MAIL/RCPT → commit `sending` → DATA → record), until every
   letter is sent. Importing and approval (rendering, MIME) happen before the clock starts:
   letters are stored as bytes, which is the point of the design.

Floor: outreach ≥ 3x the smtplib loop. Aim: outreach ≥ 0.12 of the ceiling. Both verdicts are
informational; the exit status is non-zero only if something failed (a letter not `sent`, the
sink's count not matching, a tool missing).

    bash scripts/bench-deps.sh          # installs postfix (smtp-sink, smtp-source) if missing
    .venv/bin/python bench/dispatch_letters.py [--letters 5000] [--postgres URL | --no-postgres]
        [--connections 32] [--processes 2]
    .venv/bin/python bench/dispatch_letters.py --letters 2000 --no-postgres --profile
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import datetime as dt
import io
import multiprocessing
import os
import pstats
import re
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import jinja2
import sqlalchemy as sa

from outreach import clock
from outreach.approval import approve_campaign
from outreach.campaign import create_campaign, get_campaign, letter_counts
from outreach.config import Settings
from outreach.db import make_engine, session_scope, upgrade
from outreach.dispatch import Dispatcher
from outreach.letter import Composer
from outreach.models import Attempt, LetterState
from outreach.models import Letter as LetterRow
from outreach.recipients.importer import import_files
from outreach.recipients.record import Gender, RecipientKind, RecipientRecord, Role

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
APPEAL = "nk-appeal-2023-03-07"
SENDER = "appeal@outreach.example.org"
HOST = "127.0.0.1"
FLOOR = 3.0  # outreach / smtplib loop
AIM = 0.12  # outreach / ceiling
CEILING_SESSIONS = 16
CEILING_BYTES = 4096  # the reference ceiling (4 KB messages); the aim is judged on it
SINK_BACKLOG = "256"
HEADER = [
    "key", "kind", "role", "courtesy_title", "gender", "given_name", "family_name",
    "organisation", "country", "host_country", "city", "tz", "email", "languages",
    "committees", "tags", "source", "source_date",
]  # fmt: skip
COUNTRIES = [("FR", "fr|en"), ("DE", "de|en"), ("ES", "es|en"), ("IT", "it|en"), ("PL", "pl|en")]


class BenchError(Exception):
    """A measurement could not be made or its result is wrong."""


# ---------------------------------------------------------------------------------------------
# Recipients


def person(n: int) -> dict[str, str]:
    """The n-th fictional MEP (example.org addresses only)."""
    country, languages = COUNTRIES[n % len(COUNTRIES)]
    title, gender = ("Ms", "f") if n % 2 else ("Mr", "m")
    return {
        "key": f"bench-{n:07d}",
        "kind": "mep",
        "role": "mep",
        "courtesy_title": title,
        "gender": gender,
        "given_name": "Given",
        "family_name": f"Family-{n}",
        "organisation": "European Parliament",
        "country": country,
        "host_country": "BE",
        "city": "Brussels",
        "tz": "Europe/Brussels",
        "email": f"person.{n}@example.org",
        "languages": languages,
        "committees": "",
        "tags": "generated",
        "source": "benchmark",
        "source_date": "2026-11-28",
    }


def write_csv(path: Path, count: int) -> None:
    """The recipients file that outreach imports."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        for n in range(count):
            writer.writerow(person(n))


def records(count: int) -> list[RecipientRecord]:
    """The same people as records, for the smtplib baseline."""
    people = []
    for n in range(count):
        row = person(n)
        people.append(
            RecipientRecord(
                key=row["key"],
                kind=RecipientKind.MEP,
                role=Role.MEP,
                organisation=row["organisation"],
                tz=row["tz"],
                courtesy_title=row["courtesy_title"],
                gender=Gender(row["gender"]),
                given_name=row["given_name"],
                family_name=row["family_name"],
                country=row["country"],
                host_country=row["host_country"],
                city=row["city"],
                email=row["email"],
                languages=tuple(row["languages"].split("|")),
            )
        )
    return people


# ---------------------------------------------------------------------------------------------
# Postfix's tools


def tool(name: str) -> str:
    """The path of a Postfix test tool (in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise BenchError(f"{name} not found: run `bash scripts/bench-deps.sh` (installs postfix)")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Sink:
    """`smtp-sink` on a free port; with `counting`, its `-c` counters give the messages taken."""

    folder: Path
    counting: bool
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def __enter__(self) -> Sink:
        command = [tool("smtp-sink")]
        if self.counting:
            command.append("-c")
        if os.geteuid() == 0:
            command += ["-u", "nobody"]  # it refuses to run as root without dropping privileges
        command += [f"{HOST}:{self.port}", SINK_BACKLOG]
        self.log = self.folder / f"sink-{self.port}.out"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 5
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"smtp-sink exited: {self.log.read_text(errors='replace')}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 0.2):
                break
            if time.monotonic() > deadline:
                raise BenchError(f"smtp-sink does not listen on {HOST}:{self.port}")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=5)

    def messages(self) -> int:
        """Messages the sink has taken (the last `mesg=` of its `-c` counters)."""
        assert self.counting
        assert self.log is not None
        time.sleep(0.05)  # the counters are written when "." or QUIT is processed
        found = re.findall(rb"mesg=(\d+)", self.log.read_bytes())
        return int(found[-1]) if found else 0


def ceiling(folder: Path, letters: int, length: int, runs: int) -> tuple[float, list[float]]:
    """`smtp-source` into `smtp-sink`: the median msg/s of `runs` runs, and every run's."""
    rates = []
    with Sink(folder, counting=False) as sink:
        command = [
            tool("smtp-source"),
            "-d",  # keep each session open for the next message, as a mailer does
            "-s", str(CEILING_SESSIONS),
            "-m", str(letters),
            "-l", str(length),
            "-f", SENDER,
            "-t", "person@example.org",
            f"{HOST}:{sink.port}",
        ]  # fmt: skip
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, check=False)
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise BenchError(f"smtp-source failed: {done.stderr.decode(errors='replace')}")
            rates.append(letters / seconds)
    return statistics.median(rates), rates


# ---------------------------------------------------------------------------------------------
# The smtplib baseline


def smtplib_loop(
    folder: Path, people: list[RecipientRecord], composer: Composer, *, html: bool
) -> float:
    """Render + EmailMessage + send on one connection; returns msg/s (checked at the sink).

    With `html`, the message is the same letter outreach sends (text and HTML alternatives,
    autoescaped HTML, CSS not inlined); without, only the text part: the lighter job.
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(composer.templates.root),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    text_template = environment.get_template("en/body.txt.j2")
    html_template = environment.get_template("en/body.html.j2")
    filled = composer.fill_form(people[1], "en")
    subject = composer.appeal.title["en"]
    with Sink(folder, counting=True) as sink:
        started = time.perf_counter()
        with smtplib.SMTP(HOST, sink.port) as client:
            for recipient in people:
                context = composer.context(recipient, "en", filled)
                message = EmailMessage()
                message["From"] = f"Appeal <{SENDER}>"
                message["To"] = (
                    f"{recipient.given_name} {recipient.family_name} <{recipient.email}>"
                )
                message["Subject"] = subject
                message.set_content(text_template.render(context))
                if html:
                    message.add_alternative(html_template.render(context), subtype="html")
                client.send_message(message)
        rate = len(people) / (time.perf_counter() - started)
        taken = sink.messages()
    if taken != len(people):
        raise BenchError(f"smtplib loop: the sink took {taken} messages, not {len(people)}")
    return rate


# ---------------------------------------------------------------------------------------------
# outreach


def settings_for(url: str, port: int, connections: int, batch: int) -> Settings:
    """outreach's settings for one measurement: no pacing, everything due now."""
    return Settings(
        database={"url": url},
        paths={"templates": str(TEMPLATES)},
        smtp={"host": HOST, "port": port, "security": "none"},
        sender={"name": "Appeal", "address": SENDER},
        dispatch={
            "rate_per_minute": 0,
            "domain_rate_per_minute": 0,
            "connections": connections,
            "batch": batch,
        },
    )


@dataclass
class Prepared:
    """A database with N approved letters, ready to send."""

    url: str
    engine: sa.Engine
    average_bytes: int


def prepare(url: str, recipients_csv: Path, letters: int) -> Prepared:
    """Migrate, import, create and approve the campaign (not timed)."""
    engine = make_engine(url)
    upgrade(engine)
    report = import_files(engine, [recipients_csv], actor="bench")
    if not report.committed or report.problems:
        raise BenchError(f"import failed: {report.problems[:3]}")
    settings = settings_for(url, 25, 1, 1)
    with session_scope(engine) as session:
        create_campaign(
            session,
            "bench",
            appeal_slug=APPEAL,
            where=[],
            window="Mon-Sun 00:00-24:00",
            start_at=None,
            closed_dates=[],
            actor="bench",
        )
    with session_scope(engine) as session:
        counts = approve_campaign(
            session,
            get_campaign(session, "bench"),
            Composer.load(settings),
            actor="bench",
            skip_problems=False,
        )
    if counts[LetterState.QUEUED.value] != letters:
        raise BenchError(f"approval queued {counts}, not {letters} letters")
    table = LetterRow.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        # The window is every hour of every day, but the calendar still skips the host
        # country's weekend and public holidays: make every letter due now, whatever the day.
        now = clock.now() - dt.timedelta(seconds=1)
        connection.execute(table.update().values(send_after=now, due_at=now))
        average = connection.execute(
            sa.select(sa.func.avg(sa.func.length(table.c.mime)))
        ).scalar_one()
    return Prepared(url, engine, round(float(average)))


def drain(url: str, port: int, connections: int, batch: int) -> dict[str, int]:
    """One dispatcher: run_once until it claims nothing; its outcomes (also a child process)."""
    engine = make_engine(url)
    dispatcher = Dispatcher(engine, settings_for(url, port, connections, batch))
    outcomes: dict[str, int] = {}
    try:
        while (report := dispatcher.run_once()).claimed:
            for state, number in report.by_outcome.items():
                outcomes[state] = outcomes.get(state, 0) + number
    finally:
        engine.dispose()
    return outcomes


def send_all(
    prepared: Prepared,
    folder: Path,
    letters: int,
    connections: int,
    batch: int,
    processes: int = 1,
    profile: bool = False,
) -> float:
    """Time dispatchers (in `processes` processes) until every letter is sent; check; msg/s."""
    with Sink(folder, counting=True) as sink:
        arguments = (prepared.url, sink.port, connections, batch)
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if processes == 1:
            if profiler:
                profiler.enable()
            results = [drain(*arguments)]
            if profiler:
                profiler.disable()
        else:
            context = multiprocessing.get_context("spawn")
            with context.Pool(processes) as pool:
                results = pool.starmap(drain, [arguments] * processes)
        seconds = time.perf_counter() - started
        taken = sink.messages()
    outcomes: dict[str, int] = {}
    for result in results:
        for state, number in result.items():
            outcomes[state] = outcomes.get(state, 0) + number
    verify(prepared.engine, letters, outcomes, taken)
    if profiler:
        show_profile("event loop thread (asyncio, aiosmtplib, dispatcher)", profiler, seconds)
    return letters / seconds


def verify(engine: sa.Engine, letters: int, outcomes: dict[str, int], taken: int) -> None:
    """N letters `sent` and nothing else, N attempts, and N messages taken by the sink."""
    with session_scope(engine, write=False) as session:
        counts = letter_counts(session, get_campaign(session, "bench").id)
        attempts = session.execute(
            sa.select(sa.func.count()).select_from(Attempt.__table__)  # type: ignore[attr-defined]
        ).scalar_one()
    others = {state: number for state, number in counts.items() if number and state != "sent"}
    problems = []
    if counts[LetterState.SENT.value] != letters or others:
        problems.append(f"letters by state {counts}")
    if outcomes != {LetterState.SENT.value: letters}:
        problems.append(f"run_once reported {outcomes}")
    if attempts != letters:
        problems.append(f"{attempts} attempts recorded")
    if taken != letters:
        problems.append(f"the sink took {taken} messages")
    if problems:
        raise BenchError(f"expected {letters} letters sent once each: " + "; ".join(problems))


def show_profile(title: str, profile: cProfile.Profile, seconds: float) -> None:
    """The functions that take the most time, by own time and by cumulative time."""
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(order).print_stats(18)
        print(f"\n--- profile: {title}, by {order} (wall time of the run {seconds:.2f} s) ---")
        text = out.getvalue()
        print(text[text.find("   ncalls") :].rstrip())


@contextlib.contextmanager
def fresh_postgres(admin: str) -> Iterator[str]:
    """A new empty PostgreSQL database, dropped afterwards."""
    import psycopg

    name = f"outreach_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def outreach_on(
    url: str, folder: Path, recipients_csv: Path, args: argparse.Namespace, processes: int = 1
) -> tuple[float, int]:
    """Prepare a database and send every letter; (msg/s, average stored letter size)."""
    prepared = prepare(url, recipients_csv, args.letters)
    try:
        rate = send_all(
            prepared,
            folder,
            args.letters,
            args.connections,
            args.batch,
            processes=processes,
            profile=args.profile,
        )
    finally:
        prepared.engine.dispose()
    return rate, prepared.average_bytes


# ---------------------------------------------------------------------------------------------


def line(label: str, rate: float, letters: int, note: str = "") -> None:
    """One row of the results table."""
    print(f"{label:<62} {letters:>7,} {rate:>9,.0f}  {note}".rstrip(), flush=True)


def verdict(value: float, target: float) -> str:
    """PASS or BELOW the target."""
    return "PASS" if value >= target else "BELOW"


def main() -> int:
    """Run every measurement and print the table, the ratios and the verdicts."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--letters", type=int, default=5_000, help="letters per measurement")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="admin URL; a fresh database is created beside it and dropped after",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--connections", type=int, default=32, help="dispatch.connections")
    parser.add_argument(
        "--processes", type=int, default=2, help="also measure this many dispatcher processes"
    )
    parser.add_argument("--batch", type=int, default=500, help="dispatch.batch")
    parser.add_argument("--ceiling-runs", type=int, default=3, help="smtp-source runs (median)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only outreach on SQLite, under cProfile (event loop and database thread)",
    )
    args = parser.parse_args()
    if args.letters < 2:
        parser.error("--letters must be at least 2")
    try:
        with tempfile.TemporaryDirectory(prefix="outreach-bench-") as name:
            folder = Path(name)
            recipients_csv = folder / "recipients.csv"
            write_csv(recipients_csv, args.letters)
            if args.profile:
                rate, _ = outreach_on(f"sqlite:///{folder}/bench.db", folder, recipients_csv, args)
                print(f"\noutreach on SQLite under cProfile: {rate:,.0f} msg/s ({args.letters:,})")
                return 0
            return run_all(folder, recipients_csv, args)
    except BenchError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1


def run_all(folder: Path, recipients_csv: Path, args: argparse.Namespace) -> int:
    """The four measurements, then the ratios."""
    letters = args.letters
    print(f"Preparing {letters:,} approved letters on SQLite (not timed) ...", flush=True)
    sqlite = prepare(f"sqlite:///{folder}/bench.db", recipients_csv, letters)
    size = sqlite.average_bytes
    print(f"stored letters: {size:,} bytes on average (text + HTML parts)\n")
    print(f"{'measurement':<62} {'letters':>7} {'msg/s':>9}")
    ceilings: dict[int, float] = {}
    for length in (CEILING_BYTES, size):
        ceilings[length], rates = ceiling(folder, letters, length, args.ceiling_runs)
        runs = ", ".join(f"{rate:,.0f}" for rate in rates)
        line(f"ceiling: smtp-source -d -s {CEILING_SESSIONS} -l {length} → smtp-sink",
             ceilings[length], letters, f"(median of {runs})")  # fmt: skip
    top = ceilings[CEILING_BYTES]
    composer = Composer.load(settings_for("sqlite://", 25, 1, 1))
    people = records(letters)
    light = smtplib_loop(folder, people, composer, html=False)
    line("smtplib loop, text part only (Jinja2 + EmailMessage)", light, letters)
    base = smtplib_loop(folder, people, composer, html=True)
    line("baseline: smtplib loop, the same letter (text + HTML)", base, letters)
    results: dict[str, float] = {}
    try:
        results["SQLite"] = send_all(sqlite, folder, letters, args.connections, args.batch)
    finally:
        sqlite.engine.dispose()
    label = f"outreach {{}}: 1 process, {args.connections} connections"
    line(label.format("SQLite"), results["SQLite"], letters, "verified")
    many = f"outreach {{}}: {args.processes} processes, {args.connections} connections each"
    if args.processes > 1:
        name = f"SQLite x{args.processes}"
        results[name], _ = outreach_on(
            f"sqlite:///{folder}/bench-many.db", folder, recipients_csv, args, args.processes
        )
        line(many.format("SQLite"), results[name], letters, "verified")
    if not args.no_postgres:
        with fresh_postgres(args.postgres) as url:
            results["PostgreSQL"], _ = outreach_on(url, folder, recipients_csv, args)
        line(label.format("PostgreSQL"), results["PostgreSQL"], letters, "verified")
        if args.processes > 1:
            name = f"PostgreSQL x{args.processes}"
            with fresh_postgres(args.postgres) as url:
                results[name], _ = outreach_on(url, folder, recipients_csv, args, args.processes)
            line(many.format("PostgreSQL"), results[name], letters, "verified")
    print()
    for database, rate in results.items():
        floor, aim, same = rate / base, rate / top, rate / ceilings[size]
        print(
            f"{database:<14} outreach / smtplib loop = {floor:5.2f}x  (floor {FLOOR:.0f}x: "
            f"{verdict(floor, FLOOR)})   outreach / ceiling = {aim:.3f}  "
            f"(aim {AIM}: {verdict(aim, AIM)}; {same:.3f} of the {size:,}-byte ceiling)"
        )
    print(
        f"\nverified: each database shows {letters:,} letters sent, none in another state, "
        f"{letters:,} attempts; smtp-sink's counter took {letters:,} messages per run"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
