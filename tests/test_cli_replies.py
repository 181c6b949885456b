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
from tests.forged_mail import STRANGER, stranger_reply, token_address
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
    assert "1 matched for review only: no effect until confirmed" in result.output
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


def suggestion(project: Path) -> dict[str, object]:
    """A stranger's reply to the token address of letter 1, taken in with the others."""
    forged = project / "forged"
    forged.mkdir()
    (forged / "stranger.eml").write_bytes(stranger_reply(to=token_address("k7m2q9x4ab")))
    run("inbox", "import", str(project / "exported"), str(forged))
    review = json.loads(run("replies", "list", "--review", "--json").output)
    [row] = [row for row in review if row["sender"] == STRANGER]
    return dict(row)


def letter_state(letter_id: object) -> str:
    with Session(make_engine(load_settings().database.url)) as session:
        from outreach.models import Letter

        letter = session.get(Letter, letter_id)
        assert letter is not None
        return letter.state.value


def test_a_match_for_review_is_listed_and_shown_with_why_and_what_to_do(project: Path) -> None:
    row = suggestion(project)
    assert (row["match"], row["strength"], row["letter"]) == ("token", "for_review", 1)
    assert row["why"] == (
        f"sender {STRANGER} differs from the recipient ambassador.fr-am@example.org"
    )
    listed = run("replies", "list").output
    assert "(for review, no effect yet: see `replies show`)" in listed
    shown = run("replies", "show", str(row["id"])).output
    assert f"match       for review, no effect yet: {row['why']}" in shown
    assert f"confirm with `outreach replies confirm {row['id']}`" in shown
    assert letter_state(row["letter"]) == "sent"


def test_a_match_for_review_is_not_coded_until_confirmed(project: Path) -> None:
    row = suggestion(project)
    refused = run("replies", "code", str(row["id"]), "--demand", "icj-order=supports")
    assert refused.exit_code == 1
    assert "for review only" in refused.output
    assert f"`outreach replies confirm {row['id']}`" in refused.output
    confirmed = run("replies", "confirm", str(row["id"]))
    assert confirmed.exit_code == 0, confirmed.output
    assert (
        confirmed.output.strip() == f"message {row['id']} answers letter {row['letter']}: confirmed"
    )
    assert letter_state(row["letter"]) == "replied"
    assert run("replies", "code", str(row["id"]), "--demand", "icj-order=supports").exit_code == 0
    review = json.loads(run("replies", "list", "--review", "--json").output)
    assert row["id"] not in [other["id"] for other in review]


def test_rejecting_a_match_for_review_leaves_the_message_unmatched(project: Path) -> None:
    row = suggestion(project)
    before = letter_state(row["letter"])
    rejected = run("replies", "reject", str(row["id"]))
    assert rejected.exit_code == 0, rejected.output
    assert f"not about letter {row['letter']}" in rejected.output
    unmatched = json.loads(run("replies", "list", "--unmatched", "--json").output)
    assert row["id"] in [other["id"] for other in unmatched]
    assert letter_state(row["letter"]) == before
    again = run("replies", "reject", str(row["id"]))
    assert again.exit_code == 1
    assert "matched to no letter, so there is nothing to reject" in again.output
