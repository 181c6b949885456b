"""Recipient pages: search and segment (the CLI's --where), one recipient and its edit form
(editor), and the suppression list: suppress an address (editor) or lift one (approver)."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach import clock
from outreach.accounts import User, UserRole
from outreach.db import session_scope
from outreach.models import SuppressionSource
from outreach.recipients.edit import EDITABLE, edit_recipient, field_texts
from outreach.recipients.segment import FIELDS, Condition, column, parse_where, to_conditions
from outreach.recipients.table import count_recipients, get_recipient, iter_recipients, to_json
from outreach.suppression import find_suppression, list_suppressions, suppress, unsuppress
from outreach.web.dashboard import dashboard, notice
from outreach.web.guard import action, back_to, field, page
from outreach.web.pages import render
from outreach.web.params import query

MAX_ROWS = 200
SEARCHED = ("key", "given_name", "family_name", "organisation", "email_key", "city")


def search_condition(text: str) -> Condition:
    """Recipients whose key, names, organisation, address or city contain `text` (any case)."""
    needle = text.lower()
    return sa.or_(
        *(sa.func.lower(column(name)).contains(needle, autoescape=True) for name in SEARCHED)
    )


@page()
def recipient_list(request: Request, user: User) -> Response:
    """Recipients matching the filters (one FIELD=VALUE a line) and the search text."""
    where_text = query(request, "where")
    search = query(request, "q")[:200]
    where = [line.strip() for line in where_text.splitlines() if line.strip()]
    conditions = to_conditions(parse_where(where))
    if search:
        conditions.append(search_condition(search))
    with session_scope(dashboard(request).engine, write=False) as session:
        total = count_recipients(session, conditions)
        rows = list(itertools.islice(iter_recipients(session, conditions), MAX_ROWS))
    return render(
        request,
        "recipients.html",
        {
            "title": "Recipients",
            "rows": rows,
            "total": total,
            "where": "\n".join(where),
            "q": search,
            "fields": FIELDS,
        },
    )


@page()
def recipient_page(request: Request, user: User) -> Response:
    """Every field of one recipient, and whether their address is suppressed."""
    key = request.path_params["key"]
    with session_scope(dashboard(request).engine, write=False) as session:
        row = get_recipient(session, key)
        data = to_json(row)
        entry = find_suppression(session, row.email) if row.email else None
    return render(
        request,
        "recipient.html",
        {
            "title": f"Recipient {key}",
            "recipient": row,
            "data": data,
            "suppression": entry,
            "editable": field_texts(row),
            "may_edit": user.role.allows(UserRole.EDITOR),
            "may_lift": user.role.allows(UserRole.APPROVER),
        },
    )


@action(UserRole.EDITOR)
def edit_recipient_fields(request: Request, user: User, form: FormData) -> Response:
    """Save the fields changed in the form: validated as an import is, all or nothing."""
    key = request.path_params["key"]
    with session_scope(dashboard(request).engine) as session:
        current = field_texts(get_recipient(session, key))
        # Only the fields the form carries: a field left out is not a field emptied.
        changes = {
            name: submitted
            for name in EDITABLE
            if name in form
            and (submitted := field(form, name, required=False, limit=1000)) != current[name]
        }
        changed = (
            edit_recipient(session, key, changes, actor=user.name, now=clock.now())
            if changes
            else []
        )
    notice(request, f"changed {', '.join(changed)}" if changed else "nothing was changed")
    return back_to(form, f"/recipients/{key}")


@page()
def suppression_list(request: Request, user: User) -> Response:
    """The suppression list (erased people appear only as a hash)."""
    with session_scope(dashboard(request).engine, write=False) as session:
        entries = list_suppressions(session)
    return render(
        request,
        "suppressions.html",
        {
            "title": "Suppression list",
            "entries": entries,
            "may_edit": user.role.allows(UserRole.EDITOR),
            "may_lift": user.role.allows(UserRole.APPROVER),
        },
    )


@action(UserRole.EDITOR)
def add_suppression(request: Request, user: User, form: FormData) -> Response:
    """Never write to an address again (checked again at every send)."""
    address = field(form, "address", limit=320)
    reason = field(form, "reason", limit=1000)
    requested = form.get("requested") == "yes"
    source = SuppressionSource.REQUEST if requested else SuppressionSource.MANUAL
    with session_scope(dashboard(request).engine) as session:
        entry, new = suppress(session, address, reason=reason, source=source, actor=user.name)
    shown = entry.address or "(erased address)"
    notice(request, f"suppressed {shown}" if new else f"{shown} was already suppressed")
    return back_to(form, "/suppressions")


@action(UserRole.APPROVER)
def lift_suppression(request: Request, user: User, form: FormData) -> Response:
    """Lift a suppression added by mistake (never one left by an erasure)."""
    address = field(form, "address", limit=320)
    reason = field(form, "reason", limit=1000)
    with session_scope(dashboard(request).engine) as session:
        entry = unsuppress(session, address, actor=user.name, reason=reason)
    notice(request, f"{entry.address} may be written to again")
    return back_to(form, "/suppressions")


routes = [
    Route("/recipients", recipient_list, methods=["GET"]),
    Route("/recipients/{key}", recipient_page, methods=["GET"]),
    Route("/recipients/{key}", edit_recipient_fields, methods=["POST"]),
    Route("/suppressions", suppression_list, methods=["GET"]),
    Route("/suppressions", add_suppression, methods=["POST"]),
    Route("/suppressions/lift", lift_suppression, methods=["POST"]),
]
