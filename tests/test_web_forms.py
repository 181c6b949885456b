"""The dashboard's sign-in, sessions, security headers, and errors shown as pages (no traces)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from starlette.testclient import TestClient

from outreach.accounts import disable_user
from outreach.db import session_scope
from outreach.errors import InputError
from outreach.recipients.record import RecipientKind
from outreach.recipients.segment import FIELDS
from tests.test_web import (
    PASSWORD,
    World,
    audit,
    client_for,
    error_of,
    sign_in,
    token_of,
)

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def test_sign_in_sets_a_signed_httponly_samesite_cookie(client: TestClient, world: World) -> None:
    response = client.post(
        "/signin",
        data={"name": "vera", "password": PASSWORD, "csrf_token": token_of(client)},
        follow_redirects=False,
    )
    assert (response.status_code, response.headers["location"]) == (303, "/campaigns")
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("outreach_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" not in cookie  # served on loopback
    assert ("vera", "vera") in audit(world.engine, "user.signin")


def test_off_loopback_the_cookie_is_secure(world: World) -> None:
    settings = world.settings.model_copy(
        update={"web": world.settings.web.model_copy(update={"host": "0.0.0.0"})}
    )
    with client_for(World(world.engine, settings, 0, 0, 0, 0)) as client:
        response = client.get("/signin")
        assert "secure" in response.headers["set-cookie"].lower()


def secure_cookie(world: World, **web: object) -> bool:
    """Whether the session cookie the sign-in page sets is Secure, with these [web] settings."""
    settings = world.settings.model_copy(update={"web": world.settings.web.model_copy(update=web)})
    with client_for(World(world.engine, settings, 0, 0, 0, 0)) as client:
        return "; secure" in client.get("/signin").headers["set-cookie"].lower()


def test_behind_a_tls_proxy_on_loopback_the_cookie_can_be_made_secure(world: World) -> None:
    assert secure_cookie(world, host="127.0.0.1", secure_cookies=True) is True


def test_off_loopback_the_cookie_can_be_made_plain(world: World) -> None:
    assert secure_cookie(world, host="0.0.0.0", secure_cookies=False) is False


def test_by_default_the_cookie_is_secure_only_off_loopback(world: World) -> None:
    assert (secure_cookie(world, host="::1"), secure_cookie(world, host="192.0.2.7")) == (
        False,
        True,
    )


def test_a_tampered_cookie_is_no_session(client: TestClient) -> None:
    sign_in(client, "anna")
    value = client.cookies["outreach_session"]
    client.cookies.set("outreach_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/campaigns", follow_redirects=False).status_code == 303


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(client: TestClient) -> None:
    wrong = client.post(
        "/signin",
        data={"name": "anna", "password": "not it at all", "csrf_token": token_of(client)},
    )
    unknown = client.post(
        "/signin",
        data={"name": "nobody", "password": "not it at all", "csrf_token": token_of(client)},
    )
    assert wrong.status_code == unknown.status_code == 400
    assert "wrong name or password" in wrong.text
    assert "wrong name or password" in unknown.text


def test_sign_in_needs_the_form_token(client: TestClient) -> None:
    client.get("/signin")
    response = client.post("/signin", data={"name": "anna", "password": PASSWORD})
    assert response.status_code == 403
    assert client.get("/campaigns", follow_redirects=False).status_code == 303


def test_repeated_failures_make_the_name_wait(client: TestClient) -> None:
    for _ in range(5):
        assert (
            client.post(
                "/signin",
                data={
                    "name": "anna",
                    "password": "guess guess guess",
                    "csrf_token": token_of(client),
                },
            ).status_code
            == 400
        )
    locked = client.post(
        "/signin", data={"name": "anna", "password": PASSWORD, "csrf_token": token_of(client)}
    )
    assert locked.status_code == 429
    assert "too many failed sign-ins: try again in 1 minute(s)" in locked.text


def test_after_sign_in_it_goes_back_but_only_to_this_site(client: TestClient) -> None:
    page = client.get("/replies?show=all", follow_redirects=False)
    assert page.headers["location"] == "/signin?next=%2Freplies%3Fshow%3Dall"
    form = client.get(page.headers["location"]).text
    assert 'name="next" value="/replies?show=all"' in form
    response = client.post(
        "/signin",
        data={
            "name": "vera",
            "password": PASSWORD,
            "csrf_token": token_of(client),
            "next": "//evil.example.com/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/campaigns"


def test_sign_out_ends_the_session(client: TestClient) -> None:
    token = sign_in(client, "eddie")
    response = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert response.headers["location"] == "/signin"
    assert client.get("/campaigns", follow_redirects=False).status_code == 303


def test_a_session_ends_session_hours_after_sign_in(client: TestClient) -> None:
    with time_machine.travel(dt.datetime.now(dt.UTC), tick=True) as clock:
        token = sign_in(client, "anna")
        for _ in range(16):  # busy all along: a page every half hour
            clock.shift(dt.timedelta(minutes=29))
            assert client.get("/campaigns", follow_redirects=False).status_code == 200
        # An action re-signs the cookie (its notice), which must not renew the session.
        client.post("/campaigns/test/pause", data={"csrf_token": token})
        clock.shift(dt.timedelta(minutes=17))  # 8 h 1 min after sign-in
        assert client.get("/campaigns", follow_redirects=False).status_code == 303
        assert "your session ended 8 hours after signing in" in client.get("/signin").text


def test_disabling_a_user_ends_their_session_at_once(client: TestClient, world: World) -> None:
    sign_in(client, "eddie")
    with session_scope(world.engine) as session:
        disable_user(session, "eddie", actor="anna")
    assert client.get("/campaigns", follow_redirects=False).status_code == 303
    again = client.post(
        "/signin", data={"name": "eddie", "password": PASSWORD, "csrf_token": token_of(client)}
    )
    assert again.status_code == 400


def test_pages_carry_security_headers(client: TestClient) -> None:
    sign_in(client, "vera")
    headers = client.get("/campaigns").headers
    assert "script-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "SAMEORIGIN"
    assert headers["cache-control"] == "no-store"
    assert client.get("/static/style.css").status_code == 200


def test_only_the_stylesheet_and_icon_are_public(client: TestClient) -> None:
    assert client.get("/static/style.css").status_code == 200
    assert client.get("/favicon.ico").headers["content-type"] == "image/svg+xml"


def test_static_files_do_not_reach_outside_their_folder(client: TestClient) -> None:
    # Percent-encoded, the dots reach StaticFiles (httpx would resolve a literal "/../");
    # outreach/web/app.py is really there, one level above the static folder.
    response = client.get("/static/%2e%2e/app.py")
    assert response.request.url.raw_path == b"/static/%2e%2e/app.py"
    assert error_of(response) == (404, "there is no such page")


@pytest.mark.parametrize(
    ("path", "form", "status", "message"),
    [
        ("/campaigns/spring/resume", {}, 409, "campaign spring is draft: it cannot become running"),
        (
            "/campaigns/nope/pause",
            {},
            404,
            "no campaign named 'nope' (see `outreach campaign list`)",
        ),
        (
            "/letters/999999/resolve",
            {"outcome": "sent"},
            404,
            "no letter 999999 (see `outreach letters list`)",
        ),
        (
            "/letters/{sent}/resolve",
            {"outcome": "sent"},
            409,
            "letter {sent} is replied: only an unknown letter is resolved",
        ),
        (
            "/letters/{unknown}/resolve",
            {"outcome": "maybe"},
            400,
            "say what happened: sent or not-sent",
        ),
        ("/replies/{reply}/code", {}, 400, "choose a stance for at least one demand"),
        (
            "/replies/{reply}/code",
            {"stance:un-fact-finding": "loves"},
            400,
            "demand un-fact-finding: 'loves' is not a stance; the stance must be one of: "
            "supports, commits, noncommittal, declines, not_addressed",
        ),
        (
            "/replies/{unmatched}/code",
            {"stance:un-fact-finding": "supports"},
            409,
            "message {unmatched} is not matched to a letter: match it to one first",
        ),
        (
            "/replies/{unmatched}/match",
            {"letter_id": "x1"},
            400,
            "letter 'x1': give the letter's number, e.g. 42",
        ),
        (
            "/replies/{unmatched}/match",
            {"letter_id": "999999"},
            404,
            "no letter 999999 (see `outreach letters list`)",
        ),
        (
            "/suppressions",
            {"address": "not an address", "reason": "x"},
            400,
            '"not an address" is not a valid e-mail address: An email address must have an @-sign.',
        ),
        ("/suppressions", {"address": "a@example.org"}, 400, "reason: this field is required"),
        (
            "/suppressions/lift",
            {"address": "a@example.org", "reason": "x"},
            404,
            "a@example.org is not on the suppression list",
        ),
    ],
)
def test_bad_input_is_a_message_on_the_page(
    client: TestClient, world: World, path: str, form: dict[str, str], status: int, message: str
) -> None:
    token = sign_in(client, "anna")
    ids = {
        "sent": world.sent,
        "unknown": world.unknown,
        "reply": world.reply,
        "unmatched": world.unmatched,
    }
    response = client.post(
        path.format(**ids),
        data={**form, "csrf_token": token},
        headers={"referer": "http://testserver/letters"},
    )
    assert error_of(response) == (status, message.format(**ids))
    assert 'href="/letters">Back</a>' in response.text


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/no/such/page", 404, "there is no such page"),
        ("/replies/999999", 404, "no inbound message 999999"),
        (
            "/recipients/nobody",
            404,
            "no recipient with key 'nobody' (see `outreach recipients list`)",
        ),
        (
            "/recipients?where=comittee%3DAFET",
            400,
            f"--where 'comittee=AFET': unknown field 'comittee'; fields: {', '.join(FIELDS)}",
        ),
        ("/letters?state=lost", 400, "state 'lost': choose one of unknown, failed, deferred"),
        ("/letters?state=sent", 400, "state 'sent': choose one of unknown, failed, deferred"),
        ("/replies?show=some", 400, "show='some': choose one of uncoded, review, unmatched, all"),
        (
            "/reports/test?where=kind%3Dspy",
            400,
            "--where kind=spy: not a kind; choose one of: "
            + ", ".join(kind.value for kind in RecipientKind),
        ),
    ],
)
def test_bad_addresses_are_pages_not_traces(
    client: TestClient, path: str, status: int, message: str
) -> None:
    sign_in(client, "vera")
    assert error_of(client.get(path)) == (status, message)


def test_an_unexpected_failure_is_a_plain_500_page(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("outreach.web.campaigns.letter_counts", broken)
    with client_for(world, raise_server_exceptions=False) as client:
        sign_in(client, "vera")
        response = client.get("/campaigns")
    assert error_of(response) == (
        500,
        "something went wrong on the server; it has been logged. Nothing was changed.",
    )
    assert "secret internals" not in response.text
    assert "secret internals" in caplog.text  # logged for the operator


def test_input_errors_keep_the_clis_wording(client: TestClient) -> None:
    """The page shows the domain's own message: the same guarantees as the command line."""
    sign_in(client, "vera")
    response = client.get("/recipients?where=kind")
    assert (
        str(InputError("--where 'kind': write FIELD=VALUE, e.g. --where kind=mep")).replace(
            "'", "&#39;"
        )
        in response.text
    )
