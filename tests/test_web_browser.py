"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against uvicorn.

Signs in, approves a campaign after its preview, codes a reply, and opens the report, saving a
screenshot at each step (under $OUTREACH_SCREENSHOTS, else the test's temporary folder). No
browser is downloaded: Playwright launches /usr/bin/chromium.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from outreach.web.app import create_app
from tests.test_web import PASSWORD, World

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Read at import: the suite's autouse fixture removes every OUTREACH_* variable before a test.
SHOTS = os.environ.get("OUTREACH_SCREENSHOTS")

pytestmark = [
    pytest.mark.usefixtures("cheap_hashing"),
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason=f"{CHROMIUM} is missing (scripts/system-deps.sh installs it; on CI this fails)",
    ),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(world: World) -> Iterator[str]:
    """The dashboard served by uvicorn on a free loopback port, in a thread."""
    port = free_port()
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


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(SHOTS) if SHOTS else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_sign_in_approve_code_and_report(server: str, world: World, shots: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps.sh (it installs chromium)")
    from playwright.sync_api import expect, sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on(
            "response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        # Nothing may come from outside the dashboard (no CDN): record any such request.
        page.on(
            "request",
            lambda r: None if r.url.startswith((server, "data:")) else problems.append(r.url),
        )

        page.goto(f"{server}/campaigns")
        expect(page).to_have_url(f"{server}/signin?next=%2Fcampaigns")
        page.screenshot(path=shots / "01-sign-in.png", full_page=True)
        page.get_by_label("Name").fill("anna")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{server}/campaigns")
        expect(page.get_by_role("link", name="spring")).to_be_visible()
        page.screenshot(path=shots / "02-campaigns.png", full_page=True)

        page.get_by_role("link", name="spring").click()
        page.get_by_role("link", name="Preview the letters and approve").click()
        expect(page.locator("#sample-en")).to_be_visible()
        page.screenshot(path=shots / "03-approval-preview.png", full_page=True)
        page.get_by_role("button", name="Approve spring").click()
        expect(page).to_have_url(f"{server}/campaigns/spring")
        expect(page.locator(".notice")).to_contain_text("approved spring:")
        expect(page.locator("h1 .badge")).to_have_text("approved")
        page.screenshot(path=shots / "04-approved.png", full_page=True)

        page.get_by_role("link", name="Replies").click()
        page.get_by_role("link", name=str(world.reply), exact=True).click()
        expect(page.locator("#reply pre")).to_contain_text("We fully support the call")
        page.get_by_label("stance on un-fact-finding").select_option("supports")
        page.get_by_label("evidence for un-fact-finding").fill("We fully support the call")
        page.get_by_role("button", name="Save positions").click()
        expect(page.locator(".notice")).to_have_text("coded: un-fact-finding supports")
        expect(page.locator("#positions")).to_contain_text("anna")
        page.screenshot(path=shots / "05-reply-coded.png", full_page=True)

        page.get_by_role("link", name="Reports").click()
        page.get_by_role("link", name="test", exact=True).click()
        frame = page.frame_locator("iframe.report")
        expect(frame.locator("#funnel")).to_be_visible(timeout=30_000)
        expect(frame.locator("#matrix")).to_contain_text("We fully support the call")
        page.screenshot(path=shots / "06-report.png", full_page=True)
        page.goto(f"{server}/reports/test/html")
        expect(page.locator("#funnel")).to_be_visible()
        page.screenshot(path=shots / "07-report-alone.png", full_page=True)
        browser.close()

    assert problems == [], problems
    for name in ("01-sign-in", "02-campaigns", "03-approval-preview", "04-approved"):
        data = (shots / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n"), name
        assert len(data) > 10_000, f"{name}.png is suspiciously small"
