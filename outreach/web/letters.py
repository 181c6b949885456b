"""Letters needing attention (unknown, failed, deferred), one letter with its attempts, and
settling an unknown letter on evidence, as `outreach letters resolve` does.

Only unknown letters have an action: the domain has none for the others. A deferred letter is
tried again by itself; a failed one is final, and writing again means a new letter (`outreach
send` after correcting the address). Their pages say so instead of offering a button.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlmodel import Session, col, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from outreach import clock, outbox
from outreach.accounts import User, UserRole
from outreach.campaign import get_campaign
from outreach.db import session_scope
from outreach.errors import InputError, NotFoundError
from outreach.models import Attempt, Campaign, Letter, LetterState
from outreach.web.dashboard import dashboard, notice
from outreach.web.guard import action, back_to, field, page
from outreach.web.pages import render
from outreach.web.params import query

ATTENTION = (LetterState.UNKNOWN, LetterState.FAILED, LetterState.DEFERRED)
MAX_ROWS = 500
# What a person can do about a letter in each state needing attention (docs/campaigns.md).
ADVICE = {
    LetterState.UNKNOWN: "The connection broke while it was being handed over: the server may "
    "have accepted it, and it is never sent again by itself. Look for evidence, then settle it.",
    LetterState.DEFERRED: "The server refused it for now (or could not be reached): it is tried "
    "again by itself at the time due, until its retry deadline. Nothing to do; look if many are.",
    LetterState.FAILED: "The server refused it for good, or its retries ran out: it is never sent "
    "again. Read the server's answer below; to write again, correct the address and send a new "
    "letter with `outreach send`.",
}


def get_letter(session: Session, letter_id: int) -> Letter:
    """The letter with that id."""
    row = session.get(Letter, letter_id)
    if row is None:
        raise NotFoundError(f"no letter {letter_id}")
    return row


def letter_text(row: Letter) -> str:
    """The plain-text part of the letter as it was frozen ("" when its bytes are gone)."""
    if not row.mime:
        return ""
    message = message_from_bytes(row.mime, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    content = body.get_content() if body is not None else ""
    return content if isinstance(content, str) else ""


def campaign_names(session: Session) -> dict[int | None, str]:
    """Campaign names by id (ad hoc letters have none)."""
    return {c.id: c.name for c in session.exec(select(Campaign))}


@page()
def letter_list(request: Request, user: User) -> Response:
    """Letters in a state that needs a person, newest first; filter by state and campaign."""
    state = query(request, "state", limit=32)
    name = query(request, "campaign", limit=200)
    if state and state not in {s.value for s in ATTENTION}:
        raise InputError(f"state {state!r}: choose one of {', '.join(s.value for s in ATTENTION)}")
    states = [LetterState(state)] if state else list(ATTENTION)
    with session_scope(dashboard(request).engine, write=False) as session:
        chosen = select(Letter).where(col(Letter.state).in_(states))
        if name:
            chosen = chosen.where(Letter.campaign_id == get_campaign(session, name).id)
        rows = session.exec(chosen.order_by(col(Letter.id).desc()).limit(MAX_ROWS + 1)).all()
        names = campaign_names(session)
    return render(
        request,
        "letters.html",
        {
            "title": "Letters needing attention",
            "rows": rows[:MAX_ROWS],
            "more": len(rows) > MAX_ROWS,
            "names": names,
            "state": state,
            "campaign": name,
            "states": [s.value for s in ATTENTION],
            "advice": {s.value: ADVICE[s] for s in ATTENTION},
            "may_resolve": user.role.allows(UserRole.APPROVER),
        },
    )


@page()
def letter_page(request: Request, user: User) -> Response:
    """One letter: its state, every attempt, and the text exactly as it was sent."""
    letter_id: int = request.path_params["letter_id"]
    with session_scope(dashboard(request).engine, write=False) as session:
        row = get_letter(session, letter_id)
        attempts = session.exec(
            select(Attempt).where(Attempt.letter_id == letter_id).order_by(col(Attempt.id))
        ).all()
        names = campaign_names(session)
    return render(
        request,
        "letter.html",
        {
            "title": f"Letter {letter_id}",
            "letter": row,
            "campaign": names.get(row.campaign_id),
            "attempts": attempts,
            "text": letter_text(row),
            "advice": ADVICE.get(row.state, ""),
            "may_resolve": row.state is LetterState.UNKNOWN and user.role.allows(UserRole.APPROVER),
        },
    )


@action(UserRole.APPROVER)
def resolve(request: Request, user: User, form: FormData) -> Response:
    """Settle an unknown letter: it was sent, or it was not (then it is sent again)."""
    letter_id: int = request.path_params["letter_id"]
    outcome = field(form, "outcome")
    if outcome not in ("sent", "not-sent"):
        raise InputError("say what happened: sent or not-sent")
    with session_scope(dashboard(request).engine) as session:
        outbox.resolve_letter(
            session, letter_id, sent=outcome == "sent", actor=user.name, now=clock.now()
        )
    notice(
        request,
        f"letter {letter_id}: {'sent' if outcome == 'sent' else 'queued to be sent again'}",
    )
    return back_to(form, f"/letters/{letter_id}")


routes = [
    Route("/letters", letter_list, methods=["GET"]),
    Route("/letters/{letter_id:id}", letter_page, methods=["GET"]),
    Route("/letters/{letter_id:id}/resolve", resolve, methods=["POST"]),
]
