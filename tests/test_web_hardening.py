"""The dashboard attacked through real HTTP (uvicorn on loopback): headers on error pages, Back
links a Referer cannot steer, an access log without personal data, and sign-in throttling that
an attacker behind the same proxy as everyone cannot turn into a lock-out of everyone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from outreach.web.app import create_app
from tests.test_web import PASSWORD, World
from tests.web_server import back_link, browser, free_port, serve, sign_in, token_of

pytestmark = pytest.mark.usefixtures("cheap_hashing")

REPO = Path(__file__).resolve().parent.parent
ATTACKER = "203.0.113.9"
COLLEAGUE = "198.51.100.7"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def with_web(world: World, **web: object) -> World:
    """The world with other [web] settings."""
    settings = world.settings.model_copy(update={"web": world.settings.web.model_copy(update=web)})
    return World(world.engine, settings, world.reply, world.unmatched, world.unknown, world.sent)


@pytest.fixture
def base(world: World) -> Iterator[str]:
    """The dashboard on the populated SQLite database, served by uvicorn."""
    with serve(create_app(world.engine, world.settings)) as url:
        yield url


def assert_secured(response: httpx.Response) -> None:
    """The response carries the pages' security headers."""
    assert "frame-ancestors 'self'" in response.headers.get("content-security-policy", "")
    assert "script-src 'none'" in response.headers["content-security-policy"]
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


def test_a_500_page_carries_the_security_headers(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("outreach.web.campaigns.letter_counts", broken)
    with serve(create_app(world.engine, world.settings)) as url, browser(url) as client:
        sign_in(client, "vera")
        response = client.get("/campaigns")
    assert response.status_code == 500
    assert "secret internals" not in response.text
    assert_secured(response)


def test_404_405_and_403_pages_carry_the_security_headers(base: str) -> None:
    with browser(base) as client:
        missing = client.get("/no/such/page")
        wrong_method = client.put("/signin")
        forged = client.post("/signin", data={"name": "anna", "password": PASSWORD})
    assert [missing.status_code, wrong_method.status_code, forged.status_code] == [404, 405, 403]
    for response in (missing, wrong_method, forged):
        assert_secured(response)


@pytest.mark.parametrize(
    "referer",
    [
        "{base}//evil.example/",
        "{base}/\\evil.example/",
        "{base}/\t/evil.example/",
        "{base}/%2F%2Fevil.example",
        "//evil.example/",
        "https://evil.example/",
        "https://evil.example/campaigns",
        "/\\evil.example",
        "javascript:alert(document.cookie)",
        "{base}/javascript:alert(1)",
    ],
)
def test_a_hostile_referer_never_becomes_the_back_link(base: str, referer: str) -> None:
    with browser(base) as client:
        response = client.get("/no-such-page", headers={"Referer": referer.format(base=base)})
    assert response.status_code == 404
    back = back_link(response)
    assert back == "/campaigns" or (back.startswith("/") and back[1:2] not in "/\\"), back
    assert "evil.example" not in back or back.startswith("/%2F"), back
    assert not back.startswith(("//", "/\\", "javascript:")), back


def test_a_referer_of_this_dashboard_is_the_back_link(base: str) -> None:
    with browser(base) as client:
        response = client.get(
            "/no-such-page", headers={"Referer": f"{base}/letters?state=unknown&campaign=stuck"}
        )
    assert back_link(response) == "/letters?state=unknown&campaign=stuck"


def config_file(world: World, tmp_path: Path, port: int) -> Path:
    """An outreach.toml for `outreach web` on the world's database."""
    path = tmp_path / "served.toml"
    path.write_text(
        f"""
[database]
url = "{world.engine.url.render_as_string(hide_password=False)}"
[paths]
templates = "{REPO / "templates"}"
[sender]
name = "Appeal"
address = "appeal@outreach.example.org"
[web]
secret_file = "{world.settings.web.secret_file}"
port = {port}
""",
        encoding="utf-8",
    )
    return path


def wait_for(url: str, process: subprocess.Popen[str]) -> None:
    """Until the server answers (or the test fails if it stopped)."""
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[0]
        try:
            httpx.get(f"{url}/favicon.ico", timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "outreach web did not start"
            time.sleep(0.1)


def test_the_access_log_keeps_no_recipient_key_address_or_search(
    world: World, tmp_path: Path
) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "outreach",
        "--config",
        str(config_file(world, tmp_path, port)),
    ]
    process = subprocess.Popen(
        [*command, "web", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(url, process)
        with browser(url) as client:
            sign_in(client, "vera")
            assert client.get("/recipients/emb-fr-am-head").status_code == 200
            assert client.get("/recipients?q=Ambassadeur+Dupont-Secret").status_code == 200
            assert client.get("/recipients?q=someone%40example.org").status_code == 200
            assert client.get("/reports/test?where=tag%3Dsanctions-watch").status_code == 200
            assert client.get("/recipients/emb-xx-no-such-key").status_code == 404
            assert client.get("/no/such/emb-fr-am-head?q=someone").status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    for secret in (
        "emb-fr-am-head",
        "Dupont-Secret",
        "Ambassadeur",
        "someone",
        "example.org",
        "sanctions-watch",
        "emb-xx-no-such-key",
    ):
        assert secret not in output, f"{secret!r} in the log:\n{output}"
    assert "GET /recipients/{key} 200" in output, output
    assert "GET /recipients 200" in output, output
    assert "GET /recipients/{key} 404" in output, output
    assert "GET (no route) 404" in output, output


def attempt(client: httpx.Client, name: str, password: str, forwarded: str) -> int:
    """A sign-in through the proxy on this machine, which adds the client's address."""
    response = client.post(
        "/signin",
        data={"name": name, "password": password, "csrf_token": token_of(client)},
        headers={"X-Forwarded-For": forwarded},
    )
    return response.status_code


@pytest.fixture
def proxied(world: World) -> Iterator[str]:
    """The dashboard behind a reverse proxy on this machine (127.0.0.1), trusted as such."""
    behind = with_web(world, trusted_proxies=["127.0.0.1"])
    with serve(create_app(behind.engine, behind.settings)) as url:
        yield url


def test_a_storm_from_one_address_behind_the_proxy_locks_out_only_that_address(
    proxied: str,
) -> None:
    with browser(proxied) as attacker, browser(proxied) as colleague:
        answers = [
            attempt(attacker, name, "wrong password guess", ATTACKER)
            for name in ["anna", "eddie", "nobody", "root"] * 10
        ]
        assert answers[:20] == [400] * 20
        assert set(answers[20:]) == {429}  # the attacker's address waits
        assert attempt(colleague, "vera", PASSWORD, COLLEAGUE) == 303


def test_a_storm_against_one_account_from_many_addresses_leaves_the_others_alone(
    proxied: str,
) -> None:
    with browser(proxied) as attacker, browser(proxied) as colleague:
        answers = [
            attempt(attacker, "anna", "wrong password guess", f"192.0.2.{n}") for n in range(1, 41)
        ]
        assert answers[:5] == [400] * 5
        assert 429 in answers[5:]  # anna's account backs off
        assert attempt(colleague, "vera", PASSWORD, COLLEAGUE) == 303


def test_an_address_forged_in_x_forwarded_for_does_not_lock_its_owner_out(proxied: str) -> None:
    with browser(proxied) as attacker, browser(proxied) as colleague:
        for n in range(30):  # claims to be the colleague; the proxy appends the real address
            attempt(attacker, f"name{n}", "wrong password guess", f"{COLLEAGUE}, {ATTACKER}")
        assert attempt(colleague, "vera", PASSWORD, COLLEAGUE) == 303


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(base: str) -> None:
    with browser(base) as attacker:
        answers = [
            attempt(attacker, f"name{n}", "wrong password guess", f"192.0.2.{n}")
            for n in range(1, 26)
        ]
    assert answers[:20] == [400] * 20
    assert set(answers[20:]) == {429}  # a new forged address each time did not help


def test_the_log_of_an_unexpected_failure_names_the_route_not_the_recipient(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("outreach.web.recipients.get_recipient", broken)
    with serve(create_app(world.engine, world.settings)) as url, browser(url) as client:
        sign_in(client, "vera")
        response = client.get("/recipients/emb-fr-am-head?q=someone%40example.org")
    assert response.status_code == 500
    assert "GET /recipients/{key} failed" in caplog.text
    assert "secret internals" in caplog.text  # the trace is there for the operator
    assert "emb-fr-am-head" not in caplog.text
    assert "someone" not in caplog.text
