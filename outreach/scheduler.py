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

log = logging.getLogger(__name__)


def build_scheduler(
    engine: Engine, settings: Settings, report: Callable[[DispatchReport], None]
) -> BlockingScheduler:
    """A scheduler with the dispatch job; it keeps no state of its own (nothing to lose)."""
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
    return scheduler


def run_forever(
    engine: Engine, settings: Settings, report: Callable[[DispatchReport], None]
) -> None:
    """Run until SIGINT or SIGTERM; the running dispatch finishes its letters first."""
    scheduler = build_scheduler(engine, settings, report)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the current run", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
