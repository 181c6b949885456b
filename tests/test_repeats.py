"""One appeal, one letter per mailbox: across campaigns, ad hoc sends and re-imports."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach.approval import approve_campaign
from outreach.campaign import CampaignError, create_campaign, get_campaign
from outreach.cli import cli
from outreach.config import Settings
from outreach.db import session_scope
from outreach.errors import StateError
from outreach.letter import Composer
from outreach.models import AuditEvent, Letter
from outreach.recipients.importer import import_files
from outreach.repeats import Resend
from tests.smtp_server import SmtpServer
from tests.test_campaigns import MONDAY, SLUG
from tests.test_cli_campaigns import TUESDAY

REPO = Path(__file__).resolve().parent.parent
SAMPLES = [str(REPO / "recipients/diplomats.csv"), str(REPO / "recipients/un-and-eu.yaml")]
EVERY_HOUR = ["--window", "Mon-Sun 00:00-24:00"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def approve(*args: str) -> Result:
    with time_machine.travel(TUESDAY, tick=True):
        return run("campaign", "approve", *args)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    assert run("init", "--templates", str(REPO / "templates")).exit_code == 0
    for name, value in {
        "OUTREACH_SMTP__HOST": "127.0.0.1",
        "OUTREACH_SMTP__PORT": str(server.port),
        "OUTREACH_SMTP__SECURITY": "none",
        "OUTREACH_SENDER__ADDRESS": "appeal@outreach.example.org",
        "OUTREACH_DISPATCH__RATE_PER_MINUTE": "0",
    }.items():
        monkeypatch.setenv(name, value)
    assert run("recipients", "import", *SAMPLES).exit_code == 0
    return tmp_path


def mailboxes(server: SmtpServer) -> Counter[str]:
    """How many letters each mailbox received."""
    return Counter(rcpt.lower() for message in server.messages for rcpt in message.rcpt_tos)


def reply_to_first_letter_of(project: Path, key: str) -> None:
    """The recipient answers their letter (the plus-address token names it)."""
    engine_url = f"sqlite:///{project / 'outreach.db'}"
    from outreach.db import make_engine

    with Session(make_engine(engine_url)) as session:
        letter = session.exec(select(Letter).where(Letter.recipient_key == key)).one()
    raw = (
        f"From: Embassy <{letter.to_address}>\r\n"
        f"To: <appeal+{letter.token}@outreach.example.org>\r\n"
        f"Subject: Re: {letter.subject}\r\n"
        f"Message-ID: <answer-{key}@example.org>\r\n"
        f"In-Reply-To: {letter.message_id}\r\n"
        "Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\n"
        "Dear colleagues, we support the call for a fact-finding mission.\r\n"
    ).encode()
    (project / "answer.eml").write_bytes(raw)
    taken = run("inbox", "import", str(project / "answer.eml"))
    assert "taken in 1 (reply 1)" in taken.output, taken.output


def test_three_campaigns_with_re_imports_write_to_each_mailbox_once(
    project: Path, server: SmtpServer
) -> None:
    assert run("campaign", "create", "first", "--where", "kind=embassy", *EVERY_HOUR).exit_code == 0
    assert approve("first").exit_code == 0
    assert run("dispatch", "--once").exit_code == 0
    embassies = len(server.messages)
    assert embassies == 15
    reply_to_first_letter_of(project, "emb-fr-am-head")

    assert run("recipients", "import", *SAMPLES).exit_code == 0  # a routine re-import
    assert run("campaign", "create", "second", *EVERY_HOUR).exit_code == 0
    check = run("campaign", "check", "second")
    assert check.exit_code == 1, check.output  # one MEP has no address: a problem
    assert "left out: 15 (their mailbox has this appeal already" in check.output
    assert re.search(
        r"left out: emb-fr-am-head: this appeal already went to this mailbox: letter \d+ of "
        r"campaign first, replied\n",
        check.output,
    )
    approved = approve("second", "--skip-problems")
    assert approved.exit_code == 0, approved.output
    assert "15 left out (mailbox has the appeal, or shares it)" in approved.output
    assert approved.output.count("left out: emb-") == 15
    assert run("dispatch", "--once").exit_code == 0

    assert run("recipients", "import", *SAMPLES).exit_code == 0
    assert (
        run(
            "campaign", "create", "third", "--where", "kind=embassy", "--where", "kind=mep",
            *EVERY_HOUR,
        ).exit_code
        == 0
    )  # fmt: skip
    refused = approve("third", "--skip-problems")
    assert refused.exit_code == 65
    assert re.search(r"has no letter to send \(\d suppressed, \d\d duplicate", refused.output)
    assert run("dispatch", "--once").exit_code == 0
    received = mailboxes(server)
    assert received.most_common(1)[0][1] == 1, received.most_common(3)
    assert len(received) == len(server.messages) > embassies


def test_check_json_lists_everyone_left_out_and_why(project: Path, server: SmtpServer) -> None:
    run("campaign", "create", "first", "--where", "key=emb-fr-am-head", *EVERY_HOUR)
    approve("first")
    run("campaign", "create", "second", "--where", "kind=embassy", *EVERY_HOUR)
    result = run("campaign", "check", "second", "--json")
    data = json.loads(result.output)
    assert data["letters"] == {"queued": 14, "suppressed": 2, "duplicate": 1, "skipped": 0}
    duplicate = [entry for entry in data["left_out"] if entry["state"] == "duplicate"]
    assert duplicate == [
        {
            "recipient": "emb-fr-am-head",
            "state": "duplicate",
            "reason": "this appeal already went to this mailbox: letter 1 of campaign first, "
            "queued",
        }
    ]


def test_an_ad_hoc_letter_counts_for_a_later_campaign(project: Path, server: SmtpServer) -> None:
    assert run("send", "--to", "emb-fr-am-head", "--no-dry-run").exit_code == 0
    run("campaign", "create", "spring", "--where", "kind=embassy", *EVERY_HOUR)
    approved = approve("spring")
    assert (
        "left out: emb-fr-am-head: this appeal already went to this mailbox: letter 1 of an "
        "ad hoc send, sent" in approved.output
    )
    run("dispatch", "--once")
    assert mailboxes(server)["ambassador.fr-am@example.org"] == 1


def test_a_campaign_letter_counts_for_an_ad_hoc_send(project: Path, server: SmtpServer) -> None:
    run("campaign", "create", "spring", "--where", "key=emb-fr-am-head", *EVERY_HOUR)
    approve("spring")
    result = run("send", "--to", "ambassador.fr-am@example.org", "--no-dry-run")
    assert "letter 1 of campaign spring, queued" in result.output
    assert "nothing to send" in result.output


def test_a_re_send_needs_a_reason(project: Path, server: SmtpServer) -> None:
    run("campaign", "create", "first", "--where", "key=emb-fr-am-head", *EVERY_HOUR)
    approve("first")
    run("campaign", "create", "second", "--where", "kind=embassy", *EVERY_HOUR)
    refused = CliRunner().invoke(
        cli, ["campaign", "approve", "second", "--resend", "emb-fr-am-head"]
    )
    assert refused.exit_code == 64
    assert "a re-send needs --reason" in refused.output
    with Session(engine_of(project)) as session:
        assert get_campaign(session, "second").state.value == "draft"


def test_a_re_send_with_a_reason_goes_and_is_audited(project: Path, server: SmtpServer) -> None:
    run("campaign", "create", "first", "--where", "key=emb-fr-am-head", *EVERY_HOUR)
    approve("first")
    run("dispatch", "--once")
    run("campaign", "create", "second", "--where", "kind=embassy", *EVERY_HOUR)
    reason = "the first letter went to the wrong ambassador's name"
    approved = approve("second", "--resend", "ambassador.fr-am@example.org", "--reason", reason)
    assert "0 left out" in approved.output, approved.output
    run("dispatch", "--once")
    assert mailboxes(server)["ambassador.fr-am@example.org"] == 2
    with Session(engine_of(project)) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "letter.resend")).one()
    assert event.subject == "emb-fr-am-head"
    assert json.loads(event.detail) == {
        "campaign": "second",
        "earlier": "letter 1 of campaign first, sent",
        "reason": reason,
    }


def test_send_again_needs_a_reason_and_is_audited(project: Path, server: SmtpServer) -> None:
    run("send", "--to", "emb-fr-am-head", "--no-dry-run")
    refused = CliRunner().invoke(cli, ["send", "--to", "emb-fr-am-head", "--again", "--no-dry-run"])
    assert refused.exit_code == 64
    assert '--again needs --reason "…"' in refused.output
    again = run(
        "send", "--to", "emb-fr-am-head", "--again", "--reason", "new annex", "--no-dry-run"
    )
    assert "letter 2 to ambassador.fr-am@example.org: sent" in again.output
    with Session(engine_of(project)) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert actions[-2:] == ["letter.adhoc", "letter.resend"]


def test_two_targets_at_one_mailbox_get_one_ad_hoc_letter(
    project: Path, server: SmtpServer
) -> None:
    result = run(
        "send", "--to", "emb-fr-am-head", "--to", "ambassador.fr-am@example.org", "--no-dry-run"
    )
    assert "same mailbox as emb-fr-am-head" in result.output
    assert len(server.messages) == 1


def engine_of(project: Path) -> Engine:
    from outreach.db import make_engine

    return make_engine(f"sqlite:///{project / 'outreach.db'}")


# Two recipients at one mailbox, in the domain (both dialects).

SHARED = """\
key,kind,role,courtesy_title,gender,given_name,family_name,organisation,country,host_country,city,tz,email,languages,priority
emb-xb-am-office,embassy,office,,unknown,,,Embassy of Xb in Armenia,XB,AM,Yerevan,Asia/Yerevan,chancery.xb-am@example.org,en,1
emb-xb-am-head,embassy,ambassador,Ms,f,Ada,Example,Embassy of Xb in Armenia,XB,AM,Yerevan,Asia/Yerevan,Chancery.XB-AM@example.org,en,1
emb-xb-am-dcm,embassy,charge_d_affaires,Mr,m,Bo,Example,Embassy of Xb in Armenia,XB,AM,Yerevan,Asia/Yerevan,chancery.xb-am@example.org,en,2
emb-xc-am-head,embassy,ambassador,Mr,m,Cy,Example,Embassy of Xc in Armenia,XC,AM,Yerevan,Asia/Yerevan,ambassador.xc-am@example.org,en,2
"""


@pytest.fixture
def settings() -> Settings:
    return Settings(
        paths={"templates": str(REPO / "templates")},
        sender={"name": "Appeal", "address": "appeal@outreach.example.org"},
    )


@pytest.fixture
def shared(engine: Engine, tmp_path: Path) -> Engine:
    """The rows above, each from a file of its own (as lists from several sources arrive)."""
    header, *rows = SHARED.splitlines()
    paths = []
    for number, row in enumerate(rows):
        paths.append(tmp_path / f"source-{number}.csv")
        paths[-1].write_text(f"{header}\n{row}\n", encoding="utf-8")
    assert import_files(engine, paths, actor="t").committed
    return engine


def draft(engine: Engine, name: str) -> None:
    with session_scope(engine) as session:
        create_campaign(
            session,
            name,
            appeal_slug=SLUG,
            where=[],
            window="Mon-Sun 00:00-24:00",
            start_at=None,
            closed_dates=[],
            actor="staff",
        )


def approve_in(engine: Engine, settings: Settings, name: str) -> dict[str, int]:
    with time_machine.travel(MONDAY, tick=False), session_scope(engine) as session:
        return approve_campaign(
            session,
            get_campaign(session, name),
            Composer.load(settings),
            actor="approver",
            skip_problems=False,
        )


def states(engine: Engine) -> dict[str, tuple[str, str | None]]:
    with Session(engine) as session:
        return {
            letter.recipient_key: (letter.state.value, letter.reason)
            for letter in session.exec(select(Letter))
        }


def test_recipients_at_one_mailbox_get_one_letter_addressed_to_the_first_ranked(
    shared: Engine, settings: Settings
) -> None:
    draft(shared, "spring")
    assert approve_in(shared, settings, "spring") == {
        "queued": 2,
        "suppressed": 0,
        "duplicate": 2,
        "skipped": 0,
    }
    # Priority 1 first, then a named person before an office mailbox.
    merged = "same mailbox as emb-xb-am-head, to whom this campaign's one letter to it is addressed"
    assert states(shared) == {
        "emb-xb-am-head": ("queued", None),
        "emb-xb-am-office": ("duplicate", merged),
        "emb-xb-am-dcm": ("duplicate", merged),
        "emb-xc-am-head": ("queued", None),
    }


def test_a_suppressed_first_choice_leaves_the_mailbox_unwritten(
    shared: Engine, settings: Settings
) -> None:
    from outreach.models import SuppressionSource
    from outreach.suppression import suppress

    with session_scope(shared) as session:
        suppress(
            session,
            "chancery.xb-am@example.org",
            reason="asked",
            source=SuppressionSource.REQUEST,
            actor="t",
        )
    draft(shared, "spring")
    approve_in(shared, settings, "spring")
    assert {key: state for key, (state, _) in states(shared).items()} == {
        "emb-xb-am-head": "suppressed",
        "emb-xb-am-office": "suppressed",
        "emb-xb-am-dcm": "suppressed",
        "emb-xc-am-head": "queued",
    }


def test_approvals_of_one_appeal_at_the_same_time_write_each_mailbox_once(
    shared: Engine, settings: Settings
) -> None:
    draft(shared, "one")
    draft(shared, "two")
    first_is_inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        first_is_inside.set()
        assert release.wait(10)

    results: dict[str, object] = {}

    # No time_machine here: it is not thread-safe, and any moment suits a window of every hour.
    def approve_one() -> None:
        with session_scope(shared) as session:
            results["one"] = approve_campaign(
                session,
                get_campaign(session, "one"),
                Composer.load(settings),
                actor="a",
                skip_problems=False,
                advance=hold if not first_is_inside.is_set() else lambda: None,
            )

    def approve_two() -> None:
        try:
            with session_scope(shared) as session:
                results["two"] = approve_campaign(
                    session,
                    get_campaign(session, "two"),
                    Composer.load(settings),
                    actor="b",
                    skip_problems=False,
                )
        except CampaignError as error:
            results["two"] = str(error)

    one = threading.Thread(target=approve_one)
    one.start()
    assert first_is_inside.wait(10)
    two = threading.Thread(target=approve_two)
    two.start()
    two.join(1.0)  # it must wait for the first approval, not pass it by
    assert two.is_alive()
    release.set()
    one.join(10)
    two.join(10)
    assert results["one"] == {"queued": 2, "suppressed": 0, "duplicate": 2, "skipped": 0}
    assert str(results["two"]).startswith("campaign two has no letter to send (4 duplicate;")


def test_the_web_preview_lists_who_is_left_out(cheap_hashing: None, world: object) -> None:
    from tests.test_web import World, client_for, sign_in

    assert isinstance(world, World)  # its campaign "test" sent letters to embassies already
    with client_for(world) as client:
        sign_in(client, "anna")
        preview = client.get("/campaigns/spring/preview").text
    assert "Left out: their mailbox has this appeal already, or shares it (1)" in preview
    # Written to under another key: the address is what counts.
    assert (
        "<li>emb-fr-am-head: this appeal already went to this mailbox: letter 1 of campaign "
        "test, sent (to ambassador-fr-am)</li>" in preview
    )


def test_one_campaign_approved_twice_at_the_same_time_makes_its_letters_once(
    shared: Engine, settings: Settings
) -> None:
    draft(shared, "one")
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        inside.set()
        assert release.wait(10)

    outcomes: list[object] = []

    def approve_with(advance: Callable[[], None]) -> None:
        try:
            with session_scope(shared) as session:
                outcomes.append(
                    approve_campaign(
                        session,
                        get_campaign(session, "one"),
                        Composer.load(settings),
                        actor="a",
                        skip_problems=False,
                        advance=advance,
                    )
                )
        except StateError as error:
            outcomes.append(str(error))

    first = threading.Thread(target=approve_with, args=(hold,))
    first.start()
    assert inside.wait(10)
    second = threading.Thread(target=approve_with, args=(lambda: None,))  # a second click
    second.start()
    second.join(1.0)
    release.set()
    first.join(10)
    second.join(10)
    assert outcomes == [
        {"queued": 2, "suppressed": 0, "duplicate": 2, "skipped": 0},
        "campaign one is approved: only a draft is approved",
    ]
    assert sorted(state for state, _ in states(shared).values()) == [
        "duplicate",
        "duplicate",
        "queued",
        "queued",
    ]


def test_a_shared_mailbox_goes_to_the_next_recipient_when_the_first_can_have_no_letter(
    shared: Engine, settings: Settings, tmp_path: Path
) -> None:
    # The first-ranked, an ambassador, cannot have a letter (a template fails for that role).
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    body = templates / SLUG / "letter" / "en" / "body.txt.j2"
    body.write_text(
        body.read_text("utf-8") + '{% if recipient.role == "ambassador" %}{{ nope }}{% endif %}\n',
        "utf-8",
    )
    broken = settings.model_copy(
        update={"paths": settings.paths.model_copy(update={"templates": str(templates)})}
    )
    draft(shared, "spring")
    with time_machine.travel(MONDAY, tick=False), session_scope(shared) as session:
        approve_campaign(
            session,
            get_campaign(session, "spring"),
            Composer.load(broken),
            actor="approver",
            skip_problems=True,
        )
    letters = states(shared)
    assert letters["emb-xb-am-head"][0] == "skipped"
    assert letters["emb-xb-am-office"] == ("queued", None)
    assert letters["emb-xb-am-dcm"] == (
        "duplicate",
        "same mailbox as emb-xb-am-office, to whom this campaign's one letter to it is addressed",
    )


def test_a_re_send_to_another_recipient_at_a_mailbox_that_has_the_appeal(
    shared: Engine, settings: Settings
) -> None:
    with session_scope(shared) as session:
        create_campaign(
            session, "first", appeal_slug=SLUG, where=["key=emb-xb-am-head"],
            window="Mon-Sun 00:00-24:00", start_at=None, closed_dates=[], actor="staff",
        )  # fmt: skip
    approve_in(shared, settings, "first")
    draft(shared, "second")
    with time_machine.travel(MONDAY, tick=False), session_scope(shared) as session:
        approve_campaign(
            session,
            get_campaign(session, "second"),
            Composer.load(settings),
            actor="approver",
            skip_problems=False,
            resend=Resend.of(["emb-xb-am-office"], everyone=False, reason="for the chancery"),
        )
    with Session(shared) as session:
        second = get_campaign(session, "second").id
        rows = session.exec(select(Letter).where(Letter.campaign_id == second)).all()
    assert {row.recipient_key: row.state.value for row in rows} == {
        "emb-xb-am-head": "duplicate",  # has it from "first"
        "emb-xb-am-office": "queued",  # written to again, on purpose
        "emb-xb-am-dcm": "duplicate",  # the mailbox's one letter of this campaign is the office's
        "emb-xc-am-head": "queued",
    }


def test_a_mistyped_re_send_is_refused_and_nothing_is_approved(
    project: Path, server: SmtpServer
) -> None:
    run("campaign", "create", "spring", "--where", "kind=embassy", *EVERY_HOUR)
    refused = approve("spring", "--resend", "emb-fr-am-haed", "--reason", "typo")
    assert refused.exit_code == 65
    assert (
        "--resend emb-fr-am-haed: no recipient of this campaign's segment has that key or "
        "address; nothing was approved" in refused.output
    )
    with Session(engine_of(project)) as session:
        assert session.exec(select(Letter)).first() is None
