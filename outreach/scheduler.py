"""`outreach run`: APScheduler 3.x wakes the dispatcher; the database decides what is due."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from outreach import clock
from outreach.config import Settings
from outreach.dispatch import Dispatcher, DispatchReport
from outreach.inbox.fetch import IntakeReport, fetch_imap

log = logging.getLogger(__name__)


def build_scheduler(
    engine: Engine,
    settings: Settings,
    report: Callable[[DispatchReport], None],
    report_intake: Callable[[IntakeReport], None] = lambda _: None,
) -> BlockingScheduler:
    """A scheduler with the dispatch job (and the inbox poller when IMAP is configured).

    It keeps no state of its own: the database is the queue and the schedule (nothing to lose).
    """
    dispatcher = Dispatcher(engine, settings)
    scheduler = BlockingScheduler(timezone="UTC")

    def dispatch_job() -> None:
        try:
            report(dispatcher.run_once())
        except Exception:  # one bad run must not stop the scheduler; the next run retries
            log.exception("dispatch run failed; retrying at the next wake-up")

    scheduler.add_job(
        dispatch_job,
        "interval",
        seconds=settings.dispatch.poll_seconds,
        id="dispatch",
        next_run_time=clock.now(),  # the first run at once, then every poll_seconds
        coalesce=True,  # missed wake-ups collapse into one
        max_instances=1,  # never two dispatch runs in one process
        misfire_grace_time=None,
    )
    if settings.imap.username:

        def inbox_job() -> None:
            try:
                report_intake(fetch_imap(engine, settings))
            except Exception:  # an unreachable mailbox must not stop the sending
                log.exception("inbox fetch failed; retrying at the next wake-up")

        scheduler.add_job(
            inbox_job,
            "interval",
            seconds=settings.inbox.poll_seconds,
            id="inbox",
            next_run_time=clock.now(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
    return scheduler


def run_forever(
    engine: Engine,
    settings: Settings,
    report: Callable[[DispatchReport], None],
    report_intake: Callable[[IntakeReport], None] = lambda _: None,
) -> None:
    """Run until SIGINT or SIGTERM; the running dispatch finishes its letters first."""
    scheduler = build_scheduler(engine, settings, report, report_intake)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current run", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
