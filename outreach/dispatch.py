"""The dispatcher: claim due letters → envelope → commit `sending` → DATA → record. Never raises
for one letter: every failure becomes a state with its reason."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from outreach import clock, outbox
from outreach.campaign import account_failures, finish_done
from outreach.config import Settings
from outreach.crashpoint import reach
from outreach.db import SQLITE_BEGIN
from outreach.message import plus_address
from outreach.models import AttemptOutcome, LetterState
from outreach.pace import Pace, admit
from outreach.policy import SmtpOutcome, classify, is_connection_failure, next_attempt
from outreach.transport import SmtpTransport, TransportError
from outreach.writer import Writer

T = TypeVar("T")


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop where it exists (about a fifth more letters per second), else asyncio."""
    try:
        import uvloop
    except ImportError:  # Windows, or an install without it
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def default_worker() -> str:
    """A name unique to this process: a restarted worker must never pass for the old one."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class DispatchReport:
    """What one run did."""

    claimed: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)
    released: int = 0
    recovered_unknown: int = 0
    suppressed: int = 0
    paused: set[int] = field(default_factory=set)
    next_due: dt.datetime | None = None

    def count(self, state: str) -> None:
        """Add one letter to the tally of a final state of this run."""
        self.by_outcome[state] = self.by_outcome.get(state, 0) + 1


class Dispatcher:
    """Sends what the database says is due, over a few reused SMTP connections."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        worker: str | None = None,
        now: Callable[[], dt.datetime] = clock.now,
    ) -> None:
        self.engine = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        self.settings = settings
        self.worker = worker or default_worker()
        self.now = now
        dispatch = settings.dispatch
        self.lease = dt.timedelta(seconds=dispatch.lease_seconds)
        self.retry = dt.timedelta(hours=dispatch.retry_hours)
        self.pace = Pace(dispatch.rate_per_minute, dispatch.domain_rate_per_minute)
        self.random = random.Random()  # for jitter, not for security
        self.writer: Writer | None = None
        self.recording: set[asyncio.Task[None]] = set()
        self.no_failures: set[int | None] = set()  # campaigns whose failure count is 0

    def run_once(self, *, only: list[int] | None = None) -> DispatchReport:
        """Send every letter due now (within the pace), then return."""
        return run_loop(self.drain(only))

    async def db(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(connection, *args)` on the database thread, group-committed."""
        return await self.writer_for().call(function, *args)

    async def drain(self, only: list[int] | None) -> DispatchReport:
        """Claim batches until nothing is due or the pace says wait."""
        report = DispatchReport()
        self.writer = Writer(self.engine, asyncio.get_running_loop())
        try:
            while letters := await self.db(self.claim_batch, only, report):
                report.claimed += len(letters)
                reach("after_claim")
                queue: asyncio.Queue[outbox.Claimed] = asyncio.Queue()
                for letter in letters:
                    queue.put_nowait(letter)
                connections = min(self.settings.dispatch.connections, len(letters))
                await asyncio.gather(*(self.work(queue, report) for _ in range(connections)))
                await asyncio.gather(*self.recording)
            await self.db(finish_done)
            report.next_due = await self.db(outbox.next_due)
        finally:
            self.writer.close()
            self.writer = None
        return report

    def claim_batch(
        self, connection: Connection, only: list[int] | None, report: DispatchReport
    ) -> list[outbox.Claimed]:
        """Settle dead workers' letters, apply new suppressions, then claim within the pace."""
        now = self.now()
        _, unknown = outbox.recover_expired(connection, now)
        report.recovered_unknown += unknown
        report.suppressed += outbox.suppress_waiting(connection, now)
        size = self.settings.dispatch.batch
        paced = self.pace.per_minute or self.pace.per_domain
        candidates = outbox.due_candidates(connection, now, size * 4 if paced else size, only)
        candidates = [c for c in candidates if c[2] not in report.paused]
        total, by_domain = outbox.recent_load(connection, now)
        ids = admit([(c[0], c[1]) for c in candidates], self.pace, total, by_domain)[:size]
        return outbox.claim(connection, ids, self.worker, now, self.lease)

    async def work(self, queue: asyncio.Queue[outbox.Claimed], report: DispatchReport) -> None:
        """One connection's share of the batch."""
        transport = SmtpTransport(self.settings.smtp)
        try:
            while not queue.empty():
                letter = queue.get_nowait()
                if letter.campaign_id in report.paused:
                    await self.db(outbox.release, letter.id, self.worker, self.now())
                    report.released += 1
                    continue
                await self.deliver(transport, letter, report)
        finally:
            await transport.close()

    async def deliver(
        self, transport: SmtpTransport, letter: outbox.Claimed, report: DispatchReport
    ) -> None:
        """Send one letter, committing `sending` just before DATA."""
        started = self.now()
        sender = self.settings.sender.address
        if self.settings.letters.plus_addressing:
            sender = plus_address(sender, letter.token)  # VERP: bounces carry the token
        try:
            if not transport.connected:
                await transport.connect()
            await transport.envelope(sender, letter.to_address)
        except TransportError as error:
            await self.finish(letter, error.outcome, started, report, counted=False)
            await (
                transport.reset()
                if error.outcome.code and transport.connected
                else transport.close()
            )
            return
        reach("after_rcpt")
        if not await self.writer_for().each(self.mark_sending, letter.id):
            # Suppressed, paused or taken over since the claim: this letter must not go now.
            await transport.reset()
            await self.db(outbox.release, letter.id, self.worker, self.now())
            report.released += 1
            return
        reach("after_sending_commit")
        try:
            outcome = await transport.data(letter.mime)
        except TransportError as error:
            outcome = error.outcome
            await (transport.reset() if outcome.code else transport.close())
        reach("after_data_reply")
        await self.finish(letter, outcome, started, report, counted=True)

    async def finish(
        self,
        letter: outbox.Claimed,
        smtp: SmtpOutcome,
        started: dt.datetime,
        report: DispatchReport,
        *,
        counted: bool,
    ) -> None:
        """Record the attempt and the letter's new state; pause the campaign if it must."""
        now = self.now()
        result = classify(smtp)
        deadline = letter.deadline or started + self.retry
        retry_at = None
        if result is AttemptOutcome.DEFERRED:
            retry_at = next_attempt(letter.attempts + 1, now, deadline, self.random.random())
        outcome = outbox.Outcome(
            letter_id=letter.id,
            worker=self.worker,
            outcome=result,
            started_at=started,
            finished_at=now,
            domain=letter.domain,
            smtp_code=smtp.code,
            enhanced_code=smtp.enhanced_code,
            reply=smtp.text,
            retry_at=retry_at,
            deadline=deadline,
            counted_attempt=counted,
        )
        recorded = self.settle(
            self.writer_for().each(self.record, (letter.campaign_id, outcome, smtp)), report
        )
        if result is AttemptOutcome.SENT:
            # The connection may go on to its next letter while this record commits: if the
            # process dies first the letter stays `sending` and becomes `unknown`, never resent.
            task = asyncio.create_task(recorded)
            self.recording.add(task)
            task.add_done_callback(self.recording.discard)
        else:
            await recorded  # a failure may pause the campaign: know it before the next letter

    async def settle(
        self, recorded: Awaitable[tuple[LetterState, set[int]]], report: DispatchReport
    ) -> None:
        """Wait for a record to commit and add it to the report."""
        state, paused = await recorded
        report.count(state.value)
        report.paused |= paused

    def writer_for(self) -> Writer:
        """The running writer."""
        assert self.writer is not None
        return self.writer

    def mark_sending(self, connection: Connection, ids: list[int]) -> list[bool]:
        """A group's `sending` marks, in one statement: which letters may go."""
        marked = outbox.mark_sending(connection, ids, self.worker, self.now(), self.lease)
        return [letter_id in marked for letter_id in ids]

    def record(
        self,
        connection: Connection,
        items: list[tuple[int | None, outbox.Outcome, SmtpOutcome]],
    ) -> list[tuple[LetterState, set[int]]]:
        """A group's attempts, letter states and campaign failure counts, together."""
        states = outbox.record(connection, [outcome for _, outcome, _ in items])
        attempts = [
            (campaign, is_connection_failure(smtp), f"{smtp.code or ''} {smtp.text}".strip())
            for campaign, _, smtp in items
        ]
        # Most groups are all successes for campaigns whose failure count is known to be 0:
        # nothing to count, so no statement at all.
        campaigns = {campaign for campaign, _, _ in attempts}
        paused: set[int] = set()
        if any(failed for _, failed, _ in attempts) or campaigns - self.no_failures:
            limit = self.settings.dispatch.max_consecutive_failures
            paused = account_failures(connection, attempts, limit)
            for campaign in campaigns:  # the count is now 0 where the last attempt succeeded
                if failed_last(attempts, campaign):
                    self.no_failures.discard(campaign)
                else:
                    self.no_failures.add(campaign)
        return [(state, paused) for state in states]


def failed_last(attempts: list[tuple[int | None, bool, str]], campaign: int | None) -> bool:
    """Whether the campaign's last attempt in the group was a connection failure."""
    return [failed for c, failed, _ in attempts if c == campaign][-1]
