"""The campaign commands end to end: create → check → approve → dispatch → status, and ad hoc send."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result

from outreach.cli import cli
from tests.smtp_server import Fault, SmtpServer

REPO = Path(__file__).resolve().parent.parent


# Approval plans each letter in its recipient's working hours; planning on the Tuesday before
# "now" makes every letter due by the time the test dispatches (weekends are skipped).
TUESDAY = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def approve(name: str) -> Result:
    with time_machine.travel(TUESDAY, tick=True):
        return run("campaign", "approve", name)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert run("init", "--templates", str(REPO / "templates")).exit_code == 0
    # The documented way to point a run at another server: OUTREACH_<SECTION>__<KEY>.
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    files = [str(REPO / "recipients/diplomats.csv"), str(REPO / "recipients/un-and-eu.yaml")]
    assert run("recipients", "import", *files).exit_code == 0
    return tmp_path


def test_create_check_approve_dispatch_status(project: Path, server: SmtpServer) -> None:
    created = run(
        "campaign", "create", "spring", "--where", "kind=embassy", "--window", "Mon-Sun 00:00-24:00"
    )
    assert created.exit_code == 0, created.output
    assert "created draft campaign spring" in created.output
    check = run("campaign", "check", "spring")
    assert check.exit_code == 0, check.output
    assert "letters: 15 to send" in check.output
    assert server.messages == []  # nothing is sent before approval
    approved = approve("spring")
    assert approved.exit_code == 0, approved.output
    assert (
        "approved spring: 15 letter(s) queued, 2 not written to, 0 left out (mailbox has the "
        "appeal, or shares it), 0 without a letter" in approved.output
    )
    dispatched = run("dispatch", "--once")
    assert "claimed 15: sent 15" in dispatched.output
    assert len(server.messages) == 15
    status = json.loads(run("campaign", "status", "spring", "--json").output)
    assert (status["state"], status["letters"]["sent"], status["letters"]["suppressed"]) == (
        "finished",
        15,
        2,
    )


def test_nothing_is_sent_before_approval(project: Path, server: SmtpServer) -> None:
    run("campaign", "create", "spring", "--window", "Mon-Sun 00:00-24:00")
    assert "claimed 0: nothing due" in run("dispatch", "--once").output
    assert server.messages == []


def test_approve_with_a_problem_lists_it_and_exits_65(project: Path) -> None:
    run("campaign", "create", "spring", "--where", "kind=mep")
    result = approve("spring")
    assert result.exit_code == 65
    assert "mep-999006: no e-mail address; nothing was approved" in result.output


def test_letters_list_and_show(project: Path, server: SmtpServer) -> None:
    run(
        "campaign",
        "create",
        "spring",
        "--where",
        "key=emb-fr-am-head",
        "--window",
        "Mon-Sun 00:00-24:00",
    )
    approve("spring")
    run("dispatch", "--once")
    [letter] = json.loads(run("letters", "list", "--campaign", "spring", "--json").output)
    assert (letter["recipient"], letter["state"], letter["language"]) == (
        "emb-fr-am-head",
        "sent",
        "fr",
    )
    shown = run("letters", "show", str(letter["id"]))
    assert "attempts:" in shown.output
    assert "sent      250" in shown.output
    eml = run("letters", "show", str(letter["id"]), "--eml").output
    assert f"Message-ID: {letter['message_id']}" in eml
    assert server.messages[0].message_id == letter["message_id"]


def test_resolving_a_letter_that_is_not_unknown_is_refused(project: Path) -> None:
    run(
        "campaign",
        "create",
        "spring",
        "--where",
        "key=emb-fr-am-head",
        "--window",
        "Mon-Sun 00:00-24:00",
    )
    approve("spring")
    result = run("letters", "resolve", "1", "--sent")
    assert result.exit_code == 1
    assert "error: letter 1 is queued: only an unknown letter is resolved" in result.output


def test_pause_resume_cancel(project: Path, server: SmtpServer) -> None:
    run(
        "campaign", "create", "spring", "--where", "kind=embassy", "--window", "Mon-Sun 00:00-24:00"
    )
    approve("spring")
    assert "spring is paused" in run("campaign", "pause", "spring", "--reason", "visit").output
    assert "paused: visit" in run("campaign", "status", "spring").output
    assert "claimed 0" in run("dispatch", "--once").output
    run("campaign", "resume", "spring")
    assert "spring is cancelled" in run("campaign", "cancel", "spring", "--yes").output
    assert run("dispatch", "--once").output.startswith("claimed 0")
    assert server.messages == []


def test_send_is_a_dry_run_by_default(project: Path, server: SmtpServer) -> None:
    result = run("send", "--to", "emb-fr-am-head")
    assert result.exit_code == 0
    assert "would send emb-fr-am-head <ambassador.fr-am@example.org> [fr]" in result.output
    assert "dry run: nothing was sent; add --no-dry-run to send 1 letter(s)" in result.output
    assert server.messages == []


def test_send_no_dry_run_sends_and_records(project: Path, server: SmtpServer) -> None:
    result = run("send", "--to", "emb-fr-am-head", "--no-dry-run")
    assert result.exit_code == 0, result.output
    assert "letter 1 to ambassador.fr-am@example.org: sent" in result.output
    assert len(server.messages) == 1


def test_send_twice_is_refused_without_again(project: Path, server: SmtpServer) -> None:
    run("send", "--to", "emb-fr-am-head", "--no-dry-run")
    result = run("send", "--to", "emb-fr-am-head", "--no-dry-run")
    assert (
        "this appeal already went to ambassador.fr-am@example.org (letter 1 of an ad hoc send, "
        'sent); add --again --reason "…" to send it once more' in result.output
    )
    assert len(server.messages) == 1


def test_send_to_a_suppressed_address_is_refused(project: Path, server: SmtpServer) -> None:
    run("recipients", "suppress", "ambassador.fr-am@example.org", "--reason", "asked")
    result = run("send", "--to", "ambassador.fr-am@example.org", "--no-dry-run")
    assert "not sent   emb-fr-am-head: address suppressed" in result.output
    assert server.messages == []


def test_send_to_an_address_outside_the_database(project: Path, server: SmtpServer) -> None:
    result = run("send", "--to", "someone@example.net", "--lang", "en", "--no-dry-run")
    assert result.exit_code == 0, result.output
    assert b"Dear Sir or Madam," in server.messages[0].data.replace(b"=\r\n", b"")


def start_run(project: Path, server: SmtpServer, *, until: int) -> subprocess.Popen[bytes]:
    """Approve a campaign to the 15 embassies, start `outreach run` and wait until the server
    has accepted `until` messages (or a minute has passed)."""
    run(
        "campaign", "create", "spring", "--where", "kind=embassy", "--window", "Mon-Sun 00:00-24:00"
    )
    approve("spring")
    process = subprocess.Popen(
        [sys.executable, "-m", "outreach", "--config", str(project / "outreach.toml"), "run"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while len(server.messages) < until and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


def test_outreach_run_sends_and_stops_on_sigterm(project: Path, server: SmtpServer) -> None:
    process = start_run(project, server, until=15)
    process.terminate()
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output.decode()
    assert len(server.messages) == 15
    assert b"claimed 15: sent 15" in output


def test_sigterm_twice_mid_batch_ends_run_cleanly_and_gives_back_the_letters_not_begun(
    project: Path, server: SmtpServer
) -> None:
    # A service manager stops `outreach run` while it is sending (and an impatient operator
    # presses Ctrl-C as well): no traceback, no letter left `sending` for a lease to expire
    # into `unknown`, and the next run sends the rest, none twice.
    server.script(*(Fault("after_data", delay=0.4) for _ in range(15)))
    process = start_run(project, server, until=2)
    process.terminate()
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output.decode()
    assert b"Traceback" not in output
    sent_by_the_first_run = len(server.messages)
    assert sent_by_the_first_run < 15
    status = json.loads(run("campaign", "status", "spring", "--json").output)["letters"]
    assert status.get("sending", 0) == status.get("unknown", 0) == 0
    assert status["sent"] == sent_by_the_first_run
    assert run("dispatch", "--once").exit_code == 0
    recipients = [message.rcpt_tos[0] for message in server.messages]
    assert len(recipients) == len(set(recipients)) == 15


def test_the_scheduler_plans_follow_ups_and_polls_the_inbox_only_when_imap_is_set(
    project: Path,
) -> None:
    from outreach.config import load_settings
    from outreach.db import make_engine
    from outreach.scheduler import build_scheduler

    settings = load_settings()
    engine = make_engine(settings.database.url)
    without = build_scheduler(engine, settings, report=lambda _: None)
    assert [job.id for job in without.get_jobs()] == ["dispatch", "followups"]
    with_imap = settings.model_copy(
        update={"imap": settings.imap.model_copy(update={"username": "appeal"})}
    )
    scheduler = build_scheduler(engine, with_imap, report=lambda _: None)
    assert [job.id for job in scheduler.get_jobs()] == ["dispatch", "followups", "inbox"]
    assert (
        scheduler.get_job("followups").trigger.interval.total_seconds()
        == settings.dispatch.followup_seconds
    )
    assert (
        scheduler.get_job("inbox").trigger.interval.total_seconds() == settings.inbox.poll_seconds
    )
