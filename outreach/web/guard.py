"""Who may do what: the signed-in user, role checks and the CSRF token of every form.

Every route is made by `page` (read) or `action` (change), so none can forget a check:
no session → redirect to sign-in; a role below the route's → 403; an action whose form does
not carry the session's CSRF token → 403; a path or query holding control characters → 400.
Roles are read from the database at each request, so disabling a user or changing a role
takes effect at once.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from outreach.accounts import User, UserRole, find_user
from outreach.db import session_scope
from outreach.errors import InputError
from outreach.web.dashboard import SESSION_CSRF, dashboard
from outreach.web.pages import show_error
from outreach.web.params import check_request, clean_text

SESSION_USER = "user"
SESSION_SINCE = "since"
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


def start_session(request: Request, user: User) -> None:
    """A fresh session for the user: new CSRF token, nothing kept from before sign-in."""
    request.session.clear()
    request.session[SESSION_USER] = user.name
    request.session[SESSION_SINCE] = int(time.time())
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def load_user(engine: Engine, name: str) -> User | None:
    """The active user of that name, if any."""
    with session_scope(engine, write=False) as session:
        user = find_user(session, name)
    return user if user is not None and not user.disabled else None


async def current_user(request: Request) -> User | None:
    """The signed-in user, or None (a session of a disabled or deleted user is ended)."""
    name = request.session.get(SESSION_USER)
    if not isinstance(name, str):
        return None
    # The cookie is re-signed whenever the session changes (a notice, say), which would renew
    # it; the sign-in time kept inside makes session_hours a limit from sign-in all the same.
    since = request.session.get(SESSION_SINCE)
    hours = dashboard(request).settings.web.session_hours
    if not isinstance(since, int) or time.time() - since > hours * 3600:
        request.session.clear()
        return None
    user = await run_in_threadpool(load_user, dashboard(request).engine, name)
    if user is None:
        request.session.clear()
    request.state.user = user
    return user


def local_path(target: str | None, default: str = "/campaigns") -> str:
    """`target` if it is a path on this site, else `default` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(char) < 32 for char in target):
        return default
    return target


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
