"""Signing in and out: argon2 verification, throttled per name and per client address."""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from outreach.accounts import MAX_PASSWORD, User, verify_password
from outreach.audit import record_event
from outreach.db import session_scope
from outreach.web.dashboard import Dashboard, dashboard
from outreach.web.guard import (
    SESSION_USER,
    csrf_valid,
    current_user,
    local_path,
    refuse,
    start_session,
)
from outreach.web.pages import render


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


def check(shared: Dashboard, name: str, password: str) -> User | None:
    """The user if the password is right; a success is recorded in the audit trail."""
    with session_scope(shared.engine) as session:
        user = verify_password(session, name, password)
        if user is not None:
            record_event(session, user.name, "user.signin", user.name)
    return user


async def signin(request: Request) -> Response:
    """POST /signin: check the CSRF token, the throttles, then the password."""
    form = await request.form(max_files=0, max_fields=10)
    if not csrf_valid(request, form):
        return refuse(request, "the sign-in form has expired: reload the page and try again")
    name = str(form.get("name") or "").strip().lower()[:100]
    password = str(form.get("password") or "")[: MAX_PASSWORD + 1]
    shared = dashboard(request)
    address = request.client.host if request.client else "unknown"
    keys = (f"name:{name}", f"address:{address}")
    wait = max(shared.name_throttle.wait(keys[0]), shared.address_throttle.wait(keys[1]))
    if wait > 0:
        minutes = math.ceil(wait / 60)
        return signin_page(
            request,
            error=f"too many failed sign-ins: try again in {minutes} minute(s)",
            status=429,
        )
    user = await run_in_threadpool(check, shared, name, password) if name and password else None
    if user is None:
        shared.name_throttle.fail(keys[0])
        shared.address_throttle.fail(keys[1])
        return signin_page(request, error="wrong name or password", status=400)
    shared.name_throttle.forget(keys[0])
    start_session(request, user)
    target = form.get("next")
    return RedirectResponse(local_path(target if isinstance(target, str) else None), 303)


async def signout(request: Request) -> Response:
    """POST /signout: end the session (CSRF-checked, so no other site can sign anyone out)."""
    form = await request.form(max_files=0, max_fields=10)
    if request.session.get(SESSION_USER) and not csrf_valid(request, form):
        return refuse(request, "the form has expired: reload the page and try again")
    request.session.clear()
    return RedirectResponse("/signin", 303)


routes = [
    Route("/signin", signin_form, methods=["GET"]),
    Route("/signin", signin, methods=["POST"]),
    Route("/signout", signout, methods=["POST"]),
]
