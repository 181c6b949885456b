"""The dispatcher: claim due letters → envelope → commit `sending` → DATA → record. Never raises
for one letter: every failure becomes a state with its reason."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import secrets
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from outreach import clock, outbox
from outreach.campaign import after_attempt, finish_done
from outreach.config import Settings
from outreach.crashpoint import reach
from outreach.db import SQLITE_BEGIN
from outreach.message import plus_address
from outreach.models import AttemptOutcome, LetterState
from outreach.pace import Pace, admit
from outreach.policy import SmtpOutcome, classify, is_connection_failure, next_attempt
from outreach.transport import SmtpTransport, TransportError

T = TypeVar("T")


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
        self.pace = Pace(dispatch.rate_per_minute, dispatch.domain_rate_per_minute)
        self.random = random.Random()
        self.executor: ThreadPoolExecutor | None = None

    def run_once(self, *, only: list[int] | None = None) -> DispatchReport:
        """Send every letter due now (within the pace), then return."""
        return asyncio.run(self.drain(only))

    def transaction(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(connection, *args)` in one committed transaction."""
        with self.engine.begin() as connection:
            return function(connection, *args)

    async def db(self, function: Callable[..., T], *args: Any) -> T:
        """The same, on the one database thread, so SMTP I/O goes on meanwhile."""
        assert self.executor is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.transaction, function, *args)

    async def drain(self, only: list[int] | None) -> DispatchReport:
        """Claim batches until nothing is due or the pace says wait."""
        report = DispatchReport()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outreach-db")
        try:
            while letters := await self.db(self.claim_batch, only, report):
                report.claimed += len(letters)
                reach("after_claim")
                queue: asyncio.Queue[outbox.Claimed] = asyncio.Queue()
                for letter in letters:
                    queue.put_nowait(letter)
                connections = min(self.settings.dispatch.connections, len(letters))
                await asyncio.gather(*(self.work(queue, report) for _ in range(connections)))
            await self.db(finish_done)
            report.next_due = await self.db(outbox.next_due)
        finally:
            self.executor.shutdown(wait=True)
            self.executor = None
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
        if not await self.db(outbox.mark_sending, letter.id, self.worker, self.now(), self.lease):
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
        retry_at = None
        if result is AttemptOutcome.DEFERRED:
            retry_at = next_attempt(letter.attempts + 1, now, letter.deadline, self.random.random())
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
            counted_attempt=counted,
        )
        state, paused = await self.db(self.record, letter.campaign_id, outcome, smtp)
        report.count(state.value if state else "lost")
        if paused and letter.campaign_id is not None:
            report.paused.add(letter.campaign_id)

    def record(
        self,
        connection: Connection,
        campaign_id: int | None,
        outcome: outbox.Outcome,
        smtp: SmtpOutcome,
    ) -> tuple[LetterState | None, bool]:
        """The attempt, the letter's state and the campaign's failure count, in one transaction."""
        state = outbox.record(connection, outcome)
        paused = after_attempt(
            connection,
            campaign_id,
            connection_failed=is_connection_failure(smtp),
            limit=self.settings.dispatch.max_consecutive_failures,
            error=f"{smtp.code or ''} {smtp.text}".strip(),
        )
        return state, paused
