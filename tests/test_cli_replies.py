"""The reply commands end to end: inbox import, replies list / show / match / code."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlmodel import Session

from outreach.cli import cli
from outreach.config import load_settings
from outreach.db import make_engine
from tests.test_inbox import DATA, TRUSTED, sent_letters

REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert run("init", "--templates", str(REPO / "templates")).exit_code == 0
    monkeypatch.setenv("OUTREACH_SENDER__ADDRESS", "appeal@outreach.example.org")
    monkeypatch.setenv("OUTREACH_INBOX__TRUSTED_DOMAINS", json.dumps(TRUSTED))
    sent_letters(make_engine(load_settings().database.url))
    replies = tmp_path / "exported"
    replies.mkdir()
    for name in (
        "01-postfix-user-unknown.eml",
        "18-outlook-reply-supports-fact-finding.eml",
        "30-reply-matched-by-sender-only.eml",
    ):
        shutil.copy(DATA / name, replies / name)
    unmatched = (DATA / "18-outlook-reply-supports-fact-finding.eml").read_bytes()
    unmatched = unmatched.replace(b"In-Reply-To:", b"X-Was-In-Reply-To:").replace(
        b"References:", b"X-Was-References:"
    )
    unmatched = unmatched.replace(b"appeal+p3n6r2w5cd@", b"appeal@").replace(
        b"Message-ID: <", b"Message-ID: <copy-"
    )
    unmatched = unmatched.replace(
        b"From: ", b"From: stranger <stranger@example.com>\r\nX-Old-From: ", 1
    )
    (replies / "99-unmatched.eml").write_bytes(unmatched)
    return tmp_path


def test_inbox_import_takes_in_a_folder_of_eml_files(project: Path) -> None:
    result = run("inbox", "import", str(project / "exported"))
    assert result.exit_code == 0, result.output
    assert (
        "taken in 4 (bounce 1, reply 3); duplicates 0; unmatched 1; quarantined 0" in result.output
    )
    again = run("inbox", "import", str(project / "exported"))
    assert "taken in 0 (nothing new); duplicates 4" in again.output


def test_replies_list_filters(project: Path) -> None:
    run("inbox", "import", str(project / "exported"))
    every = json.loads(run("replies", "list", "--json").output)
    assert [row["kind"] for row in every] == ["bounce", "reply", "reply", "reply"]
    [unmatched] = json.loads(run("replies", "list", "--unmatched", "--json").output)
    assert unmatched["sender"] == "stranger@example.com"
    assert [
        row["kind"]
        for row in json.loads(run("replies", "list", "--kind", "bounce", "--json").output)
    ] == ["bounce"]
    uncoded = json.loads(run("replies", "list", "--uncoded", "--json").output)
    assert len(uncoded) == 2
    weak = [row for row in every if row["match"] == "sender"]
    assert [row["review"] for row in weak] == [True]


def test_code_then_show_then_recode(project: Path) -> None:
    run("inbox", "import", str(project / "exported"))
    reply = next(
        row
        for row in json.loads(run("replies", "list", "--json").output)
        if row["match"] in ("token", "in_reply_to") and row["kind"] == "reply"
    )
    coded = run(
        "replies",
        "code",
        str(reply["id"]),
        "--demand",
        "un-fact-finding=supports",
        "--evidence",
        "We fully support the call",
        "--demand",
        "icj-order=not_addressed",
        "--evidence",
        "",
    )
    assert coded.exit_code == 0, coded.output
    assert coded.output.splitlines() == ["un-fact-finding: supports", "icj-order: not_addressed"]
    shown = run("replies", "show", str(reply["id"])).output
    assert 'position    un-fact-finding=supports "We fully support the call"' in shown
    assert "suggested   un-fact-finding (not counted until coded)" in shown
    run("replies", "code", str(reply["id"]), "--demand", "un-fact-finding=commits")
    assert "history     1 earlier coding(s)" in run("replies", "show", str(reply["id"])).output
    assert json.loads(run("replies", "list", "--uncoded", "--json").output)[0]["id"] != reply["id"]


def test_match_attaches_an_unmatched_reply(project: Path) -> None:
    run("inbox", "import", str(project / "exported"))
    [unmatched] = json.loads(run("replies", "list", "--unmatched", "--json").output)
    result = run("replies", "match", str(unmatched["id"]), "--letter", "2")
    assert result.output.strip() == f"message {unmatched['id']} answers letter 2"
    assert json.loads(run("replies", "list", "--unmatched", "--json").output) == []
    with Session(make_engine(load_settings().database.url)) as session:
        from outreach.models import Letter

        letter = session.get(Letter, 2)
        assert letter is not None
        assert letter.state.value == "replied"


def test_coding_an_unmatched_reply_says_to_match_it(project: Path) -> None:
    run("inbox", "import", str(project / "exported"))
    [unmatched] = json.loads(run("replies", "list", "--unmatched", "--json").output)
    result = run("replies", "code", str(unmatched["id"]), "--demand", "icj-order=supports")
    assert result.exit_code == 1
    assert (
        f"attach it first with `outreach replies match {unmatched['id']} --letter LETTER_ID`"
        in result.output
    )


def test_a_bad_stance_is_a_usage_error(project: Path) -> None:
    run("inbox", "import", str(project / "exported"))
    result = run("replies", "code", "2", "--demand", "icj-order=agrees")
    assert result.exit_code == 64
    assert (
        "stance must be one of: supports, commits, noncommittal, declines, not_addressed"
        in result.output
    )
