"""What every request of the dashboard shares, kept on the application's state."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from outreach.config import Settings
from outreach.web.throttle import Throttle

SESSION_CSRF = "csrf"
SESSION_NOTICE = "notice"


@dataclass(frozen=True)
class Dashboard:
    """The database, the settings, the templates and the sign-in throttles."""

    engine: Engine
    settings: Settings
    templates: Jinja2Templates
    name_throttle: Throttle
    address_throttle: Throttle


def dashboard(request: Request) -> Dashboard:
    """The dashboard serving this request."""
    shared: Dashboard = request.app.state.dashboard
    return shared


def csrf_token(request: Request) -> str:
    """The session's CSRF token (synchronizer pattern), made on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def notice(request: Request, message: str) -> None:
    """A message shown once, on the next page (after the redirect of an action)."""
    request.session[SESSION_NOTICE] = message
