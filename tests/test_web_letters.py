"""Letters needing attention on the dashboard: only an unknown letter has an action (the
domain's `resolve_letter`); failed and deferred letters are shown with what they mean."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from sqlmodel import col
from starlette.testclient import TestClient

from outreach.models import Letter, LetterState
from outreach.web.letters import ADVICE
from tests import factory
from tests.test_web import World, sign_in

pytestmark = pytest.mark.usefixtures("cheap_hashing")


@pytest.fixture
def troubled(world: World) -> dict[LetterState, int]:
    """A failed and a deferred letter of campaign "gone", with the world's unknown one."""
    failed, deferred = factory.letters(world.engine, factory.campaign(world.engine, "gone"), 2)
    with world.engine.begin() as connection:
        for letter, state in ((failed, LetterState.FAILED), (deferred, LetterState.DEFERRED)):
            connection.execute(
                sa.update(Letter).where(col(Letter.id) == letter).values(state=state)
            )
    return {
        LetterState.FAILED: failed,
        LetterState.DEFERRED: deferred,
        LetterState.UNKNOWN: world.unknown,
    }


def resolve_forms(text: str) -> list[str]:
    """The letter ids of the resolve forms on a page."""
    return [
        part.split("/", 1)[0] for part in text.split('action="/letters/')[1:] if "/resolve" in part
    ]


def test_the_list_offers_an_action_only_for_the_unknown_letter(
    client: TestClient, troubled: dict[LetterState, int]
) -> None:
    sign_in(client, "anna")
    assert resolve_forms(client.get("/letters").text) == [str(troubled[LetterState.UNKNOWN])]


def test_the_list_says_what_each_state_needing_attention_means(
    client: TestClient, troubled: dict[LetterState, int]
) -> None:
    sign_in(client, "vera")
    text = html.unescape(client.get("/letters").text)
    assert [ADVICE[state] in text for state in ADVICE] == [True, True, True]


@pytest.mark.parametrize("state", [LetterState.FAILED, LetterState.DEFERRED])
def test_a_failed_or_deferred_letter_is_shown_with_its_meaning_and_no_action(
    client: TestClient, troubled: dict[LetterState, int], state: LetterState
) -> None:
    sign_in(client, "anna")
    text = client.get(f"/letters/{troubled[state]}").text
    assert (html.unescape(text).count(ADVICE[state]), resolve_forms(text)) == (1, [])


@pytest.mark.parametrize("state", ["failed", "deferred"])
def test_the_list_is_filtered_to_one_state_needing_attention(
    client: TestClient, troubled: dict[LetterState, int], state: str
) -> None:
    sign_in(client, "vera")
    text = client.get(f"/letters?state={state}").text
    shown = [f'href="/letters/{letter}"' in text for letter in troubled.values()]
    assert shown == [state == "failed", state == "deferred", False]
