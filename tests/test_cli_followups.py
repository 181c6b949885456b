"""The follow-up commands end to end: declare, approve, plan and send, list with reasons."""

from __future__ import annotations

import datetime as dt
import email
import json
from email import policy
from pathlib import Path

import time_machine

from tests.smtp_server import SmtpServer
from tests.test_cli_campaigns import approve, project, run, server

__all__ = ["project", "server"]  # fixtures used by name below

# Seven weeks after the letters of the suite's Tuesday: ten working days have passed everywhere.
LATER = dt.datetime(2027, 1, 20, 12, 0, tzinfo=dt.UTC)


def create_sent(server: SmtpServer, *extra: str) -> None:
    created = run(
        "campaign",
        "create",
        "spring",
        "--where",
        "kind=embassy",
        "--window",
        "Mon-Sun 00:00-24:00",
        *extra,
    )
    assert created.exit_code == 0, created.output
    assert approve("spring").exit_code == 0
    assert "claimed 15: sent 15" in run("dispatch", "--once").output


def test_a_campaign_declares_its_follow_ups_when_created(project: Path) -> None:
    created = run(
        "campaign",
        "create",
        "spring",
        "--followup-after",
        "10 working days",
        "--followup-max",
        "2",
    )
    assert created.exit_code == 0, created.output
    assert "with 2 follow-up(s), each 10 working day(s) after the previous letter" in created.output
    status = json.loads(run("campaign", "status", "spring", "--json").output)
    assert status["followup_steps"] == [
        {"step": 1, "after_working_days": 10, "template": "followup", "approved": False},
        {"step": 2, "after_working_days": 10, "template": "followup", "approved": False},
    ]


def test_approving_the_campaign_approves_its_declared_steps(project: Path) -> None:
    assert run("campaign", "create", "spring", "--where", "kind=embassy").exit_code == 0
    declared = run("campaign", "followup", "spring", "--after", "10 working days")
    assert declared.exit_code == 0, declared.output
    assert "approving the campaign approves them" in declared.output
    assert approve("spring").exit_code == 0
    status = json.loads(run("campaign", "status", "spring", "--json").output)
    assert [step["approved"] for step in status["followup_steps"]] == [True]


def test_dispatch_plans_due_follow_ups_and_sends_them_threaded(
    project: Path, server: SmtpServer
) -> None:
    create_sent(server, "--followup-after", "10 working days")
    originals = {
        message.rcpt_tos[0]: email.message_from_bytes(message.data, policy=policy.default)
        for message in server.messages
    }
    with time_machine.travel(LATER, tick=False):
        dispatched = run("dispatch", "--once")
    assert "spring: 15 follow-up(s) planned, 0 could not be made" in dispatched.output
    assert "claimed 15: sent 15" in dispatched.output
    follow_ups = [
        email.message_from_bytes(message.data, policy=policy.default)
        for message in server.messages[15:]
    ]
    assert len(follow_ups) == 15
    for message in follow_ups:
        original = originals[message["To"].addresses[0].addr_spec]
        assert message["In-Reply-To"] == original["Message-ID"]
        assert message["References"] == original["Message-ID"]
        assert message["Subject"] == f"Re: {original['Subject']}"
    with time_machine.travel(LATER, tick=False):
        again = run("dispatch", "--once")
    assert "follow-up(s) planned" not in again.output
    assert len(server.messages) == 30


def test_followups_lists_sent_and_skipped_with_reasons(project: Path, server: SmtpServer) -> None:
    create_sent(server, "--followup-after", "10 working days")
    with time_machine.travel(LATER, tick=False):
        run("dispatch", "--once")
        listed = json.loads(run("campaign", "followups", "spring", "--json").output)
    statuses = {(row["step"], row["status"], row["reason"]) for row in listed}
    assert statuses == {
        (1, "sent", "sent"),
        (1, "skipped", "the letter was not sent (suppressed: do_not_contact)"),
        (1, "skipped", "the letter was not sent (suppressed: inactive)"),
        (2, "skipped", "step limit reached (1 follow-up(s))"),
    }
    assert sum(row["status"] == "sent" for row in listed) == 15


def test_followups_in_text_names_each_step_and_counts_the_statuses(
    project: Path, server: SmtpServer
) -> None:
    create_sent(server, "--followup-after", "10 working days")
    listed = run("campaign", "followups", "spring")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith("step 1: 10 working day(s) after the previous letter, templates")
    assert lines[-1] == "planned 15  skipped 2"


def test_a_delay_in_calendar_days_is_refused(project: Path) -> None:
    assert run("campaign", "create", "spring").exit_code == 0
    refused = run("campaign", "followup", "spring", "--after", "2 weeks")
    assert refused.exit_code == 64
    assert "--after '2 weeks': give a number of working days from 1 to 260, e.g. \"10" in (
        refused.output
    )


def test_a_missing_template_folder_is_named(project: Path) -> None:
    assert run("campaign", "create", "spring").exit_code == 0
    refused = run("campaign", "followup", "spring", "--after", "5", "--template", "reminder")
    assert refused.exit_code == 64
    folder = REPO_TEMPLATES / "nk-appeal-2023-03-07" / "reminder"
    assert f"{folder}: no follow-up templates" in refused.output


def test_steps_added_to_a_running_campaign_wait_for_approve(
    project: Path, server: SmtpServer
) -> None:
    create_sent(server)
    nothing = run("campaign", "approve", "spring")
    assert nothing.exit_code != 0
    assert "no follow-up step awaits approval" in nothing.output
    declared = run("campaign", "followup", "spring", "--after", "3")
    assert "they wait for approval: outreach campaign approve spring" in declared.output
    with time_machine.travel(LATER, tick=False):
        assert "follow-up(s) planned" not in run("dispatch", "--once").output
    approved = run("campaign", "approve", "spring")
    assert approved.exit_code == 0, approved.output
    assert "approved 1 follow-up step(s) of spring" in approved.output
    with time_machine.travel(LATER, tick=False):
        assert "spring: 15 follow-up(s) planned" in run("dispatch", "--once").output


REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def test_withdrawing_needs_no_delay(project: Path) -> None:
    assert run("campaign", "create", "spring", "--followup-after", "5").exit_code == 0
    withdrawn = run("campaign", "followup", "spring", "--max", "0")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert "spring: no follow-ups; those not yet sent were cancelled" in withdrawn.output
    assert json.loads(run("campaign", "status", "spring", "--json").output)["followup_steps"] == []


def test_declaring_steps_without_a_delay_is_refused(project: Path) -> None:
    assert run("campaign", "create", "spring").exit_code == 0
    refused = run("campaign", "followup", "spring", "--max", "2")
    assert refused.exit_code == 64
    assert '--after is needed, e.g. --after "10 working days" (or --max 0)' in refused.output


def test_a_cancelled_campaign_approves_no_follow_up(project: Path) -> None:
    assert run("campaign", "create", "spring", "--followup-after", "5").exit_code == 0
    assert run("campaign", "cancel", "spring", "--yes").exit_code == 0
    refused = run("campaign", "approve", "spring")
    assert refused.exit_code != 0
    assert "campaign spring is cancelled: it takes no follow-up" in refused.output
