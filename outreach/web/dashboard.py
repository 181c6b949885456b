"""What every request of the dashboard shares, kept on the application's state."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from outreach.config import Settings
from outreach.web.proxies import Network
from outreach.web.throttle import Backoff
from outreach.web_sessions import Lifetime

SESSION_CSRF = "csrf"
SESSION_NOTICE = "notice"


@dataclass(frozen=True)
class Dashboard:
    """The database, the settings, the templates, the sign-in throttles and the proxies."""

    engine: Engine
    settings: Settings
    templates: Jinja2Templates
    name_throttle: Backoff
    address_throttle: Backoff
    lifetime: Lifetime
    trusted_proxies: tuple[Network, ...]
    # Set once the log has said that X-Forwarded-For arrives but no proxy is trusted.
    untrusted_forwarding_noted: threading.Event = field(default_factory=threading.Event)


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
