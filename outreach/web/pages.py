"""Pages: the Jinja2 templates, what every page is given, and the pages that show errors.

Errors a user can act on (OutreachError and bad form input) are shown on the page with their
message and a 4xx status; anything else is logged and shown as a plain 500 page, never a trace.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from outreach.campaign import CampaignError
from outreach.errors import NotFoundError, OutreachError, StateError
from outreach.web.access import template_of
from outreach.web.dashboard import SESSION_NOTICE, csrf_token, dashboard
from outreach.web.links import back_from

HERE = Path(__file__).parent
log = logging.getLogger("outreach.web")


def make_templates() -> Jinja2Templates:
    """The page templates: autoescaped, and strict about variables a page forgot to pass."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    return Jinja2Templates(env=env)


def when(value: dt.datetime | dt.date | None) -> str:
    """A timestamp as staff read it: UTC, to the minute."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200
) -> Response:
    """A page, with what every page shows: the user, the CSRF token, the one-time notice."""
    user = getattr(request.state, "user", None)
    values = {
        "user": user,
        "csrf_token": csrf_token(request),
        "notice": request.session.pop(SESSION_NOTICE, None),
        "path": request.url.path,
        "title": "",
        **(context or {}),
    }
    return dashboard(request).templates.TemplateResponse(request, name, values, status_code=status)


def referrer(request: Request) -> str:
    """The page of this dashboard the request came from (for a Back link), else the start."""
    return back_from(request.headers.get("referer", ""), request.url.netloc)


def show_error(request: Request, title: str, message: str, status: int) -> Response:
    """The error page: what went wrong, and the way back."""
    context = {"message": message, "title": title, "back": referrer(request)}
    return render(request, "error.html", context, status)


def status_of(error: OutreachError) -> int:
    """The HTTP status for a domain error: missing 404, refused by state 409, else 400."""
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, StateError | CampaignError):
        return 409
    return 400


async def domain_error(request: Request, exc: Exception) -> Response:
    """A domain error shown on a page with its message, as the CLI prints it."""
    assert isinstance(exc, OutreachError)
    status = status_of(exc)
    title = {404: "Not found", 409: "Not possible now"}.get(status, "Cannot do that")
    return show_error(request, title, str(exc), status)


async def http_error(request: Request, exc: Exception) -> Response:
    """404, 405 and the like as a page."""
    assert isinstance(exc, HTTPException)
    messages = {
        404: "there is no such page",
        405: "this address does not take that kind of request",
    }
    message = messages.get(exc.status_code, str(exc.detail))
    return show_error(request, "Error", message, exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    """An unexpected failure: logged with its trace, shown without it. The log names the
    route's template, never the path itself (it may hold a recipient's key)."""
    log.error("%s %s failed", request.method, template_of(request.scope), exc_info=exc)
    message = "something went wrong on the server; it has been logged. Nothing was changed."
    try:
        return show_error(request, "Error", message, 500)
    except Exception:  # the page itself failing must not hide the first error
        return Response(message, status_code=500, media_type="text/plain")
