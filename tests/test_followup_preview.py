"""Follow-ups are seen before they go: check renders every step, approval shows a sample of each."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result
from sqlmodel import Session, select

from outreach.cli import cli
from outreach.db import make_engine
from outreach.models import Campaign, Letter
from tests.test_cli_campaigns import TUESDAY

REPO = Path(__file__).resolve().parent.parent
SAMPLES = [str(REPO / "recipients/diplomats.csv"), str(REPO / "recipients/un-and-eu.yaml")]
FOLLOWUP = Path("templates/nk-appeal-2023-03-07/followup")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def approve(*args: str) -> Result:
    with time_machine.travel(TUESDAY, tick=True):
        return run("campaign", "approve", *args)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A campaign folder with its own copy of the templates, and embassies with a follow-up."""
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    assert run("init", "--templates", str(tmp_path / "templates")).exit_code == 0
    monkeypatch.setenv("OUTREACH_SENDER__ADDRESS", "appeal@outreach.example.org")
    assert run("recipients", "import", *SAMPLES).exit_code == 0
    created = run(
        "campaign", "create", "spring", "--where", "kind=embassy",
        "--followup-after", "10 working days",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    return tmp_path


def break_french_follow_up(project: Path) -> None:
    body = project / FOLLOWUP / "fr" / "body.txt.j2"
    body.write_text(body.read_text("utf-8") + "\n{{ recipient.no_such_field }}\n", "utf-8")


def test_check_renders_the_follow_up_for_every_recipient(project: Path) -> None:
    result = run("campaign", "check", "spring")
    assert result.exit_code == 0, result.output
    assert (
        "follow-up 1 (10 working day(s) after the previous letter): 15 rendered "
        "(en 9, de 2, ru 2, es 1, fr 1)" in result.output
    )


def test_check_names_each_recipient_whose_follow_up_cannot_be_made(project: Path) -> None:
    break_french_follow_up(project)
    result = run("campaign", "check", "spring")
    assert result.exit_code == 1
    assert re.search(
        r"problem: emb-fr-am-head: follow-up 1 in fr: .*no_such_field", result.output
    ), result.output
    assert "follow-up 1 (10 working day(s) after the previous letter): 14 rendered" in (
        result.output
    )
    assert "1 problem(s)" in result.output


def test_check_samples_prints_each_language_of_the_letter_and_the_follow_up(
    project: Path,
) -> None:
    result = run("campaign", "check", "spring", "--samples")
    assert result.exit_code == 0, result.output
    assert "--- first letter in fr, to emb-fr-am-head <ambassador.fr-am@example.org> ---" in (
        result.output
    )
    assert (
        "--- follow-up 1 in fr (10 working day(s) after the previous letter; sample), to "
        "emb-fr-am-head <ambassador.fr-am@example.org> ---" in result.output
    )
    assert "Nous nous permettons de revenir vers vous au sujet de notre lettre du" in result.output
    assert result.output.count("--- follow-up 1 in ") == 5


def test_approval_shows_a_sample_of_the_follow_up_in_each_language(project: Path) -> None:
    result = approve("spring")
    assert result.exit_code == 0, result.output
    samples = re.findall(r"--- follow-up 1 in (\w+) \(", result.output)
    assert samples == ["de", "en", "es", "fr", "ru"]
    assert "Subject: Re: " in result.output


def test_approval_refuses_a_follow_up_that_cannot_be_made(project: Path) -> None:
    break_french_follow_up(project)
    result = approve("spring")
    assert result.exit_code == 65
    assert re.search(
        r"error: emb-fr-am-head: follow-up 1 in fr: .*nothing was approved", result.output
    )
    with Session(make_engine("sqlite:///outreach.db")) as session:
        assert session.exec(select(Letter)).first() is None
        assert session.exec(select(Campaign)).one().state.value == "draft"


def test_steps_declared_after_approval_show_their_samples_when_approved(project: Path) -> None:
    run("campaign", "followup", "spring", "--after", "10", "--max", "0")
    assert approve("spring").exit_code == 0
    assert run("campaign", "followup", "spring", "--after", "5", "--max", "2").exit_code == 0
    result = approve("spring")
    assert result.exit_code == 0, result.output
    assert "approved 2 follow-up step(s) of spring" in result.output
    assert re.findall(r"--- follow-up (\d) in fr", result.output) == ["1", "2"]


def test_the_web_preview_shows_the_follow_up_in_each_language(
    cheap_hashing: None, world: object
) -> None:
    from outreach.campaign import get_campaign
    from outreach.db import session_scope
    from outreach.letter import Composer
    from outreach.steps import declare_steps
    from tests.test_web import World, client_for, sign_in

    assert isinstance(world, World)
    with session_scope(world.engine) as session:
        declare_steps(
            session,
            get_campaign(session, "spring"),
            Composer.load(world.settings),
            after_days=10,
            template="followup",
            count=1,
            actor="t",
        )
    with client_for(world) as client:
        sign_in(client, "anna")
        preview = client.get("/campaigns/spring/preview").text
    assert re.findall(r'id="followup-1-(\w+)"', preview) == ["de", "en", "es", "ru"]
    assert "Follow-up 1 in de" in preview
