"""Input the database cannot take never reaches it: ids beyond its integers, control characters
(NUL) in the path, the query or a form, and segments too large for SQLite. Each is a 4xx page
with a message, on SQLite and on PostgreSQL, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from outreach.accounts import UserRole
from tests.test_web import (
    NAME_OF,
    World,
    audit,
    error_of,
    populate,
    sign_in,
    token_of,
    web_settings,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")

LARGEST = 2**31 - 1  # the largest id: the id columns are PostgreSQL's four-byte INTEGER
BEYOND = 2**31
READERS = [UserRole.VIEWER, UserRole.APPROVER]
NUL_REFUSED = "control characters are not allowed"


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    """The populated database of test_web.py, on SQLite and on PostgreSQL."""
    return populate(engine, web_settings(tmp_path))


def post(client: TestClient, token: str, path: str, form: dict[str, str]) -> tuple[int, str]:
    """Post a form with the session's token; the status and error message of the answer."""
    return error_of(client.post(path, data={**form, "csrf_token": token}))


@pytest.mark.parametrize("role", READERS)
def test_ids_beyond_a_database_integer_are_no_page(client: TestClient, role: UserRole) -> None:
    token = sign_in(client, NAME_OF[role])
    gets = [f"/letters/{BEYOND}", f"/replies/{BEYOND}", "/letters/0", f"/letters/{2**63}"]
    gets += [f"/replies/{10**20}", "/letters/007", "/letters/%C2%B2"]
    posts = [f"/letters/{BEYOND}/resolve", f"/replies/{2**63}/code", f"/replies/{BEYOND}/match"]
    answers = [error_of(client.get(path)) for path in gets]
    answers += [post(client, token, path, {"outcome": "sent"}) for path in posts]
    assert answers == [(404, "there is no such page")] * 10


@pytest.mark.parametrize("role", READERS)
def test_the_largest_database_integer_is_looked_up(client: TestClient, role: UserRole) -> None:
    sign_in(client, NAME_OF[role])
    assert [error_of(client.get(f"/{kind}/{LARGEST}")) for kind in ("letters", "replies")] == [
        (404, f"no letter {LARGEST}"),
        (404, f"no inbound message {LARGEST}"),
    ]


def test_the_largest_database_integer_is_looked_up_by_actions(client: TestClient) -> None:
    token = sign_in(client, "anna")
    resolved = post(client, token, f"/letters/{LARGEST}/resolve", {"outcome": "sent"})
    coded = post(client, token, f"/replies/{LARGEST}/code", {"stance:icj-order": "supports"})
    assert (resolved, coded) == (
        (404, f"no letter {LARGEST} (see `outreach letters list`)"),
        (404, f"no inbound message {LARGEST}"),
    )


@pytest.mark.parametrize(
    ("letter_id", "message"),
    [
        ("99999999999999999999", "letter 99999999999999999999: no letter has such a number"),
        (str(BEYOND), f"letter {BEYOND}: no letter has such a number"),
        (str(2**63), f"letter {2**63}: no letter has such a number"),
        ("0", "letter 0: no letter has such a number"),
        ("²", "letter '²': give the letter's number, e.g. 42"),
        ("٤٢", "letter '٤٢': give the letter's number, e.g. 42"),
        (str(LARGEST), f"no letter {LARGEST} (see `outreach letters list`)"),
    ],
)
def test_a_letter_number_the_database_cannot_hold_is_refused_when_matching(
    client: TestClient, world: World, letter_id: str, message: str
) -> None:
    token = sign_in(client, "eddie")
    answer = post(client, token, f"/replies/{world.unmatched}/match", {"letter_id": letter_id})
    status = 404 if letter_id == str(LARGEST) else 400
    assert (answer, audit(world.engine, "reply.match")) == ((status, message), [])


@pytest.mark.parametrize("role", READERS)
def test_control_characters_in_the_path_are_refused(client: TestClient, role: UserRole) -> None:
    sign_in(client, NAME_OF[role])
    paths = {
        "/campaigns/%00": "name",
        "/campaigns/%00/preview": "name",
        "/recipients/%00": "key",
        "/recipients/a%01b": "key",
        "/reports/%00": "name",
        "/reports/%00/html": "name",
    }
    assert [error_of(client.get(path)) for path in paths] == [
        (400, f"{field}: {NUL_REFUSED}") for field in paths.values()
    ]


@pytest.mark.parametrize("role", READERS)
def test_control_characters_in_the_query_are_refused(client: TestClient, role: UserRole) -> None:
    sign_in(client, NAME_OF[role])
    paths = {
        "/recipients?q=%00": "q",
        "/recipients?where=language%3D%00": "where",
        "/recipients?where=kind%3Dmep%0Acity%3D%00": "where",
        "/letters?campaign=%00": "campaign",
        "/letters?state=unknown%00": "state",
        "/replies?show=%00": "show",
        "/reports/test?where=tag%3D%00": "where",
        "/reports/test/html?where=tag%3D%00": "where",
        "/campaigns?x%00=1": "a query parameter's name",
    }
    assert [error_of(client.get(path)) for path in paths] == [
        (400, f"{field}: {NUL_REFUSED}") for field in paths.values()
    ]


def test_control_characters_in_the_path_of_an_action_are_refused(
    client: TestClient, world: World
) -> None:
    token = sign_in(client, "anna")
    answers = [
        post(client, token, "/campaigns/%00/pause", {"reason": "visit"}),
        post(client, token, "/campaigns/%00/resume", {}),
        post(client, token, "/campaigns/%00/approve", {}),
    ]
    assert answers == [(400, f"name: {NUL_REFUSED}")] * 3
    assert audit(world.engine, "campaign.paused") == []


@pytest.mark.parametrize(
    ("path", "form", "field", "action"),
    [
        (
            "/replies/{reply}/code",
            {"stance:un-fact-finding": "supports", "evidence:un-fact-finding": "we\x00 agree"},
            "evidence:un-fact-finding",
            "reply.code",
        ),
        (
            "/replies/{reply}/code",
            {"stance:un-fact-finding": "supports\x00"},
            "stance:un-fact-finding",
            "reply.code",
        ),
        ("/replies/{unmatched}/match", {"letter_id": "1\x00"}, "letter id", "reply.match"),
        ("/suppressions", {"address": "a@example.org", "reason": "a\x00"}, "reason", "suppress"),
        ("/suppressions", {"address": "a\x00@example.org", "reason": "x"}, "address", "suppress"),
        (
            "/suppressions/lift",
            {"address": "lift.me@example.org", "reason": "\x00"},
            "reason",
            "unsuppress",
        ),
        ("/campaigns/test/pause", {"reason": "visit\x00"}, "reason", "campaign.paused"),
        ("/letters/{unknown}/resolve", {"outcome": "sent\x00"}, "outcome", "letter.resolve"),
    ],
)
def test_control_characters_in_a_form_are_refused(
    client: TestClient, world: World, path: str, form: dict[str, str], field: str, action: str
) -> None:
    token = sign_in(client, "anna")
    url = path.format(reply=world.reply, unmatched=world.unmatched, unknown=world.unknown)
    answer = post(client, token, url, form)
    changes = [who for who, _ in audit(world.engine, action) if who == "anna"]
    assert (answer, changes) == ((400, f"{field}: {NUL_REFUSED}"), [])


def test_a_name_with_a_nul_signs_no_one_in(client: TestClient) -> None:
    response = client.post(
        "/signin",
        data={"name": "anna\x00", "password": "x" * 20, "csrf_token": token_of(client)},
    )
    assert response.status_code == 400
    assert "wrong name or password" in response.text


@pytest.mark.parametrize("role", READERS)
def test_a_segment_of_hundreds_of_filters_is_refused(client: TestClient, role: UserRole) -> None:
    sign_in(client, NAME_OF[role])
    where = "%0A".join(["tag%3Dx"] * 500)
    paths = [f"/recipients?where={where}", f"/reports/test?where={where}"]
    assert [error_of(client.get(path)) for path in paths] == [
        (400, "--where: 500 filters; a segment takes at most 50")
    ] * 2
