"""Who may do what: the signed-in user, role checks and the CSRF token of every form.

Every route is made by `page` (read) or `action` (change), so none can forget a check:
no live session → redirect to sign-in; a role below the route's → 403; an action whose form
does not carry the session's CSRF token → 403; a path or query holding control characters →
400. The cookie holds only the id of a session the server keeps (outreach/web_sessions.py),
checked at every request, GET and POST alike: a copy of the cookie is worth nothing once the
session has ended. Roles are read from the database at each request.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from outreach import clock
from outreach.accounts import User, UserRole
from outreach.db import session_scope
from outreach.errors import InputError
from outreach.web.dashboard import SESSION_CSRF, Dashboard, dashboard, notice
from outreach.web.links import local_path
from outreach.web.pages import show_error
from outreach.web.params import check_request, clean_text
from outreach.web_sessions import Gone, resume, touch

SESSION_ID = "sid"  # the key of the session id in the cookie
CSRF_FIELD = "csrf_token"
MAX_FIELDS = 200  # the largest form (coding every demand) has far fewer

PageHandler = Callable[[Request, User], Response]
ActionHandler = Callable[[Request, User, FormData], Response]
Endpoint = Callable[[Request], Awaitable[Response]]


def csrf_valid(request: Request, form: FormData) -> bool:
    """Whether the form carries the session's token (compared in constant time)."""
    expected = request.session.get(SESSION_CSRF)
    given = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def start_session(request: Request, session_id: str) -> None:
    """A fresh cookie for a new session: its id and a new CSRF token, nothing from before."""
    request.session.clear()
    request.session[SESSION_ID] = session_id
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def session_of(request: Request) -> str | None:
    """The session id the cookie carries, if any."""
    session_id = request.session.get(SESSION_ID)
    return session_id if isinstance(session_id, str) and session_id else None


def live_user(shared: Dashboard, session_id: str) -> User | Gone:
    """The active user of a live session (its idle time renewed), or why there is none."""
    now = clock.now()
    with session_scope(shared.engine, write=False) as session:
        found = resume(session, session_id, now=now)
        if isinstance(found, Gone):
            return found
        user = session.get(User, found.user_id)
    if user is None or user.disabled:  # disabling ends the sessions: this is in case
        return Gone.ENDED
    if found.stale:
        with session_scope(shared.engine) as session:
            touch(session, found, shared.lifetime, now=now)
    return user


def farewell(shared: Dashboard, gone: Gone) -> str | None:
    """What the sign-in page says about a session that ended by itself."""
    web = shared.settings.web
    if gone is Gone.IDLE:
        return (
            f"your session ended after {web.idle_minutes:g} minutes without activity: sign in again"
        )
    if gone is Gone.EXPIRED:
        return f"your session ended {web.session_hours:g} hours after signing in: sign in again"
    return None


async def current_user(request: Request) -> User | None:
    """The signed-in user, or None; a cookie of an ended session is cleared."""
    session_id = session_of(request)
    if session_id is None:
        return None
    shared = dashboard(request)
    found = await run_in_threadpool(live_user, shared, session_id)
    if isinstance(found, Gone):
        request.session.clear()
        if message := farewell(shared, found):
            notice(request, message)
        return None
    request.state.user = found
    return found


def to_signin(request: Request) -> Response:
    """Redirect to the sign-in page, coming back here afterwards (for a page, not an action)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/signin" if request.method != "GET" else f"/signin?next={quote(back, safe='')}"
    return RedirectResponse(target, status_code=303)


def refuse(request: Request, message: str) -> Response:
    """A 403 page saying why."""
    return show_error(request, "Not allowed", message, 403)


def page(role: UserRole = UserRole.VIEWER) -> Callable[[PageHandler], Endpoint]:
    """A GET route for users of at least `role`; the handler runs in a worker thread."""

    def wrap(handler: PageHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            user = await current_user(request)
            if user is None:
                return to_signin(request)
            if not user.role.allows(role):
                return refuse(request, f"this page is for the {role.value} role and above")
            check_request(request)
            return await run_in_threadpool(handler, request, user)

        mark(endpoint, handler, role, changes=False)
        return endpoint

    return wrap


def action(role: UserRole) -> Callable[[ActionHandler], Endpoint]:
    """A POST route that changes something: signed in, CSRF token checked, role checked."""

    def wrap(handler: ActionHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            user = await current_user(request)
            if user is None:
                return to_signin(request)
            form = await request.form(max_files=0, max_fields=MAX_FIELDS)
            if not csrf_valid(request, form):
                return refuse(
                    request,
                    "the form has expired or did not come from this dashboard: "
                    "reload the page and try again",
                )
            if not user.role.allows(role):
                return refuse(
                    request,
                    f"your role ({user.role.value}) cannot do this: it needs {role.value}",
                )
            check_request(request)
            return await run_in_threadpool(handler, request, user, form)

        mark(endpoint, handler, role, changes=True)
        return endpoint

    return wrap


def mark(endpoint: Any, handler: Any, role: UserRole, *, changes: bool) -> None:
    """Label the endpoint with its role and kind, for the tests that cover every route."""
    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    endpoint.required_role = role
    endpoint.changes = changes


def field(form: FormData, name: str, *, required: bool = True, limit: int = 4000) -> str:
    """A text field of the form, stripped; InputError when required and missing, too long, or
    holding control characters (line breaks and tabs aside)."""
    value = form.get(name)
    text = clean_text(name, value).strip() if isinstance(value, str) else ""
    if required and not text:
        raise InputError(f"{name.replace('_', ' ')}: this field is required")
    if len(text) > limit:
        raise InputError(f"{name.replace('_', ' ')}: at most {limit} characters")
    return text


def back_to(form: FormData, default: str) -> RedirectResponse:
    """See-other redirect to the form's `back` field if it is local, else `default`."""
    value = form.get("back")
    return RedirectResponse(local_path(value if isinstance(value, str) else None, default), 303)
