"""The data warnings where staff meet them: `check`, `campaign create/check/approve`, the preview.

Every warning names the recipient and the field; `[checks] block` makes the named ones refuse.
"""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from outreach.approval import approve_campaign
from outreach.campaign import CampaignError, create_campaign, get_campaign, letter_counts
from outreach.cli import cli
from outreach.config import ChecksSettings, Settings
from outreach.db import session_scope
from outreach.letter import Composer
from outreach.models import CampaignState
from outreach.recipients.importer import import_files
from outreach.recipients.lint import ListSurvey
from outreach.recipients.reader import read_records
from outreach.recipients.record import RecipientRecord
from outreach.recipients.table import survey_list
from outreach.web.app import create_app
from tests.samples import SAMPLE_CSV
from tests.test_web import World, error_of, sign_in

REPO = Path(__file__).resolve().parent.parent
SAMPLES = [REPO / "recipients" / "diplomats.csv", REPO / "recipients" / "un-and-eu.yaml"]
# Two embassies in Brussels with a mistake each, in the columns of the design notes' CSV.
MISTAKES = "\n".join(
    [
        SAMPLE_CSV.splitlines()[0],
        "emb-fr-be-head,embassy,ambassador,,f,Mr. Sophie,Lambert,Embassy of France in Belgium,"
        "FR,BE,Brussels,Europe/Brussels,ambassade.fr-be@example.org,fr,,",
        "emb-de-be-head,embassy,ambassador,,unknown,Alex,Beispiel,Embassy of Germany in Belgium,"
        "DE,BE,Brussels,Europe/Brussels,botschaft.de-be@example.org,de|en,,",
    ]
)
TITLE = (
    'emb-fr-be-head: given_name: "Mr. Sophie" contains the title "Mr.", which the form of '
    "address adds itself: remove it from the name (set courtesy_title and gender instead)"
)
GENDER = (
    "emb-de-be-head: gender: unknown, but the role ambassador has no neutral form of address "
    "in de, so the letter is written in en instead: set gender to m or f"
)
NOBODY = (
    "segment: city=Atlantis matches no recipient: check the filters with "
    "`outreach recipients list --where city=Atlantis`"
)
BOTH = ["--where", "key=emb-fr-be-head", "--where", "key=emb-de-be-head"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def lines(result: Result, prefix: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(prefix)]


@pytest.fixture
def mistakes(tmp_path: Path) -> Path:
    path = tmp_path / "mistakes.csv"
    path.write_text(MISTAKES + "\n", encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, mistakes: Path) -> Path:
    assert run("init", "--templates", str(REPO / "templates")).exit_code == 0
    imported = run("recipients", "import", *map(str, SAMPLES), str(mistakes))
    assert imported.exit_code == 0, imported.output
    return tmp_path


@pytest.fixture
def blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_CHECKS__BLOCK", '["all"]')


def test_check_prints_each_warning_and_their_count(project: Path) -> None:
    result = run("check", *BOTH)
    assert lines(result, "warning:") == [f"warning: {GENDER}", f"warning: {TITLE}"]
    assert "2 data warning(s)\n" in result.output
    assert result.exit_code == 0  # warnings alone do not fail the check


def test_check_exits_1_on_a_warning_that_blocks(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUTREACH_CHECKS__BLOCK", '["title_in_name"]')
    result = run("check", *BOTH)
    assert "2 data warning(s), 1 of them blocking the check (checks.block)" in result.output
    assert result.exit_code == 1


def test_check_warns_of_a_segment_that_matches_nobody(project: Path) -> None:
    result = run("check", "--where", "city=Atlantis")
    assert lines(result, "warning:") == [f"warning: {NOBODY}"]
    assert result.exit_code == 0


def test_campaign_create_warns_of_a_segment_that_matches_nobody(project: Path) -> None:
    result = run("campaign", "create", "spring", "--where", "city=Atlantis")
    assert lines(result, "warning:") == [f"warning: {NOBODY}"]
    assert "created draft campaign spring" in result.output
    assert result.exit_code == 0


def test_campaign_create_refuses_a_segment_that_matches_nobody_when_it_blocks(
    project: Path, blocking: None
) -> None:
    result = run("campaign", "create", "spring", "--where", "city=Atlantis")
    assert result.exit_code == 65
    assert f"error: 1 data warning(s) block creating it, the first: {NOBODY}; no campaign was " in (
        result.output
    )
    assert run("campaign", "list").output == ""


def test_campaign_check_prints_the_warnings_of_its_letters(project: Path) -> None:
    run("campaign", "create", "spring", *BOTH)
    result = run("campaign", "check", "spring")
    assert lines(result, "warning:") == [f"warning: {GENDER}", f"warning: {TITLE}"]
    assert result.output.endswith("2 data warning(s)\nno problems\n")
    assert result.exit_code == 0


def test_campaign_check_exits_1_on_a_warning_that_blocks(project: Path, blocking: None) -> None:
    run("campaign", "create", "spring", *BOTH)
    result = run("campaign", "check", "spring")
    assert result.output.endswith("2 data warning(s), 2 of them blocking approval (checks.block)\n")
    assert result.exit_code == 1


def test_campaign_approve_prints_the_warnings_and_approves(project: Path) -> None:
    run("campaign", "create", "spring", *BOTH)
    result = run("campaign", "approve", "spring")
    assert lines(result, "warning:") == [f"warning: {GENDER}", f"warning: {TITLE}"]
    assert "approved spring: 2 letter(s) queued" in result.output
    assert result.exit_code == 0


def test_a_blocking_warning_refuses_approval_and_nothing_is_approved(
    project: Path, blocking: None
) -> None:
    run("campaign", "create", "spring", *BOTH)
    result = run("campaign", "approve", "spring")
    assert lines(result, "warning:") == [f"warning: {GENDER}", f"warning: {TITLE}"]
    assert (
        f"error: 2 data warning(s) block approval, the first: {GENDER}; nothing was approved. "
        "Correct it, or take its check out of checks.block in the configuration"
    ) in result.output
    assert result.exit_code == 65
    status = run("campaign", "status", "spring")
    assert status.output.splitlines()[:2] == [
        "spring: draft (nk-appeal-2023-03-07, window Mon-Fri 09:00-12:00)",
        "no letters",
    ]


@pytest.fixture
def listed(engine: Engine, mistakes: Path) -> Engine:
    assert import_files(engine, [*SAMPLES, mistakes], actor="t").committed
    return engine


def test_the_survey_of_the_stored_list_is_that_of_its_records(
    listed: Engine, mistakes: Path
) -> None:
    records = [
        result
        for path in [*SAMPLES, mistakes]
        for result in read_records(path)
        if isinstance(result, RecipientRecord)
    ]
    with Session(listed) as session:
        stored = survey_list(session)
    expected = ListSurvey.of(records)
    assert (stored.names, stored.capitals, stored.domains) == (
        expected.names,
        expected.capitals,
        expected.domains,
    )


def approve(engine: Engine, settings: Settings) -> None:
    """Approve campaign "spring" in one transaction, as the command does."""
    with session_scope(engine) as session:
        campaign = get_campaign(session, "spring")
        approve_campaign(session, campaign, Composer.load(settings), actor="t", skip_problems=False)


def test_approval_refuses_a_blocking_warning_on_both_databases(listed: Engine) -> None:
    settings = Settings(
        paths={"templates": str(REPO / "templates")}, checks={"block": ["gender_needed"]}
    )
    with session_scope(listed) as session:
        create_campaign(
            session,
            "spring",
            appeal_slug="nk-appeal-2023-03-07",
            where=["host_country=BE", "kind=embassy"],
            window=None,
            start_at=None,
            closed_dates=[],
            actor="t",
        )
    with pytest.raises(CampaignError) as refused:
        approve(listed, settings)
    assert str(refused.value) == (
        f"1 data warning(s) block approval, the first: {GENDER}; nothing was approved. "
        "Correct it, or take its check out of checks.block in the configuration"
    )
    with Session(listed) as session:
        campaign = get_campaign(session, "spring")
        assert campaign.state is CampaignState.DRAFT
        assert sum(letter_counts(session, campaign.id).values()) == 0


@pytest.mark.usefixtures("cheap_hashing")
def test_the_approval_preview_shows_the_data_warnings(world: World, mistakes: Path) -> None:
    assert import_files(world.engine, [mistakes], actor="t").committed
    with TestClient(create_app(world.engine, world.settings)) as client:
        sign_in(client, "vera")
        page = html.unescape(client.get("/campaigns/spring/preview").text)
    assert "<h3>Data warnings (2)</h3>" in page
    assert f"<li>{GENDER}</li><li>{TITLE}</li>" in page
    assert "block approval" not in page


@pytest.mark.usefixtures("cheap_hashing")
def test_the_approval_preview_says_which_warnings_block_and_approval_refuses(
    world: World, mistakes: Path
) -> None:
    assert import_files(world.engine, [mistakes], actor="t").committed
    settings = world.settings.model_copy(update={"checks": ChecksSettings(block=["title_in_name"])})
    with TestClient(create_app(world.engine, settings)) as client:
        token = sign_in(client, "anna")
        page = client.get("/campaigns/spring/preview").text
        refused = client.post("/campaigns/spring/approve", data={"csrf_token": token})
    assert "1 of them block approval (<code>checks.block</code>)" in page
    status, message = error_of(refused)
    assert (status, message) == (
        409,
        f"1 data warning(s) block approval, the first: {TITLE}; nothing was approved. "
        "Correct it, or take its check out of checks.block in the configuration",
    )
