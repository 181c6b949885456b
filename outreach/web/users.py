"""The accounts page: who may sign in, with which role; an approver sees who is signed in and
can sign a user out everywhere (a lost laptop, a departure), as `outreach users signout` does."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from outreach import clock
from outreach.accounts import User, UserRole, list_users, sign_out_everywhere
from outreach.db import session_scope
from outreach.web.dashboard import dashboard, notice
from outreach.web.guard import action, page
from outreach.web.pages import render
from outreach.web_sessions import live_by_user


@page()
def user_list(request: Request, user: User) -> Response:
    """Every account; for approvers, its open sessions and a button to end them all."""
    with session_scope(dashboard(request).engine, write=False) as session:
        accounts = list_users(session)
        live = live_by_user(session, now=clock.now())
    rows = [(account, *live.get(account.id or 0, (0, None))) for account in accounts]
    context = {
        "title": "Users",
        "rows": rows,
        "may_end": user.role.allows(UserRole.APPROVER),
    }
    return render(request, "users.html", context)


@action(UserRole.APPROVER)
def user_signout(request: Request, user: User, form: FormData) -> Response:
    """End every session of the user, in every browser (audited as user.signout_everywhere)."""
    name = str(request.path_params["name"])
    with session_scope(dashboard(request).engine) as session:
        ended = sign_out_everywhere(session, name, actor=user.name)
    notice(request, f"{name}: {ended} session(s) ended")
    return RedirectResponse("/users", 303)


routes = [
    Route("/users", user_list, methods=["GET"]),
    Route("/users/{name}/signout", user_signout, methods=["POST"]),
]
