"""The letter commands end to end: appeals list, preview and check (nothing is sent)."""

from __future__ import annotations

import email
import json
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from outreach.cli import cli

REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert run("init", "--templates", str(REPO / "templates")).exit_code == 0
    result = run(
        "recipients",
        "import",
        str(REPO / "recipients/diplomats.csv"),
        str(REPO / "recipients/un-and-eu.yaml"),
    )
    assert result.exit_code == 0, result.output
    return tmp_path


def test_appeals_list_shows_the_seed_appeal(project: Path) -> None:
    [appeal] = json.loads(run("appeals", "list", "--json").output)
    assert (appeal["slug"], appeal["date"], appeal["default_language"]) == (
        "nk-appeal-2023-03-07",
        "2023-03-07",
        "en",
    )
    assert appeal["unreviewed"] == ["fr", "de", "ru", "es"]


def test_preview_shows_the_text_with_its_subject(project: Path) -> None:
    result = run("preview", "--recipient", "emb-fr-am-head")
    assert result.exit_code == 0
    assert result.output.startswith("Subject: Déclaration commune")
    assert "Madame l'Ambassadrice," in result.output


def test_preview_in_another_language(project: Path) -> None:
    result = run("preview", "--recipient", "emb-fr-am-head", "--lang", "en")
    assert "\nYour Excellency,\n" in result.output


def test_preview_eml_is_the_message_as_sent(project: Path) -> None:
    result = run("preview", "--recipient", "pm-lv-unny", "--format", "eml")
    message = email.message_from_string(result.output, policy=policy.default)
    assert message["To"] == "Līga Piemēra <mission.lv-unny@example.org>"
    assert message.get_content_type() == "multipart/alternative"


def test_preview_html(project: Path) -> None:
    result = run("preview", "--recipient", "pm-lv-unny", "--format", "html")
    assert result.output.lstrip().lower().startswith("<!doctype html>")


def test_preview_without_recipient_or_out_says_what_to_give(project: Path) -> None:
    result = run("preview")
    assert result.exit_code == 64
    assert "error: give --recipient KEY to show one letter, or --out DIR" in result.output


def test_preview_out_writes_one_eml_per_recipient_of_the_segment(project: Path) -> None:
    result = run("preview", "--where", "kind=mep", "--out", "letters")
    assert result.exit_code == 1  # one MEP has no e-mail address
    assert "mep-999006: no e-mail address" in result.output
    written = sorted(path.name for path in (project / "letters").iterdir())
    assert written == [
        "mep-999001-office.eml",
        "mep-999001.eml",
        "mep-999002.eml",
        "mep-999003.eml",
        "mep-999004.eml",
        "mep-999005.eml",
        "mep-999007.eml",
    ]


def test_check_lists_every_problem_and_exits_1(project: Path) -> None:
    result = run("check")
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "problem: mep-999006: no e-mail address"
    assert "46 letter(s) ready: en 31, fr 6, de 4, es 3, ru 2" in result.output
    assert "not written to: do_not_contact 1, inactive 1" in result.output


def test_check_of_a_clean_segment_exits_0(project: Path) -> None:
    result = run("check", "--where", "kind=embassy")
    assert result.exit_code == 0
    assert result.output.rstrip().endswith("no problems")


def test_check_reports_a_template_error_for_each_recipient(project: Path, tmp_path: Path) -> None:
    import shutil

    templates = tmp_path / "broken"
    shutil.copytree(REPO / "templates", templates)
    (templates / "nk-appeal-2023-03-07/letter/en/body.txt.j2").write_text("{{ oops }}\n", "utf-8")
    (project / "outreach.toml").write_text(
        (project / "outreach.toml")
        .read_text("utf-8")
        .replace(str(REPO / "templates"), str(templates)),
        "utf-8",
    )
    result = run("check", "--where", "kind=un_special_procedure")
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("problem:")]
    assert len(problems) == 4
    assert all("'oops' is undefined" in line for line in problems)


def test_an_unknown_appeal_is_named(project: Path) -> None:
    result = run("check", "--appeal", "no-such-appeal")
    assert result.exit_code == 65
    assert "no-such-appeal: not an appeal folder: it has no appeal.yaml" in result.output
