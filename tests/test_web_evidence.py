"""The dashboard over real HTTP (uvicorn on loopback): a stranger's reply is shown for review,
changes nothing when a forged form confirms it, and takes effect only when an editor does."""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest
import uvicorn
from sqlmodel import Session, select

from outreach.models import AuditEvent, InboundMessage, Letter, LetterState
from outreach.web.app import create_app
from tests.test_web import PASSWORD, TOKEN, World

pytestmark = pytest.mark.usefixtures("cheap_hashing")

WHY = "sender press-office@example.net differs from the recipient ambassador.fr-am@example.org"


@pytest.fixture
def server(world: World) -> Iterator[str]:
    """The dashboard served by uvicorn on a free loopback port, in a thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(world.engine, world.settings), host="127.0.0.1", port=port, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def signed_in(server: str, name: str) -> tuple[httpx.Client, str]:
    """A client signed in as `name`, and its session's CSRF token."""
    client = httpx.Client(base_url=server, follow_redirects=False, timeout=10)
    found = TOKEN.search(client.get("/signin").text)
    assert found is not None
    response = client.post(
        "/signin", data={"name": name, "password": PASSWORD, "csrf_token": found.group(1)}
    )
    assert response.status_code == 303, response.text
    token = TOKEN.search(client.get("/campaigns").text)
    assert token is not None
    return client, token.group(1)


def suggested_letter(world: World) -> tuple[int, LetterState]:
    with Session(world.engine) as session:
        message = session.get(InboundMessage, world.suggested)
        assert message is not None
        assert message.letter_id is not None
        letter = session.get(Letter, message.letter_id)
        assert letter is not None
        return letter.id or 0, letter.state


def confirmations(world: World) -> list[str]:
    with Session(world.engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "reply.confirm"))
        return [row.actor for row in rows]


def test_a_stranger_s_reply_is_shown_for_review_with_why_and_cannot_be_coded(
    server: str, world: World
) -> None:
    client, _ = signed_in(server, "eddie")
    with closing(client):
        page = html.unescape(client.get(f"/replies/{world.suggested}").text)
        listing = html.unescape(client.get("/replies?show=review").text)
    assert f"for review: no effect yet</span> {WHY}" in page
    assert f'action="/replies/{world.suggested}/confirm"' in page
    assert f'action="/replies/{world.suggested}/reject"' in page
    assert f'action="/replies/{world.suggested}/code"' not in page
    assert re.search(rf'href="/replies/{world.suggested}">', listing)
    assert "for review: no effect yet" in listing


def test_a_forged_confirmation_changes_nothing(server: str, world: World) -> None:
    _, before = suggested_letter(world)
    client, _ = signed_in(server, "eddie")
    with closing(client):
        forged = client.post(f"/replies/{world.suggested}/confirm", data={"csrf_token": "x"})
    assert forged.status_code == 403
    assert suggested_letter(world)[1] is before is LetterState.SENT
    assert confirmations(world) == []


def test_an_editor_s_confirmation_takes_effect_and_is_audited(server: str, world: World) -> None:
    letter, before = suggested_letter(world)
    assert before is LetterState.SENT
    client, token = signed_in(server, "eddie")
    with closing(client):
        response = client.post(f"/replies/{world.suggested}/confirm", data={"csrf_token": token})
        assert response.status_code == 303
        shown = html.unescape(client.get(response.headers["location"]).text)
    assert f"message {world.suggested} answers letter {letter}: confirmed" in shown
    assert suggested_letter(world)[1] is LetterState.REPLIED
    assert confirmations(world) == ["eddie"]
    assert f'action="/replies/{world.suggested}/code"' in shown  # now it can be coded
