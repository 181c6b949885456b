"""Addresses as they are in the world, end to end: check, the dry run, approval and dispatch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result

from outreach.cli import cli
from tests.smtp_server import SmtpServer

REPO = Path(__file__).resolve().parent.parent
TUESDAY = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)  # every letter is due by the dispatch
HEADER = "key,kind,role,gender,organisation,country,host_country,city,tz,email,languages\n"
IDN = "emb-de-am,embassy,office,unknown,Embassy of Germany,DE,AM,Yerevan,Asia/Yerevan,"
ASCII = "emb-us-am,embassy,office,unknown,Embassy of the United States,US,AM,Yerevan,Asia/Yerevan,"
UTF8 = "emb-fr-am,embassy,office,unknown,Embassy of France,FR,AM,Yerevan,Asia/Yerevan,"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def project(tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch, rows: str) -> None:
    """A configured working folder, pointed at `server`, with the recipients of `rows`."""
    monkeypatch.chdir(tmp_path)
    assert run("init", "--templates", str(REPO / "templates")).exit_code == 0
    # The documented way to point a run at another server: OUTREACH_<SECTION>__<KEY>.
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    (tmp_path / "embassies.csv").write_text(HEADER + rows, encoding="utf-8")
    assert run("recipients", "import", "embassies.csv").exit_code == 0
    created = run("campaign", "create", "spring", "--window", "Mon-Sun 00:00-24:00")
    assert created.exit_code == 0, created.output


def test_check_shows_an_idn_address_as_it_will_be_sent(
    tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, server, monkeypatch, IDN + "kanzlei@bücher.example,en\n")
    checked = run("campaign", "check", "spring")
    assert checked.exit_code == 0, checked.output
    assert (
        "address: emb-de-am: kanzlei@bücher.example is sent as kanzlei@xn--bcher-kva.example\n"
        in checked.output
    )


def test_the_dry_run_shows_an_idn_address_as_it_will_be_sent(
    tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, server, monkeypatch, IDN + "kanzlei@bücher.example,en\n")
    dry = run("send", "--to", "emb-de-am")
    assert "would send emb-de-am <kanzlei@xn--bcher-kva.example> [en]" in dry.output


def test_an_idn_recipient_is_approved_and_sent_with_the_rest_of_the_batch(
    tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = IDN + "kanzlei@bücher.example,en\n" + ASCII + "political.us-am@example.org,en\n"
    project(tmp_path, server, monkeypatch, rows)
    with time_machine.travel(TUESDAY, tick=True):
        assert run("campaign", "approve", "spring").exit_code == 0
    assert "claimed 2: sent 2" in run("dispatch", "--once").output
    assert sorted(m.rcpt_tos for m in server.messages) == [
        ("kanzlei@xn--bcher-kva.example",),
        ("political.us-am@example.org",),
    ]
    assert b"<kanzlei@xn--bcher-kva.example>" in server.messages[0].data + (server.messages[1].data)


def test_without_smtputf8_check_and_approval_name_a_non_ascii_local_part(
    tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = UTF8 + "zoë@example.org,en\n" + ASCII + "political.us-am@example.org,en\n"
    project(tmp_path, server, monkeypatch, rows)
    problem = (
        "emb-fr-am: the address zoë@example.org has a non-ASCII local part, which only a relay "
        "offering SMTPUTF8 (RFC 6531) can carry"
    )
    checked = run("campaign", "check", "spring")
    assert checked.exit_code == 1
    assert f"problem: {problem}" in checked.output
    with time_machine.travel(TUESDAY, tick=True):
        approved = run("campaign", "approve", "spring")
    assert approved.exit_code == 65
    assert problem in approved.output


def test_with_smtputf8_a_non_ascii_local_part_is_sent_to_a_server_that_offers_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpServer(smtputf8=True) as server:
        project(tmp_path, server, monkeypatch, UTF8 + "zoë@example.org,en\n")
        monkeypatch.setenv("OUTREACH_SMTP__SMTPUTF8", "true")
        assert run("campaign", "check", "spring").exit_code == 0
        with time_machine.travel(TUESDAY, tick=True):
            assert run("campaign", "approve", "spring").exit_code == 0
        assert "claimed 1: sent 1" in run("dispatch", "--once").output
    [received] = server.messages
    assert (received.rcpt_tos, received.mail_options) == (("zoë@example.org",), ("SMTPUTF8",))
    assert "<zoë@example.org>" in received.data.decode("utf-8")
