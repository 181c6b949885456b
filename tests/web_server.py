"""The dashboard served by uvicorn on a loopback port, in a thread, for tests through real HTTP."""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.applications import Starlette

from outreach.config import WebSettings
from outreach.web.server import server_options
from tests.test_web import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
BACK = re.compile(r'<a href="([^"]*)">Back</a>')


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    """Serve `app` as `outreach web` does, on a free loopback port; yields its base URL."""
    port = free_port()
    web = WebSettings(host="127.0.0.1", port=port)
    # The options of `outreach web`, but the test run's logging left as pytest set it up.
    config = uvicorn.Config(app, **server_options(web, log_config=False))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped at start"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def browser(base: str) -> httpx.Client:
    """A client of the served dashboard that keeps its cookies and follows no redirect."""
    return httpx.Client(base_url=base, follow_redirects=False, timeout=30)


def token_of(client: httpx.Client, path: str = "/signin") -> str:
    """The CSRF token printed in the forms of `path`."""
    found = TOKEN.search(client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> str:
    """Sign in over HTTP; returns the session's CSRF token."""
    response = client.post(
        "/signin", data={"name": name, "password": password, "csrf_token": token_of(client)}
    )
    assert response.status_code == 303, response.text
    return token_of(client, "/campaigns")


def copy_of(client: httpx.Client, base: str) -> httpx.Client:
    """Another client holding the same cookies: what someone who copied the cookie holds."""
    thief = browser(base)
    for cookie in client.cookies.jar:
        thief.cookies.set(cookie.name, cookie.value or "")
    return thief


def back_link(response: httpx.Response) -> str:
    """Where the error page's Back link points."""
    found = BACK.search(response.text)
    assert found, response.text
    return html.unescape(found.group(1))
