"""The reply inbox: uncoded, for review, unmatched or all messages; one reply beside the letter it
answers, with the suggestions and a coding form per demand; matching by hand; confirming or
rejecting a match for review. As `outreach replies`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import col, select
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from outreach import clock
from outreach.accounts import User, UserRole
from outreach.appeal import Appeal, AppealError, load_appeal
from outreach.config import Settings
from outreach.db import session_scope
from outreach.errors import InputError, NotFoundError, StateError
from outreach.inbox.manual import confirm_match, match_by_hand, reject_match
from outreach.models import InboundKind, InboundMessage, Letter, MatchStrength, Position, Stance
from outreach.positions import Coding, code_reply, positions_of, suggest, uncoded_replies
from outreach.web.dashboard import dashboard, notice
from outreach.web.guard import action, field, page
from outreach.web.letters import letter_text
from outreach.web.pages import render
from outreach.web.params import parse_id, query

VIEWS = ("uncoded", "review", "unmatched", "all")
MAX_ROWS = 500


def appeal_for(settings: Settings, slug: str) -> Appeal:
    """The appeal a letter carried, from the templates folder."""
    return load_appeal(Path(settings.paths.templates) / slug)


@page()
def reply_list(request: Request, user: User) -> Response:
    """Inbound messages: uncoded replies (the default), matches for review, unmatched ones
    (triage), or all."""
    view = query(request, "show", "uncoded", limit=32)
    if view not in VIEWS:
        raise InputError(f"show={view!r}: choose one of {', '.join(VIEWS)}")
    chosen = select(InboundMessage, Letter).join(
        Letter, col(Letter.id) == col(InboundMessage.letter_id), isouter=True
    )
    if view == "unmatched":
        chosen = chosen.where(col(InboundMessage.letter_id).is_(None))
    elif view == "uncoded":
        chosen = chosen.where(uncoded_replies())
    elif view == "review":
        chosen = chosen.where(InboundMessage.match_strength == MatchStrength.FOR_REVIEW)
    with session_scope(dashboard(request).engine, write=False) as session:
        rows = session.exec(
            chosen.order_by(col(InboundMessage.id).desc()).limit(MAX_ROWS + 1)
        ).all()
    return render(
        request,
        "replies.html",
        {
            "title": "Replies",
            "rows": rows[:MAX_ROWS],
            "more": len(rows) > MAX_ROWS,
            "view": view,
            "views": VIEWS,
        },
    )


def demand_rows(
    appeal: Appeal, letter: Letter, message: InboundMessage, current: list[Position]
) -> list[dict[str, Any]]:
    """Each demand of the appeal with its text, whether it was asked, suggested, and coded."""
    asked = set(filter(None, letter.demand_keys.split("|")))
    suggested = set(suggest(message.text, appeal, message.language))
    coded = {position.demand_key: position for position in current}
    language = letter.language if letter.language in appeal.languages else None
    rows = []
    for demand in appeal.demands:
        text = demand.text.get(language or appeal.default_language) or demand.key
        rows.append(
            {
                "key": demand.key,
                "text": text,
                "asked": not asked or demand.key in asked,
                "suggested": demand.key in suggested,
                "position": coded.get(demand.key),
            }
        )
    return rows


@page()
def reply_page(request: Request, user: User) -> Response:
    """One message: the stripped reply beside the letter it answers, suggestions, positions."""
    shared = dashboard(request)
    message_id: int = request.path_params["message_id"]
    with session_scope(shared.engine, write=False) as session:
        message = session.get(InboundMessage, message_id)
        if message is None:
            raise NotFoundError(f"no inbound message {message_id}")
        letter = session.get(Letter, message.letter_id) if message.letter_id else None
        current = positions_of(session, message_id)
        history = positions_of(session, message_id, history=True)
    demands: list[dict[str, Any]] = []
    appeal_problem = ""
    if letter is not None and message.kind is InboundKind.REPLY:
        try:
            demands = demand_rows(
                appeal_for(shared.settings, letter.appeal_slug), letter, message, current
            )
        except AppealError as exc:
            appeal_problem = str(exc)
    return render(
        request,
        "reply.html",
        {
            "title": f"Message {message_id}",
            "message": message,
            "letter": letter,
            "letter_text": letter_text(letter) if letter is not None else "",
            "for_review": message.match_strength is MatchStrength.FOR_REVIEW,
            "demands": demands,
            "appeal_problem": appeal_problem,
            "current": current,
            "earlier": [p for p in history if not p.current],
            "stances": [s.value for s in Stance],
            "may_edit": user.role.allows(UserRole.EDITOR),
            "may_code": user.role.allows(UserRole.EDITOR)
            and message.match_strength is not MatchStrength.FOR_REVIEW,
        },
    )


def codings_of(form: FormData, appeal: Appeal) -> list[Coding]:
    """The stances chosen in the coding form, one per demand given; InputError naming the
    demand for a stance that is not one, or when none was chosen."""
    codings = []
    for key in appeal.demand_keys:
        stance = field(form, f"stance:{key}", required=False, limit=32)
        if not stance:
            continue  # left blank: the demand keeps its coding
        try:
            chosen = Stance(stance)
        except ValueError:
            choices = ", ".join(s.value for s in Stance)
            raise InputError(
                f"demand {key}: {stance!r} is not a stance; the stance must be one of: {choices}"
            ) from None
        codings.append(Coding(key, chosen, field(form, f"evidence:{key}", required=False)))
    if not codings:
        raise InputError("choose a stance for at least one demand")
    return codings


@action(UserRole.EDITOR)
def code(request: Request, user: User, form: FormData) -> Response:
    """Record the stances chosen (a demand left blank keeps its coding); recoding keeps history."""
    shared = dashboard(request)
    message_id: int = request.path_params["message_id"]
    with session_scope(shared.engine) as session:
        message = session.get(InboundMessage, message_id)
        if message is None:
            raise NotFoundError(f"no inbound message {message_id}")
        if message.letter_id is None:
            raise StateError(
                f"message {message_id} is not matched to a letter: match it to one first"
            )
        letter = session.get(Letter, message.letter_id)
        assert letter is not None
        appeal = appeal_for(shared.settings, letter.appeal_slug)
        codings = codings_of(form, appeal)
        added = code_reply(session, message_id, appeal, codings, actor=user.name, now=clock.now())
    notice(
        request,
        "coded: " + ", ".join(f"{p.demand_key} {p.stance.value}" for p in added),
    )
    return RedirectResponse(f"/replies/{message_id}", 303)


@action(UserRole.EDITOR)
def match(request: Request, user: User, form: FormData) -> Response:
    """Attach a message to the letter it answers, with the effects of a match (as the CLI)."""
    shared = dashboard(request)
    message_id: int = request.path_params["message_id"]
    letter_id = parse_id(field(form, "letter_id", limit=40), "letter")
    with session_scope(shared.engine) as session:
        match_by_hand(
            session, message_id, letter_id, shared.settings, actor=user.name, now=clock.now()
        )
    notice(request, f"message {message_id} answers letter {letter_id}")
    return RedirectResponse(f"/replies/{message_id}", 303)


@action(UserRole.EDITOR)
def confirm(request: Request, user: User, form: FormData) -> Response:
    """Confirm a match for review: its deferred effects follow, audited (as the CLI)."""
    shared = dashboard(request)
    message_id: int = request.path_params["message_id"]
    with session_scope(shared.engine) as session:
        letter_id = confirm_match(
            session, message_id, shared.settings, actor=user.name, now=clock.now()
        ).letter_id
    notice(request, f"message {message_id} answers letter {letter_id}: confirmed")
    return RedirectResponse(f"/replies/{message_id}", 303)


@action(UserRole.EDITOR)
def reject(request: Request, user: User, form: FormData) -> Response:
    """Reject a match for review: the message is not about that letter (as the CLI)."""
    shared = dashboard(request)
    message_id: int = request.path_params["message_id"]
    with session_scope(shared.engine) as session:
        note = reject_match(session, message_id, actor=user.name, now=clock.now()).match_note
    notice(request, f"message {message_id}: {note}; it is unmatched now")
    return RedirectResponse(f"/replies/{message_id}", 303)


routes = [
    Route("/replies", reply_list, methods=["GET"]),
    Route("/replies/{message_id:id}", reply_page, methods=["GET"]),
    Route("/replies/{message_id:id}/code", code, methods=["POST"]),
    Route("/replies/{message_id:id}/match", match, methods=["POST"]),
    Route("/replies/{message_id:id}/confirm", confirm, methods=["POST"]),
    Route("/replies/{message_id:id}/reject", reject, methods=["POST"]),
]
