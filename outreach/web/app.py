"""The application factory: routes, sessions, security headers, access log and error pages."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from outreach.config import Settings, WebSettings
from outreach.errors import OutreachError
from outreach.web import campaigns, letters, recipients, replies, reports, signin, users
from outreach.web.access import AccessLog
from outreach.web.dashboard import Dashboard
from outreach.web.headers import SecurityHeaders
from outreach.web.pages import domain_error, http_error, make_templates, server_error
from outreach.web.proxies import parse_networks
from outreach.web.secret import signing_key
from outreach.web.throttle import ACCOUNT, ADDRESS, Backoff
from outreach.web_sessions import Lifetime

STATIC = Path(__file__).with_name("static")
COOKIE = "outreach_session"


def is_loopback(host: str) -> bool:
    """Whether the server listens only on this machine (then plain HTTP is acceptable)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def secure_cookies(web: WebSettings) -> bool:
    """Whether the session cookie is Secure (sent over HTTPS only): `web.secure_cookies`, whose
    "auto" means off loopback; true serves a TLS proxy on the same machine as well."""
    if web.secure_cookies == "auto":
        return not is_loopback(web.host)
    return web.secure_cookies


async def favicon(request: Request) -> Response:
    """The icon browsers ask for on every page, even the report's (served here, not 404)."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


class Site(Starlette):
    """Starlette with the access log and the security headers outside everything else.

    Starlette's outermost layer answers unexpected errors (the 500 page) itself, past any
    middleware given to it: only from out here do the headers reach every response, error
    pages included, and does the log see every status.
    """

    def build_middleware_stack(self) -> ASGIApp:
        """The usual stack, wrapped in the headers and the log."""
        return AccessLog(SecurityHeaders(super().build_middleware_stack()))


def create_app(engine: Engine, settings: Settings) -> Starlette:
    """The dashboard on `engine`, with the key, host and session length of `settings.web`.

    The session cookie is signed (itsdangerous, via Starlette), HttpOnly and SameSite=Lax:
    Lax still sends it when staff follow a link to the dashboard, while every change is a POST
    that other sites cannot make with the cookie, and which carries the CSRF token anyway.
    Off loopback the cookie is also Secure, and on loopback too with `web.secure_cookies`
    true (behind a TLS proxy on this machine): the dashboard must then be served over HTTPS.
    """
    shared = Dashboard(
        engine=engine,
        settings=settings,
        templates=make_templates(),
        name_throttle=Backoff(ACCOUNT),
        address_throttle=Backoff(ADDRESS),
        lifetime=Lifetime.of(settings.web.session_hours, settings.web.idle_minutes),
        trusted_proxies=parse_networks(settings.web.trusted_proxies),
    )
    middleware = [
        Middleware(
            SessionMiddleware,
            secret_key=signing_key(settings),
            session_cookie=COOKIE,
            max_age=round(settings.web.session_hours * 3600),
            same_site="lax",
            https_only=secure_cookies(settings.web),
        ),
    ]
    routes = [
        *signin.routes,
        *campaigns.routes,
        *letters.routes,
        *replies.routes,
        *recipients.routes,
        *reports.routes,
        *users.routes,
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Site(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            OutreachError: domain_error,
            HTTPException: http_error,
            Exception: server_error,
        },
    )
    app.state.dashboard = shared
    return app
