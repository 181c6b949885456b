"""Sessions held by the server, attacked through real HTTP (uvicorn on loopback).

Whoever holds a copy of a session cookie (a shared computer, a stolen backup, a proxy's log)
can use it only while the server's session row lives: sign-out, a new password, a new role,
disabling the account, an approver's "sign out everywhere", idle time and the absolute limit
each end it for GETs and POSTs alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach import clock
from outreach.accounts import UserRole, add_user, disable_user, get_user, update_user
from outreach.cli import cli
from outreach.config import load_settings
from outreach.db import make_engine, session_scope
from outreach.models import AuditEvent, Campaign, CampaignState
from outreach.web.app import create_app
from outreach.web_sessions import (
    Gone,
    Lifetime,
    SessionEnd,
    WebSession,
    end_all,
    live_by_user,
    open_session,
    resume,
)
from tests.test_web import World, audit
from tests.web_server import browser, copy_of, serve, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

PAUSE = "/campaigns/test/pause"


@pytest.fixture
def base(world: World) -> Iterator[str]:
    """The dashboard on the populated SQLite database, served by uvicorn."""
    with serve(create_app(world.engine, world.settings)) as url:
        yield url


def state_of(world: World, name: str) -> CampaignState:
    """The campaign's state, read from the database."""
    with Session(world.engine) as session:
        return session.exec(select(Campaign).where(Campaign.name == name)).one().state


def refused(client: httpx.Client, token: str) -> tuple[str, str]:
    """Where a GET of a page and a POST of an approver's change are sent (both to sign-in)."""
    page = client.get("/campaigns")
    change = client.post(PAUSE, data={"csrf_token": token, "reason": "hijacked"})
    return page.headers.get("location", str(page.status_code)), change.headers.get(
        "location", str(change.status_code)
    )


TO_SIGN_IN = ("/signin?next=%2Fcampaigns", "/signin")


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(world: World, base: str) -> None:
    with browser(base) as owner:
        token = sign_in(owner, "anna")
        with copy_of(owner, base) as thief:
            assert thief.get("/campaigns").status_code == 200  # the copy works while signed in
            assert owner.post("/signout", data={"csrf_token": token}).status_code == 303
            assert refused(thief, token) == TO_SIGN_IN
    assert state_of(world, "test") is CampaignState.APPROVED
    assert [who for who, _ in audit(world.engine, "campaign.paused") if who == "anna"] == []
    assert ("anna", "anna") in audit(world.engine, "user.signout")


def test_a_new_password_ends_every_open_session(world: World, base: str) -> None:
    with browser(base) as owner, copy_of(owner, base) as thief:
        token = sign_in(owner, "anna")
        thief.cookies = owner.cookies
        with session_scope(world.engine) as session:
            update_user(session, "anna", password="a brand new long password", actor="anna")
        assert refused(thief, token) == TO_SIGN_IN
        assert refused(owner, token) == TO_SIGN_IN
    assert state_of(world, "test") is CampaignState.APPROVED


def test_a_new_role_ends_every_open_session(world: World, base: str) -> None:
    with browser(base) as owner:
        token = sign_in(owner, "anna")
        with session_scope(world.engine) as session:
            update_user(session, "anna", role=UserRole.VIEWER, actor="admin")
        # Not kept with a lower role: ended, so that the next sign-in starts a fresh session.
        assert refused(owner, token) == TO_SIGN_IN
    assert state_of(world, "test") is CampaignState.APPROVED


def test_disabling_the_account_ends_a_copied_session(world: World, base: str) -> None:
    with browser(base) as owner:
        token = sign_in(owner, "anna")
        with copy_of(owner, base) as thief:
            with session_scope(world.engine) as session:
                disable_user(session, "anna", actor="admin")
            assert refused(thief, token) == TO_SIGN_IN
    assert state_of(world, "test") is CampaignState.APPROVED


def test_a_session_idle_for_longer_than_idle_minutes_is_ended(world: World, base: str) -> None:
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as clock, browser(base) as owner:
        token = sign_in(owner, "anna")
        clock.shift(dt.timedelta(minutes=29))
        assert owner.get("/campaigns").status_code == 200  # activity keeps it open
        clock.shift(dt.timedelta(minutes=29))
        assert owner.get("/campaigns").status_code == 200
        clock.shift(dt.timedelta(minutes=31))  # 31 minutes without a request
        assert refused(owner, token) == TO_SIGN_IN
        assert "ended after 30 minutes without activity" in owner.get("/signin").text
    assert state_of(world, "test") is CampaignState.APPROVED


def test_a_busy_session_still_ends_session_hours_after_sign_in(world: World, base: str) -> None:
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as clock, browser(base) as owner:
        token = sign_in(owner, "anna")
        for _ in range(19):  # a request every 25 minutes: never idle
            clock.shift(dt.timedelta(minutes=25))
            assert owner.get("/campaigns").status_code == 200
        # An action re-signs the cookie (its notice): the cookie is fresh, the session is not.
        assert owner.post("/campaigns/held/resume", data={"csrf_token": token}).status_code == 303
        clock.shift(dt.timedelta(minutes=26))  # 8 h 1 min after sign-in
        assert refused(owner, token) == TO_SIGN_IN
    assert state_of(world, "test") is CampaignState.APPROVED


def test_an_approver_signs_a_user_out_everywhere(world: World, base: str) -> None:
    with browser(base) as laptop, browser(base) as phone, browser(base) as approver:
        sign_in(laptop, "eddie")
        sign_in(phone, "eddie")
        token = sign_in(approver, "anna")
        page = approver.get("/users").text
        assert 'action="/users/eddie/signout"' in page
        ended = approver.post("/users/eddie/signout", data={"csrf_token": token})
        assert ended.status_code == 303
        assert "eddie: 2 session(s) ended" in approver.get(ended.headers["location"]).text
        assert laptop.get("/campaigns").status_code == 303
        assert phone.get("/campaigns").status_code == 303
        assert approver.get("/campaigns").status_code == 200  # the approver's own stays
    assert audit(world.engine, "user.signout_everywhere") == [("anna", "eddie")]


def test_an_editor_cannot_sign_others_out(world: World, base: str) -> None:
    with browser(base) as victim, browser(base) as editor:
        sign_in(victim, "anna")
        token = sign_in(editor, "eddie")
        assert 'action="/users/anna/signout"' not in editor.get("/users").text
        answer = editor.post("/users/anna/signout", data={"csrf_token": token})
        assert answer.status_code == 403
        assert victim.get("/campaigns").status_code == 200
    assert audit(world.engine, "user.signout_everywhere") == []


def test_the_cookie_holds_a_session_id_and_no_name(world: World, base: str) -> None:
    """The database keeps only a digest of the id: reading the table opens no session."""
    with browser(base) as owner:
        sign_in(owner, "anna")
        value = owner.cookies["outreach_session"]
    data = json.loads(base64.b64decode(value.split(".")[0]))
    assert "anna" not in json.dumps(data)
    with Session(world.engine) as session:
        [row] = session.exec(select(WebSession)).all()
    assert data["sid"] not in (row.digest, str(row.id))
    assert len(row.digest) == 64


def test_users_signout_ends_every_session_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    added = runner.invoke(
        cli,
        ["users", "add", "alice", "--role", "editor", "--password-stdin"],
        input="a long enough password\n",
    )
    assert added.exit_code == 0, added.output
    engine = make_engine(load_settings().database.url)
    lifetime = Lifetime.of(8, 30)
    with session_scope(engine) as session:
        user = get_user(session, "alice")
        assert user.id is not None
        stolen = [open_session(session, user.id, lifetime, now=clock.now()) for _ in range(2)]
    ended = runner.invoke(cli, ["users", "signout", "alice"])
    assert (ended.exit_code, ended.output.strip()) == (0, "alice: 2 session(s) ended")
    with Session(engine) as session:
        assert [resume(session, sid, now=clock.now()) for sid in stolen] == [Gone.ENDED] * 2
        [event] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "user.signout_everywhere")
        ).all()
    assert event.subject == "alice"
    missing = runner.invoke(cli, ["users", "signout", "nobody"])
    assert missing.exit_code == 66
    assert "no user named 'nobody'" in missing.output
    engine.dispose()


def test_sessions_are_counted_ended_and_deleted_on_both_databases(engine: Engine) -> None:
    lifetime = Lifetime.of(8, 30)
    start = clock.now()
    with session_scope(engine) as session:
        user = add_user(session, "vera", "a long enough password", UserRole.VIEWER, actor="t")
        session.flush()
        assert user.id is not None
        ids = [open_session(session, user.id, lifetime, now=start) for _ in range(2)]
    with session_scope(engine) as session:
        assert live_by_user(session, now=start) == {user.id: (2, start)}
        assert end_all(session, user.id, SessionEnd.EVERYWHERE, now=start) == 2
        assert end_all(session, user.id, SessionEnd.EVERYWHERE, now=start) == 0
    with session_scope(engine) as session:
        assert [resume(session, sid, now=start) for sid in ids] == [Gone.ENDED] * 2
        assert live_by_user(session, now=start) == {}
        # A day after they ended, the next sign-in deletes their rows.
        open_session(session, user.id, lifetime, now=start + dt.timedelta(days=1, minutes=1))
    with Session(engine) as session:
        assert [resume(session, sid, now=start) for sid in ids] == [Gone.UNKNOWN] * 2
        assert len(session.exec(select(WebSession)).all()) == 1
