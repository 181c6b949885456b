"""Hostile recipient data shown by the dashboard over real HTTP: text, never markup.

A recipient's name and organisation come from a spreadsheet anyone may have edited. Whatever
passes validation is stored as it is, and every page that shows it (the list, a search, the
recipient's page, the campaign preview) must show it as text: no tag, attribute or entity of it
reaches the browser unescaped. Served by uvicorn on loopback, as `outreach web` serves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outreach import clock
from outreach.db import session_scope
from outreach.errors import OutreachError
from outreach.recipients.edit import edit_recipient
from outreach.web.app import create_app
from tests.test_web import World
from tests.web_server import browser, serve, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")

KEY = "emb-fr-am-head"
PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    "&lt;b&gt;",
    "</textarea><svg onload=alert(1)>",
    "{{ 7*7 }}",
    '=HYPERLINK("http://evil.example")',
    "Müller",
    "Łódź & Ñuñoa",
]
hostile = st.lists(
    st.one_of(st.sampled_from(PAYLOADS), st.text(alphabet="<>&\"'/= aé", max_size=6)),
    min_size=1,
    max_size=3,
).map(" ".join)


class Page(HTMLParser):
    """What a browser would build of a page: its elements, attributes and text."""

    def __init__(self, body: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.feed(body)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def active(self) -> list[str]:
        """Scripts, event handlers and javascript: links: what the payloads try to make."""
        found = [tag for tag, _ in self.tags if tag in {"script", "img", "svg", "iframe"}]
        for tag, attrs in self.tags:
            for name, value in attrs:
                link = name in {"href", "src", "action", "formaction"}
                if name.startswith("on") or (link and (value or "").lower().startswith("javas")):
                    found.append(f"{tag} {name}={value}")
        return found


@pytest.fixture
def served(world: World) -> Iterator[tuple[World, httpx.Client]]:
    """The populated dashboard on uvicorn, with a signed-in editor."""
    with serve(create_app(world.engine, world.settings)) as url, browser(url) as client:
        sign_in(client, "eddie")
        yield world, client


def pages(client: httpx.Client) -> dict[str, Page]:
    """Every page that shows the recipient's name or organisation."""
    paths = ("/recipients", f"/recipients?q={KEY}", f"/recipients/{KEY}", "/campaigns/spring")
    return {path: Page(client.get(path).text) for path in paths}


def test_the_pages_have_no_active_content_of_their_own(served: tuple[World, httpx.Client]) -> None:
    # The control for the test below: what it finds comes from the data.
    _, client = served
    assert [page.active() for page in pages(client).values()] == [[], [], [], []]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=hostile, organisation=hostile)
def test_hostile_names_and_organisations_are_shown_as_text_on_every_page(
    served: tuple[World, httpx.Client], name: str, organisation: str
) -> None:
    world, client = served
    try:
        with session_scope(world.engine) as session:
            edit_recipient(
                session,
                KEY,
                {"family_name": name.strip() or "X", "organisation": organisation.strip() or "X"},
                actor="test",
                now=clock.now(),
            )
    except OutreachError:  # refused by validation: nothing stored, nothing shown
        return
    for path, page in pages(client).items():
        assert page.active() == [], path
    text = " ".join(pages(client)[f"/recipients/{KEY}"].text)
    assert organisation.strip() in text
