"""The web dashboard through Starlette's test client: every route for every role.

Reads are open to every signed-in role; each change needs its role (403 below it), a session
(else a redirect to sign-in) and the session's CSRF token (else 403), and leaves an audit event
naming the user. The fixtures here are shared by the other test_web* modules.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from outreach import accounts
from outreach.accounts import UserRole, add_user
from outreach.campaign import create_campaign, get_campaign
from outreach.config import Settings
from outreach.db import session_scope
from outreach.inbox.record import ingest
from outreach.letter import Composer
from outreach.models import AuditEvent, CampaignState, InboundMessage, Letter, LetterState
from outreach.models import SuppressionSource as Source
from outreach.recipients.importer import import_files
from outreach.steps import declare_steps
from outreach.suppression import suppress
from outreach.web.app import create_app
from tests import factory
from tests.forged_mail import stranger_reply, token_address
from tests.test_inbox import DATA, TRUSTED, sent_letters

pytestmark = pytest.mark.usefixtures("cheap_hashing")

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
USERS = {"vera": UserRole.VIEWER, "eddie": UserRole.EDITOR, "anna": UserRole.APPROVER}
NAME_OF = {role: name for name, role in USERS.items()}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.DOTALL)
UNMATCHED = (
    b"From: Stranger <stranger@example.com>\r\nTo: appeal@outreach.example.org\r\n"
    b"Subject: About your letter\r\nMessage-ID: <stranger-1@example.com>\r\n"
    b"Date: Mon, 09 Mar 2026 10:00:00 +0000\r\n\r\nWe have received your appeal and will reply.\r\n"
)


@dataclass(frozen=True)
class World:
    """What the tests act on: ids made by `populate`."""

    engine: Engine
    settings: Settings
    reply: int  # a reply matched to a letter, not coded
    unmatched: int  # a reply matched to nothing
    unknown: int  # a letter in unknown state
    sent: int  # a letter that was sent (a reply answers it)
    suggested: int = 0  # a stranger's reply to a letter's token address: matched for review


def use_cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with the smallest cost: the tests check the flow, not the hash's strength."""
    monkeypatch.setattr(
        accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    accounts.dummy_hash.cache_clear()


def web_settings(tmp_path: Path) -> Settings:
    """Settings for the dashboard: the shipped appeal, a key file in the test's folder."""
    return Settings(
        paths={"templates": str(REPO / "templates")},
        sender={"name": "Appeal", "address": "appeal@outreach.example.org"},
        web={"secret_file": str(tmp_path / "web-secret")},
        inbox={"trusted_domains": TRUSTED},
    )


def populate(engine: Engine, settings: Settings) -> World:
    """Recipients, a draft campaign, a sent one with replies, an unknown letter, users."""
    files = [REPO / "recipients" / "diplomats.csv", REPO / "recipients" / "un-and-eu.yaml"]
    assert import_files(engine, files, actor="setup").committed
    sent_letters(engine)  # campaign "test", approved, the inbound corpus's letters
    factory.campaign(engine, "held", CampaignState.PAUSED)
    [unknown] = factory.letters(engine, factory.campaign(engine, "stuck"), 1)
    with engine.begin() as connection:
        connection.execute(
            sa.update(Letter).where(col(Letter.id) == unknown).values(state=LetterState.UNKNOWN)
        )
    with session_scope(engine) as session:
        create_campaign(
            session,
            "spring",
            appeal_slug="nk-appeal-2023-03-07",
            where=["kind=embassy"],
            window=None,
            start_at=None,
            closed_dates=[],
            actor="setup",
        )
        for name, role in USERS.items():
            add_user(session, name, PASSWORD, role, actor="setup")
        suppress(session, "lift.me@example.org", reason="test", source=Source.MANUAL, actor="setup")
        raw = (DATA / "18-outlook-reply-supports-fact-finding.eml").read_bytes()
        reply = ingest(session, raw, "eml:18", settings, now=factory.T0).id
        unmatched = ingest(session, UNMATCHED, "eml:stranger", settings, now=factory.T0).id
        forged = stranger_reply(to=token_address("k7m2q9x4ab"))
        suggested = ingest(session, forged, "eml:forged", settings, now=factory.T0).id
        sent = session.get(InboundMessage, reply)
        assert sent is not None
        assert sent.letter_id is not None
    return World(engine, settings, reply, unmatched, unknown, sent.letter_id, suggested)


def client_for(world: World, **options: object) -> TestClient:
    """A test client of a fresh app on the world's database."""
    return TestClient(create_app(world.engine, world.settings), **options)  # type: ignore[arg-type]


def token_of(client: TestClient, path: str = "/signin") -> str:
    """The CSRF token printed in the forms of `path`."""
    found = TOKEN.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in; returns the session's CSRF token."""
    response = client.post(
        "/signin",
        data={"name": name, "password": password, "csrf_token": token_of(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return token_of(client, "/campaigns")


def error_of(response: httpx.Response) -> tuple[int, str]:
    """The status and the message of an error page ("" if the page shows no error)."""
    found = ERROR.search(response.text)
    return response.status_code, html.unescape(found.group(1)) if found else ""


def audit(engine: Engine, action: str) -> list[tuple[str, str]]:
    """(actor, subject) of the audit events of `action`."""
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [(row.actor, row.subject) for row in rows]


def pages(world: World) -> list[str]:
    """Every page of the dashboard, with real ids."""
    return [
        "/campaigns",
        "/campaigns/spring",
        "/campaigns/spring/preview",
        "/letters",
        "/letters?state=unknown&campaign=stuck",
        f"/letters/{world.unknown}",
        "/replies",
        "/replies?show=unmatched",
        "/replies?show=review",
        "/replies?show=all",
        f"/replies/{world.reply}",
        f"/replies/{world.unmatched}",
        f"/replies/{world.suggested}",
        "/recipients",
        "/recipients?q=embassy&where=kind%3Dembassy",
        "/recipients/emb-fr-am-head",
        "/suppressions",
        "/reports",
        "/reports/test",
        "/reports/test/html",
        "/users",
    ]


# (route, form, role needed, audit action, subject) for every change the dashboard makes.
def changes(world: World) -> list[tuple[str, dict[str, str], UserRole, str, str]]:
    """Every action route with a valid form."""
    return [
        ("/campaigns/spring/approve", {}, UserRole.APPROVER, "campaign.approve", "spring"),
        (
            "/campaigns/test/pause",
            {"reason": "visit"},
            UserRole.APPROVER,
            "campaign.paused",
            "test",
        ),
        ("/campaigns/held/resume", {}, UserRole.APPROVER, "campaign.running", "held"),
        (
            f"/letters/{world.unknown}/resolve",
            {"outcome": "sent"},
            UserRole.APPROVER,
            "letter.resolve",
            str(world.unknown),
        ),
        (
            f"/replies/{world.reply}/code",
            {"stance:un-fact-finding": "supports", "evidence:un-fact-finding": "We fully support"},
            UserRole.EDITOR,
            "reply.code",
            str(world.reply),
        ),
        (
            f"/replies/{world.unmatched}/match",
            {"letter_id": str(world.sent)},
            UserRole.EDITOR,
            "reply.match",
            str(world.unmatched),
        ),
        (
            f"/replies/{world.suggested}/confirm",
            {},
            UserRole.EDITOR,
            "reply.confirm",
            str(world.suggested),
        ),
        (
            f"/replies/{world.suggested}/reject",
            {},
            UserRole.EDITOR,
            "reply.reject",
            str(world.suggested),
        ),
        (
            "/suppressions",
            {"address": "stop@example.org", "reason": "asked to stop"},
            UserRole.EDITOR,
            "suppress",
            "stop@example.org",
        ),
        (
            "/suppressions/lift",
            {"address": "lift.me@example.org", "reason": "a mistake"},
            UserRole.APPROVER,
            "unsuppress",
            "lift.me@example.org",
        ),
        (
            "/recipients/emb-fr-am-head",
            {"city": "Gyumri"},
            UserRole.EDITOR,
            "recipient.edit",
            "emb-fr-am-head",
        ),
        (
            "/users/eddie/signout",
            {},
            UserRole.APPROVER,
            "user.signout_everywhere",
            "eddie",
        ),
    ]


ACTION_NAMES = [
    "approve",
    "pause",
    "resume",
    "resolve",
    "code",
    "match",
    "confirm",
    "reject",
    "suppress",
    "lift",
    "edit",
    "signout",
]


def test_every_route_is_covered_by_these_tests(world: World) -> None:
    app = create_app(world.engine, world.settings)
    tested = {re.sub(r"\?.*", "", path) for path in pages(world)}
    tested |= {path for path, *_ in changes(world)}
    for route in app.routes:
        if isinstance(route, Mount) or not isinstance(route, Route):
            continue
        if route.path in ("/signin", "/signout", "/", "/favicon.ico"):
            continue  # tested in test_web_forms.py and below; the icon is public
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", route.path)
        assert any(re.fullmatch(pattern, path) for path in tested), f"{route.path} is not tested"
        changes_data = getattr(route.endpoint, "changes", None)
        assert changes_data is (route.methods == {"POST"}), route.path


@pytest.mark.parametrize("role", list(UserRole))
def test_every_role_reads_every_page(client: TestClient, world: World, role: UserRole) -> None:
    sign_in(client, NAME_OF[role])
    for path in pages(world):
        response = client.get(path)
        assert error_of(response) == (200, ""), path
    assert client.get("/", follow_redirects=False).headers["location"] == "/campaigns"


def test_without_a_session_every_page_redirects_to_sign_in(
    client: TestClient, world: World
) -> None:
    for path in [*pages(world), "/"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin?next="), path
    for path, form, *_ in changes(world):
        response = client.post(path, data=form, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, "/signin"), path
    assert audit(world.engine, "campaign.approve") == []


@pytest.mark.parametrize("role", list(UserRole))
@pytest.mark.parametrize("index", range(len(ACTION_NAMES)), ids=ACTION_NAMES)
def test_each_change_needs_its_role_and_is_audited(
    client: TestClient, world: World, role: UserRole, index: int
) -> None:
    path, form, needed, action, subject = changes(world)[index]
    name = NAME_OF[role]
    token = sign_in(client, name)
    response = client.post(path, data={**form, "csrf_token": token}, follow_redirects=False)
    if role.allows(needed):
        assert response.status_code == 303, response.text
        assert (name, subject) in audit(world.engine, action)
        notice = client.get(response.headers["location"]).text
        assert 'class="notice"' in notice
    else:
        assert response.status_code == 403
        assert f"your role ({role.value}) cannot do this: it needs {needed.value}" in response.text
        assert [who for who, _ in audit(world.engine, action) if who != "setup"] == []


@pytest.mark.parametrize("index", range(len(ACTION_NAMES)), ids=ACTION_NAMES)
@pytest.mark.parametrize("token", ["", "forged"])
def test_a_change_without_the_session_token_is_refused(
    client: TestClient, world: World, index: int, token: str
) -> None:
    path, form, _, action, _ = changes(world)[index]
    sign_in(client, "anna")
    data = {**form, "csrf_token": token} if token else form
    response = client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "did not come from this dashboard" in response.text
    assert [who for who, _ in audit(world.engine, action) if who == "anna"] == []


def test_another_sessions_token_is_refused(world: World) -> None:
    with client_for(world) as mine, client_for(world) as theirs:
        sign_in(mine, "anna")
        their_token = sign_in(theirs, "anna")
        response = mine.post(
            "/campaigns/test/pause", data={"csrf_token": their_token}, follow_redirects=False
        )
        assert response.status_code == 403


def test_approve_code_resolve_on_both_databases(both_world: World) -> None:
    """The main flows end to end, on SQLite and PostgreSQL."""
    with client_for(both_world) as client:
        token = sign_in(client, "anna")
        preview = client.get("/campaigns/spring/preview").text
        assert 'id="sample-en"' in preview
        assert "Approve spring:" in preview
        approved = client.post("/campaigns/spring/approve", data={"csrf_token": token})
        assert "approved spring:" in approved.text
        assert "letter(s) queued" in approved.text
        coded = client.post(
            f"/replies/{both_world.reply}/code",
            data={
                "csrf_token": token,
                "stance:un-fact-finding": "supports",
                "evidence:un-fact-finding": "We fully support the call",
                "stance:icj-order": "not_addressed",
            },
        )
        assert "coded: un-fact-finding supports, icj-order not_addressed" in coded.text
        assert "We fully support the call" in coded.text
        resolved = client.post(
            f"/letters/{both_world.unknown}/resolve",
            data={"csrf_token": token, "outcome": "not-sent"},
        )
        assert f"letter {both_world.unknown}: queued to be sent again" in resolved.text
        assert "uncoded" in client.get("/replies").text
        report = client.get("/reports/test/html")
        assert "We fully support the call" in report.text
        assert report.headers["content-security-policy"].startswith("default-src 'none'")


def test_an_edit_that_makes_the_recipient_invalid_is_shown_and_changes_nothing(
    client: TestClient, world: World
) -> None:
    token = sign_in(client, NAME_OF[UserRole.EDITOR])
    response = client.post(
        "/recipients/emb-fr-am-head",
        data={"role": "mep", "city": "Gyumri", "csrf_token": token},
        follow_redirects=False,
    )
    status, message = error_of(response)
    assert status == 400
    assert message.startswith(
        "recipient emb-fr-am-head: the change is refused; nothing was changed"
    )
    assert "role" in response.text
    assert audit(world.engine, "recipient.edit") == []


def test_the_edit_form_shows_the_current_values_to_an_editor_only(
    client: TestClient, world: World
) -> None:
    sign_in(client, NAME_OF[UserRole.EDITOR])
    page = client.get("/recipients/emb-fr-am-head").text
    assert '<input id="edit-city" name="city" value="Yerevan" maxlength="1000">' in page
    with client_for(world) as viewer:
        sign_in(viewer, NAME_OF[UserRole.VIEWER])
        shown = viewer.get("/recipients/emb-fr-am-head").text
    assert "Yerevan" in shown
    assert 'id="edit-city"' not in shown


def test_the_campaign_page_shows_its_follow_up_steps(client: TestClient, world: World) -> None:
    with session_scope(world.engine) as session:
        campaign = get_campaign(session, "spring")
        declare_steps(
            session,
            campaign,
            Composer.load(world.settings, campaign.appeal_slug),
            after_days=10,
            template="followup",
            count=1,
            actor="staff",
        )
    sign_in(client, NAME_OF[UserRole.VIEWER])
    page = client.get("/campaigns/spring").text
    assert (
        "Step 1: 10 working day(s) after the previous letter, templates <code>followup/</code> "
        "(awaiting approval)" in page
    )


def test_the_campaign_page_counts_its_follow_up_letters_by_state(
    client: TestClient, world: World
) -> None:
    with Session(world.engine) as session:
        campaign_id = get_campaign(session, "test").id
    (made,) = factory.letters(world.engine, campaign_id, 1, prefix="followup")
    with world.engine.begin() as connection:
        connection.execute(sa.update(Letter).where(col(Letter.id) == made).values(step=1))
    sign_in(client, NAME_OF[UserRole.VIEWER])
    assert "Follow-up letters: queued 1</p>" in client.get("/campaigns/test").text
