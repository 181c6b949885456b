"""Report pages: a campaign's HTML report (the one `outreach report --format html` writes),
framed in the dashboard and on its own; read only."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlencode

from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from outreach.accounts import User
from outreach.appeal import Appeal, AppealError, load_appeal
from outreach.campaign import get_campaign
from outreach.config import Settings
from outreach.db import session_scope
from outreach.models import Campaign
from outreach.recipients.segment import parse_where
from outreach.reports.data import build_report
from outreach.web.dashboard import dashboard
from outreach.web.guard import page
from outreach.web.pages import render
from outreach.web.params import query

# The report's own policy (as in its <meta>): its inline styles and SVG, nothing from outside.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)
# matplotlib's rc_context, used while drawing the charts, changes process-wide settings:
# one report is drawn at a time.
DRAWING = threading.Lock()


def appeal_or_none(settings: Settings, slug: str) -> Appeal | None:
    """The campaign's appeal for the demands' text; None (demands shown by key) if it is gone."""
    try:
        return load_appeal(Path(settings.paths.templates) / slug)
    except AppealError:
        return None


def filters_of(request: Request) -> list[str]:
    """The report's --where filters, one a line of the `where` parameter, checked."""
    text = query(request, "where")
    where = [line.strip() for line in text.splitlines() if line.strip()]
    parse_where(where)  # a bad filter is an InputError shown on the page
    return where


@page()
def report_list(request: Request, user: User) -> Response:
    """The campaigns to report on."""
    with session_scope(dashboard(request).engine, write=False) as session:
        campaigns = session.exec(select(Campaign).order_by(col(Campaign.created_at))).all()
    return render(request, "reports.html", {"title": "Reports", "campaigns": campaigns})


@page()
def report_page(request: Request, user: User) -> Response:
    """The report of one campaign, framed, with its segment filter."""
    name = request.path_params["name"]
    where = filters_of(request)
    with session_scope(dashboard(request).engine, write=False) as session:
        campaign = get_campaign(session, name)
    query = urlencode({"where": "\n".join(where)}) if where else ""
    return render(
        request,
        "report.html",
        {
            "title": f"Report on {campaign.name}",
            "campaign": campaign,
            "where": "\n".join(where),
            "source": f"/reports/{campaign.name}/html" + (f"?{query}" if query else ""),
        },
    )


@page()
def report_html(request: Request, user: User) -> Response:
    """The self-contained HTML report itself (add download=1 to save it as a file)."""
    shared = dashboard(request)
    name = request.path_params["name"]
    where = filters_of(request)
    with session_scope(shared.engine, write=False) as session:
        campaign = get_campaign(session, name)
        figures = build_report(
            session,
            campaign,
            appeal=appeal_or_none(shared.settings, campaign.appeal_slug),
            where=where,
        )
    # Imported here, as in the CLI: the renderer (matplotlib) is heavy and only this page needs it.
    from outreach.reports.html import render_html

    with DRAWING:
        html = render_html(figures)
    headers = {"content-security-policy": REPORT_POLICY}
    if query(request, "download") == "1":
        headers["content-disposition"] = f'attachment; filename="report-{campaign.name}.html"'
    return HTMLResponse(html, headers=headers)


routes = [
    Route("/reports", report_list, methods=["GET"]),
    Route("/reports/{name}", report_page, methods=["GET"]),
    Route("/reports/{name}/html", report_html, methods=["GET"]),
]
