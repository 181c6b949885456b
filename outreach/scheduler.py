"""`outreach run`: APScheduler 3.x wakes the dispatcher; the database decides what is due."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine

from outreach import clock
from outreach.config import Settings
from outreach.dispatch import Dispatcher, DispatchReport
from outreach.inbox.fetch import IntakeReport, fetch_imap
from outreach.planner import PlanReport, plan_all

log = logging.getLogger(__name__)


def build_scheduler(
    engine: Engine,
    settings: Settings,
    report: Callable[[DispatchReport], None],
    report_intake: Callable[[IntakeReport], None] = lambda _: None,
    report_followups: Callable[[dict[str, PlanReport]], None] = lambda _: None,
    dispatcher: Dispatcher | None = None,
    executor: ThreadPoolExecutor | None = None,
) -> BlockingScheduler:
    """A scheduler with the dispatch job, the follow-up planner and (with IMAP) the inbox poller.

    It keeps no state of its own: the database is the queue and the schedule (nothing to lose).
    """
    dispatcher = dispatcher or Dispatcher(engine, settings)
    scheduler = BlockingScheduler(
        timezone="UTC", executors={"default": executor or ThreadPoolExecutor()}
    )
    every(
        scheduler, "dispatch", settings.dispatch.poll_seconds, lambda: report(dispatcher.run_once())
    )
    every(
        scheduler,
        "followups",
        settings.dispatch.followup_seconds,
        lambda: report_followups(plan_all(engine, settings, clock.now())),
    )
    if settings.imap.username:
        every(
            scheduler,
            "inbox",
            settings.inbox.poll_seconds,
            lambda: report_intake(fetch_imap(engine, settings)),
        )
    return scheduler


def every(scheduler: BlockingScheduler, name: str, seconds: float, job: Callable[[], None]) -> None:
    """Run `job` at once, then every `seconds`; a failed run is logged and the next one retries."""

    def guarded() -> None:
        try:
            job()
        except Exception:  # an unreachable server or a bad run must not stop the other jobs
            log.exception("%s run failed; retrying at the next wake-up", name)

    scheduler.add_job(
        guarded,
        "interval",
        seconds=seconds,
        id=name,
        next_run_time=clock.now(),  # the first run at once, then every `seconds`
        coalesce=True,  # missed wake-ups collapse into one
        max_instances=1,  # never two runs of one job in one process
        misfire_grace_time=None,
    )


def run_forever(
    engine: Engine,
    settings: Settings,
    report: Callable[[DispatchReport], None],
    report_intake: Callable[[IntakeReport], None] = lambda _: None,
    report_followups: Callable[[dict[str, PlanReport]], None] = lambda _: None,
) -> None:
    """Run until SIGINT or SIGTERM; letters on the wire finish, claimed ones go back."""
    dispatcher, executor = Dispatcher(engine, settings), ThreadPoolExecutor()
    scheduler = build_scheduler(
        engine,
        settings,
        report,
        report_intake,
        report_followups,
        dispatcher=dispatcher,
        executor=executor,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        if dispatcher.stopping.is_set():  # a second signal while the first one is honoured
            log.info("signal %s: already stopping, after the letters on the wire", signum)
            return
        log.info("signal %s: stopping after the letters on the wire", signum)
        dispatcher.stopping.set()
        # Not wait=True here: that would block this handler, in the main thread, while the
        # job threads finish; start() returns and the executor is waited for below instead.
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
    executor.shutdown(wait=True)  # the jobs running when the signal came
