"""Sessions of the web dashboard, held by the server: one row per sign-in, ended for good.

The browser's cookie carries a random id of 256 bits; the table keeps only its SHA-256, so a
copy of the database (a backup, a replica) opens no session. A session lives until the first
of: sign-out, `web.session_hours` after sign-in (absolute), `web.idle_minutes` without a
request (idle), or revocation when the account's password, role or access changes or an
approver signs the user out everywhere. Expiry is enforced here, on the server, never by the
cookie (OWASP Session Management Cheat Sheet, "Session Expiration"); a new id is made at every
sign-in, and a change of role ends the old one ("Renew the Session ID After Any Privilege
Level Change").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, Session, SQLModel, col, select

from outreach.models import enum_type, utc_column

ID_BYTES = 32  # 256 bits from the OS's CSPRNG; OWASP asks for at least 64 bits of entropy
# Only the last touch of a session is written, at most once a minute: a page view needs no
# write lock on SQLite, and idle expiry is exact to within this much.
TOUCH_EVERY = dt.timedelta(minutes=1)
KEEP_ENDED = dt.timedelta(days=1)  # rows of ended sessions are deleted after this


class SessionEnd(StrEnum):
    """Why a session was ended before its time (expiry needs no row change)."""

    SIGNOUT = "signout"  # its user signed out
    EVERYWHERE = "everywhere"  # its user, or an approver, signed the user out everywhere
    PASSWORD = "password"  # noqa: S105  (a reason, not a secret) the password was changed
    ROLE = "role"  # the role was changed
    DISABLED = "disabled"  # the account was disabled


class Gone(StrEnum):
    """Why a cookie's session opens nothing."""

    UNKNOWN = "unknown"  # no such session: forged, or forgotten long ago
    ENDED = "ended"  # signed out or revoked
    IDLE = "idle"  # no request for web.idle_minutes
    EXPIRED = "expired"  # web.session_hours after sign-in


class WebSession(SQLModel, table=True):
    """A signed-in browser: who, since when, until when; known by a digest of its id only."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True, index=True)  # SHA-256 of the id, hex
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: dt.datetime = utc_column()
    last_seen_at: dt.datetime = utc_column()
    expires_at: dt.datetime = utc_column()  # the absolute limit
    idle_expires_at: dt.datetime = utc_column()  # last seen + idle, never past expires_at
    revoked_at: dt.datetime | None = utc_column(default=None)
    ended_by: SessionEnd | None = Field(default=None, sa_type=enum_type(SessionEnd))


@dataclass(frozen=True, slots=True)
class Lifetime:
    """How long a session may last: in all, and without a request."""

    absolute: dt.timedelta
    idle: dt.timedelta

    @classmethod
    def of(cls, hours: float, idle_minutes: float) -> Lifetime:
        """The lifetime of the `[web]` settings `session_hours` and `idle_minutes`."""
        return cls(dt.timedelta(hours=hours), dt.timedelta(minutes=idle_minutes))


@dataclass(frozen=True, slots=True)
class Live:
    """A session that may be used now."""

    id: int
    user_id: int
    expires_at: dt.datetime
    stale: bool  # its last touch is older than TOUCH_EVERY: renew its idle time


def digest_of(session_id: str) -> str:
    """The SHA-256 of a session id, as stored (the id itself is never stored)."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


def open_session(session: Session, user_id: int, lifetime: Lifetime, *, now: dt.datetime) -> str:
    """A new session for the user; returns its id, for the cookie only."""
    session_id = secrets.token_urlsafe(ID_BYTES)
    expires = now + lifetime.absolute
    session.add(
        WebSession(
            digest=digest_of(session_id),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
            idle_expires_at=min(now + lifetime.idle, expires),
        )
    )
    forget_ended(session, now=now)
    return session_id


def resume(session: Session, session_id: str, *, now: dt.datetime) -> Live | Gone:
    """The live session of this id, or why there is none."""
    row = session.exec(select(WebSession).where(WebSession.digest == digest_of(session_id))).first()
    if row is None or row.id is None:
        return Gone.UNKNOWN
    if row.revoked_at is not None:
        return Gone.ENDED
    if now >= row.expires_at:
        return Gone.EXPIRED
    if now >= row.idle_expires_at:
        return Gone.IDLE
    return Live(row.id, row.user_id, row.expires_at, stale=now - row.last_seen_at >= TOUCH_EVERY)


def touch(session: Session, live: Live, lifetime: Lifetime, *, now: dt.datetime) -> None:
    """Record a request: the idle limit starts again from now (never past the absolute one)."""
    session.execute(
        sa.update(WebSession)
        .where(col(WebSession.id) == live.id, col(WebSession.revoked_at).is_(None))
        .values(last_seen_at=now, idle_expires_at=min(now + lifetime.idle, live.expires_at))
    )


def live_clause(now: dt.datetime) -> sa.ColumnElement[bool]:
    """The sessions that may still be used at `now`."""
    return sa.and_(
        col(WebSession.revoked_at).is_(None),
        col(WebSession.expires_at) > now,
        col(WebSession.idle_expires_at) > now,
    )


def end_session(
    session: Session, session_id: str, reason: SessionEnd, *, now: dt.datetime
) -> int | None:
    """End one session (sign-out); returns its user's id if it was live."""
    found = resume(session, session_id, now=now)
    if not isinstance(found, Live):
        return None
    session.execute(
        sa.update(WebSession)
        .where(col(WebSession.id) == found.id)
        .values(revoked_at=now, ended_by=reason)
    )
    return found.user_id


def end_all(session: Session, user_id: int, reason: SessionEnd, *, now: dt.datetime) -> int:
    """End every live session of the user; returns how many there were."""
    result = session.execute(
        sa.update(WebSession)
        .where(col(WebSession.user_id) == user_id, live_clause(now))
        .values(revoked_at=now, ended_by=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult for UPDATE


def live_by_user(session: Session, *, now: dt.datetime) -> dict[int, tuple[int, dt.datetime]]:
    """For each user with live sessions: how many, and the latest request of any of them."""
    rows = session.execute(
        sa.select(
            col(WebSession.user_id),
            sa.func.count(),
            sa.func.max(col(WebSession.last_seen_at)),
        )
        .where(live_clause(now))
        .group_by(col(WebSession.user_id))
    ).all()
    return {user_id: (count, seen) for user_id, count, seen in rows}


def forget_ended(session: Session, *, now: dt.datetime) -> None:
    """Delete sessions ended more than KEEP_ENDED ago: who was signed in when is in the audit
    trail (sign-in, sign-out); the rows themselves are only needed while they could be used."""
    horizon = now - KEEP_ENDED
    session.execute(
        sa.delete(WebSession).where(
            sa.or_(
                col(WebSession.revoked_at) < horizon,
                col(WebSession.expires_at) < horizon,
                col(WebSession.idle_expires_at) < horizon,
            )
        )
    )
