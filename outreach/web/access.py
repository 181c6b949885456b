"""The access log: one line per request with its method, route template, status and duration.

Never the path's values or the query: a path such as /recipients/emb-fr-am-head names a
person, and a query holds what staff searched for (names, addresses). Those would outlive an
erasure in log files that `outreach recipients erase` cannot reach, so they are never written:
the route's template (/recipients/{key}) says what was asked for, not about whom. Nor the
client's address, which is personal data too (GDPR recital 30). uvicorn's own access log is
turned off (outreach/web/server.py).
"""

from __future__ import annotations

import logging
import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("outreach.web.access")
UNMATCHED = "(no route)"


def template_of(scope: Scope) -> str:
    """The template of the route that served the request, e.g. /recipients/{key}."""
    route = scope.get("route")
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class AccessLog:
    """ASGI middleware, outermost: logs each request once it is answered.

    Starlette hands an exception on after its 500 page has gone out (for servers to log it);
    here it ends, already logged with its trace by the error page's handler, because uvicorn
    would answer it by closing the connection, and the browser might never show the page.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; log its line when the response is over."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        complete = False

        async def sending(message: Message) -> None:
            nonlocal status, complete
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                complete = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if not complete:
                raise
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.0fms", scope["method"], template_of(scope), status, elapsed)
