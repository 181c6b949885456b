"""Accounts of the web dashboard: users, their roles, and their argon2-hashed passwords."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Field, Session, SQLModel, col, select

from outreach import clock
from outreach.audit import record_event
from outreach.errors import InputError, NotFoundError, OutreachError
from outreach.models import enum_type, utc_column
from outreach.web_sessions import SessionEnd, end_all

NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,99}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a bound keeps a sign-in from being a DoS
# argon2id with the library's defaults (RFC 9106's second recommended option, 64 MiB).
HASHER = PasswordHasher()


class UserRole(StrEnum):
    """What a user may do; each role may do everything the ones before it may."""

    VIEWER = "viewer"  # reads every page, changes nothing
    EDITOR = "editor"  # also codes and matches replies, suppresses addresses
    APPROVER = "approver"  # also approves, pauses and resumes campaigns, resolves letters

    @property
    def rank(self) -> int:
        """The role's place in the order viewer < editor < approver."""
        return list(UserRole).index(self)

    def allows(self, needed: UserRole) -> bool:
        """Whether this role may do what `needed` may."""
        return self.rank >= needed.rank


class AccountError(OutreachError):
    """A user cannot be added or changed as asked."""

    exit_code = 65


class User(SQLModel, table=True):
    """A person who signs in to the web dashboard."""

    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    password_hash: str = Field(max_length=200)
    role: UserRole = Field(sa_type=enum_type(UserRole))
    created_at: dt.datetime = utc_column()
    disabled: bool = Field(default=False)


def parse_role(text: str) -> UserRole:
    """A role from its name, or an error listing the roles."""
    try:
        return UserRole(text.strip().lower())
    except ValueError:
        choices = ", ".join(role.value for role in UserRole)
        raise InputError(f"role {text!r}: choose one of: {choices}") from None


def check_password(password: str) -> None:
    """Refuse passwords too short to resist guessing, or too long to hash cheaply."""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InputError(f"the password may have at most {MAX_PASSWORD} characters")


def find_user(session: Session, name: str) -> User | None:
    """The user of that name, if any (none for a name `add_user` would refuse, such as one
    holding a NUL, which PostgreSQL could not even compare)."""
    if not NAME.fullmatch(name):
        return None
    return session.exec(select(User).where(User.name == name)).first()


def get_user(session: Session, name: str) -> User:
    """The user of that name, or an error saying how to list them."""
    user = find_user(session, name)
    if user is None:
        raise NotFoundError(f"no user named {name!r} (see `outreach users list`)")
    return user


def add_user(session: Session, name: str, password: str, role: UserRole, *, actor: str) -> User:
    """A new user with the password hashed by argon2id; the clear password is never stored."""
    if not NAME.fullmatch(name):
        raise InputError(
            f"user name {name!r}: use 2-100 lower-case letters, digits, '.', '_', '@' or '-'"
        )
    if find_user(session, name) is not None:
        raise AccountError(f"a user named {name!r} exists already")
    check_password(password)
    user = User(
        name=name,
        password_hash=HASHER.hash(password),
        role=role,
        created_at=clock.now(),
        disabled=False,
    )
    session.add(user)
    record_event(session, actor, "user.add", name, role=role.value)
    return user


def disable_user(session: Session, name: str, *, actor: str) -> User:
    """Stop a user from signing in; their open sessions end at once."""
    user = get_user(session, name)
    if not user.disabled:
        user.disabled = True
        session.add(user)
        ended = end_sessions(session, user, SessionEnd.DISABLED)
        record_event(session, actor, "user.disable", name, sessions_ended=ended)
    return user


def update_user(
    session: Session,
    name: str,
    *,
    role: UserRole | None = None,
    password: str | None = None,
    enabled: bool | None = None,
    actor: str,
) -> list[str]:
    """Change a user's role, password or access; returns what changed (audited, never the
    password). A new role, a new password or disabling ends the user's open sessions: whoever
    holds one signs in again, with the new password and under the new role."""
    user = get_user(session, name)
    changed: list[str] = []
    ends: list[SessionEnd] = []
    if role is not None and role is not user.role:
        user.role = role
        changed.append(f"role {role.value}")
        ends.append(SessionEnd.ROLE)
    if password is not None:
        check_password(password)
        user.password_hash = HASHER.hash(password)
        changed.append("password")
        ends.append(SessionEnd.PASSWORD)
    if enabled is not None and enabled == user.disabled:
        user.disabled = not enabled
        changed.append("enabled" if enabled else "disabled")
        if not enabled:
            ends.append(SessionEnd.DISABLED)
    if changed:
        session.add(user)
        ended = end_sessions(session, user, ends[0]) if ends else 0
        record_event(session, actor, "user.update", name, changes=changed, sessions_ended=ended)
    return changed


def end_sessions(session: Session, user: User, reason: SessionEnd) -> int:
    """End every open dashboard session of the user; returns how many there were."""
    assert user.id is not None
    return end_all(session, user.id, reason, now=clock.now())


def sign_out_everywhere(session: Session, name: str, *, actor: str) -> int:
    """End every open dashboard session of a user (audited); returns how many there were."""
    user = get_user(session, name)
    ended = end_sessions(session, user, SessionEnd.EVERYWHERE)
    record_event(session, actor, "user.signout_everywhere", name, sessions=ended)
    return ended


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.exec(select(User).order_by(col(User.name))))


@cache
def dummy_hash() -> str:
    """A hash verified when the name is unknown, so that a sign-in takes as long for a name
    that does not exist as for a wrong password (no user enumeration by timing)."""
    return HASHER.hash("not a password: only equalises the time of a failed sign-in")


def verify_password(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, else None; the time taken reveals nothing."""
    user = find_user(session, name)
    if len(password) > MAX_PASSWORD:
        return None
    stored = user.password_hash if user is not None else dummy_hash()
    try:
        HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    return user
