"""Signing in and out: argon2 verification, backoff per account and per client address, and a
session row that sign-out ends for every copy of the cookie."""

from __future__ import annotations

import logging
import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from outreach import clock
from outreach.accounts import MAX_PASSWORD, User, sign_out_everywhere, verify_password
from outreach.audit import record_event
from outreach.db import session_scope
from outreach.web.dashboard import Dashboard, dashboard
from outreach.web.guard import csrf_valid, current_user, refuse, session_of, start_session
from outreach.web.links import local_path
from outreach.web.pages import render
from outreach.web.proxies import client_address
from outreach.web_sessions import SessionEnd, end_session, open_session

log = logging.getLogger("outreach.web")


def signin_page(request: Request, *, error: str = "", status: int = 200) -> Response:
    """The sign-in form."""
    target = local_path(request.query_params.get("next"))
    return render(
        request, "signin.html", {"title": "Sign in", "error": error, "next": target}, status
    )


async def signin_form(request: Request) -> Response:
    """GET /signin: the form, or straight on for someone already signed in."""
    if await current_user(request) is not None:
        return RedirectResponse(local_path(request.query_params.get("next")), 303)
    return signin_page(request)


def check(shared: Dashboard, name: str, password: str) -> tuple[User, str] | None:
    """The user and a new session's id if the password is right (audited), else None."""
    with session_scope(shared.engine) as session:
        user = verify_password(session, name, password)
        if user is None or user.id is None:
            return None
        session_id = open_session(session, user.id, shared.lifetime, now=clock.now())
        record_event(session, user.name, "user.signin", user.name)
    return user, session_id


def client_of(request: Request, shared: Dashboard) -> str:
    """The client's address, as the throttle counts it (see outreach/web/proxies.py)."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    if forwarded and not shared.trusted_proxies and not shared.untrusted_forwarding_noted.is_set():
        shared.untrusted_forwarding_noted.set()
        log.warning(
            "requests carry X-Forwarded-For but web.trusted_proxies is empty: every client "
            "behind that proxy shares one limit of failed sign-ins; list the proxy's address "
            "in web.trusted_proxies"
        )
    return client_address(peer, forwarded, shared.trusted_proxies)


async def signin(request: Request) -> Response:
    """POST /signin: check the CSRF token, the throttles, then the password."""
    form = await request.form(max_files=0, max_fields=10)
    if not csrf_valid(request, form):
        return refuse(request, "the sign-in form has expired: reload the page and try again")
    name = str(form.get("name") or "").strip().lower()[:100]
    password = str(form.get("password") or "")[: MAX_PASSWORD + 1]
    shared = dashboard(request)
    account, address = f"name:{name}", f"address:{client_of(request, shared)}"
    wait = max(shared.name_throttle.wait(account), shared.address_throttle.wait(address))
    if wait > 0:
        minutes = math.ceil(wait / 60)
        return signin_page(
            request,
            error=f"too many failed sign-ins: try again in {minutes} minute(s)",
            status=429,
        )
    found = await run_in_threadpool(check, shared, name, password) if name and password else None
    if found is None:
        shared.name_throttle.fail(account)
        shared.address_throttle.fail(address)
        return signin_page(request, error="wrong name or password", status=400)
    shared.name_throttle.forget(account)
    start_session(request, found[1])
    target = form.get("next")
    return RedirectResponse(local_path(target if isinstance(target, str) else None), 303)


def end(shared: Dashboard, session_id: str, *, everywhere: bool) -> None:
    """End the session (and with `everywhere` every other of its user), audited."""
    with session_scope(shared.engine) as session:
        user_id = end_session(session, session_id, SessionEnd.SIGNOUT, now=clock.now())
        user = session.get(User, user_id) if user_id is not None else None
        if user is None:
            return
        record_event(session, user.name, "user.signout", user.name)
        if everywhere:
            sign_out_everywhere(session, user.name, actor=user.name)


async def signout(request: Request) -> Response:
    """POST /signout: end the session (CSRF-checked, so no other site can sign anyone out);
    with `everywhere`, every session of the user, in every browser."""
    form = await request.form(max_files=0, max_fields=10)
    session_id = session_of(request)
    if session_id is not None:
        if not csrf_valid(request, form):
            return refuse(request, "the form has expired: reload the page and try again")
        everywhere = form.get("everywhere") == "1"
        await run_in_threadpool(end, dashboard(request), session_id, everywhere=everywhere)
    request.session.clear()
    return RedirectResponse("/signin", 303)


routes = [
    Route("/signin", signin_form, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
]
