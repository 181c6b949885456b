"""The dispatcher: claim due letters → envelope → commit `sending` → DATA → record. Never raises
for one letter: every failure becomes a state with its reason."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import secrets
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from outreach import clock, outbox
from outreach.addresses import WireAddress, encode_address
from outreach.campaign import finish_done
from outreach.config import Settings
from outreach.crashpoint import reach
from outreach.db import SQLITE_BEGIN
from outreach.errors import OutreachError
from outreach.message import plus_address
from outreach.models import AttemptOutcome, LetterState
from outreach.pace import Pace, admit
from outreach.pause import FailureMark, PauseLimits, account_failures
from outreach.policy import (
    FailureKind,
    SmtpOutcome,
    Stage,
    classify,
    failure_kind,
    next_attempt,
    readable,
)
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
        self.limits = PauseLimits(dispatch.max_consecutive_failures, dispatch.max_policy_rejections)
        self.writer: Writer | None = None
        self.recording: set[asyncio.Task[None]] = set()
        self.no_failures: set[int | None] = set()  # campaigns whose failure count is 0
        self.probes: dict[int | None, asyncio.Lock] = {}  # one letter at a time while failing
        # Set from another thread (SIGTERM of `outreach run`): the letters on the wire finish;
        # claimed letters not yet begun go back to the queue instead of waiting out a lease.
        self.stopping = threading.Event()

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
        self.probes = {}  # asyncio locks belong to the loop of this run
        try:
            while not self.stopping.is_set() and (
                letters := await self.db(self.claim_batch, only, report)
            ):
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
                if letter.campaign_id in report.paused or self.stopping.is_set():
                    await self.db(outbox.release, letter.id, self.worker, self.now())
                    report.released += 1
                    continue
                await self.deliver(transport, letter, report)
        finally:
            await transport.close()

    async def deliver(
        self, transport: SmtpTransport, letter: outbox.Claimed, report: DispatchReport
    ) -> None:
        """Send one letter, one at a time while its campaign's last attempt failed."""
        if letter.campaign_id in self.no_failures:
            await self.attempt(transport, letter, report, wait=False)
            return
        # Failing (or not yet known in this run): the campaign's letters go one by one, each
        # recorded before the next, so a server refusing us sees at most the pause limit of
        # attempts instead of that plus one per parallel connection.
        async with self.probes.setdefault(letter.campaign_id, asyncio.Lock()):
            if letter.campaign_id in report.paused:
                await self.db(outbox.release, letter.id, self.worker, self.now())
                report.released += 1
                return
            await self.attempt(transport, letter, report, wait=True)

    async def attempt(
        self,
        transport: SmtpTransport,
        letter: outbox.Claimed,
        report: DispatchReport,
        *,
        wait: bool,
    ) -> None:
        """Envelope, commit `sending`, DATA, record: whatever fails, only this letter's state."""
        started = self.now()
        try:
            if not transport.connected:
                await guarded(Stage.CONNECT, transport.connect())
            await guarded(Stage.ENVELOPE, self.envelope(transport, letter))
        except TransportError as error:
            await self.finish(letter, error.outcome, started, report, counted=False, wait=wait)
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
            outcome = await guarded(Stage.DATA, transport.data(letter.mime))
        except TransportError as error:
            outcome = error.outcome
            await (transport.reset() if outcome.code else transport.close())
        reach("after_data_reply")
        await self.finish(letter, outcome, started, report, counted=True, wait=wait)

    async def envelope(self, transport: SmtpTransport, letter: outbox.Claimed) -> None:
        """MAIL FROM and RCPT TO in their wire forms, with SMTPUTF8 when the letter needs it."""
        # Converted here, not only when the letter was made: rows approved before punycode
        # was applied, or written by other means, hold the address as it was imported.
        recipient = encode_address(letter.to_address)
        sender = self.sender_for(letter)
        # RFC 6531 §3.2: SMTPUTF8 for a non-ASCII mailbox in the envelope or UTF-8 headers
        # (RFC 6532); the stored bytes are otherwise 7-bit, so any byte above 127 means that.
        smtputf8 = recipient.smtputf8 or sender.smtputf8 or not letter.mime.isascii()
        await transport.envelope(sender.address, recipient.address, smtputf8=smtputf8)

    def sender_for(self, letter: outbox.Claimed) -> WireAddress:
        """The envelope sender: `appeal+TOKEN@domain` (VERP, so bounces carry the token)."""
        sender = encode_address(self.settings.sender.address)
        if not self.settings.letters.plus_addressing:
            return sender
        return WireAddress(plus_address(sender.address, letter.token), sender.smtputf8)

    async def finish(
        self,
        letter: outbox.Claimed,
        smtp: SmtpOutcome,
        started: dt.datetime,
        report: DispatchReport,
        *,
        counted: bool,
        wait: bool = False,
    ) -> None:
        """Record the attempt and the letter's new state; pause the campaign if it must."""
        now = self.now()
        result = classify(smtp)
        jitter = self.random.random()
        reason = smtp.text if smtp.local else None
        tries = letter.attempts + 1
        deadline: dt.datetime | None
        limit = self.settings.dispatch.max_policy_rejections
        if failure_kind(smtp) is FailureKind.POLICY and tries >= limit:
            # Refused this often, and others went meanwhile (or the campaign would have
            # paused): this mailbox's server will not take it (5.7.1 "access denied" is one
            # mailbox's restriction too). Failed, rather than tried for ever.
            deadline, retry_at = letter.deadline or started, None
            reason = f"refused {tries} times, the last for a policy reason: {smtp.text}"[:1000]
        elif failure_kind(smtp) is FailureKind.POLICY:
            # Refused for who sends it: the letter waits for the sender's standing to be
            # repaired (its run pauses the campaign). It neither starts nor spends the
            # letter's retry deadline, which measures the recipient's server, so it is never
            # burned as failed for it and goes when the campaign resumes.
            deadline = letter.deadline
            retry_at = next_attempt(tries, now, None, jitter)
        else:
            deadline = letter.deadline or started + self.retry
            retry_at = None
            if result is AttemptOutcome.DEFERRED:
                retry_at = next_attempt(tries, now, deadline, jitter)
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
            reason=reason,
        )
        recorded = self.settle(
            self.writer_for().each(self.record, (letter.campaign_id, outcome, smtp)), report
        )
        if result is AttemptOutcome.SENT and not wait:
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
        marks = [
            FailureMark(campaign, failure_kind(smtp), f"{smtp.code or ''} {smtp.text}".strip())
            for campaign, _, smtp in items
        ]
        # Most groups are all successes for campaigns whose failure count is known to be 0:
        # nothing to count, so no statement at all.
        campaigns = {mark.campaign_id for mark in marks}
        paused: set[int] = set()
        if any(mark.kind for mark in marks) or campaigns - self.no_failures:
            paused = account_failures(connection, marks, self.limits)
            for campaign in campaigns:  # the count is now 0 where the last attempt succeeded
                if failed_last(marks, campaign):
                    self.no_failures.discard(campaign)
                else:
                    self.no_failures.add(campaign)
        return [(state, paused) for state in states]


def failed_last(marks: list[FailureMark], campaign: int | None) -> bool:
    """Whether the campaign's last attempt in the group counts towards a pause."""
    return [mark.kind for mark in marks if mark.campaign_id == campaign][-1] is not None


async def guarded(stage: Stage, step: Awaitable[T]) -> T:
    """Await one step of a delivery; an unexpected exception becomes this letter's outcome.

    One letter that cannot be sent never stops the run nor touches another letter's state
    (RELIABILITY.md): a bug, or data no check foresaw, is recorded on the letter that met it,
    as a local failure at the stage it happened (`policy.classify` says what that means).
    """
    try:
        return await step
    except TransportError:
        raise
    except Exception as error:
        # Our own refusal (an address that does not validate) says it all; anything else is
        # named with its type, for a bug report.
        cause = (
            str(error)
            if isinstance(error, OutreachError)
            else f"outreach failed: {type(error).__name__}: {error}"
        )
        text = (
            f"{cause}, after DATA began: it may have arrived"
            if stage is Stage.DATA
            else f"not sent: {cause}"
        )
        raise TransportError(SmtpOutcome(stage, None, readable(text), local=True)) from error
