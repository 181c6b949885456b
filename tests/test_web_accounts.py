"""Users and roles (argon2), the `outreach users` commands, the cookie key file, the throttle."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.accounts import (
    AccountError,
    User,
    UserRole,
    add_user,
    disable_user,
    parse_role,
    update_user,
    verify_password,
)
from outreach.cli import cli
from outreach.config import Settings
from outreach.db import session_scope
from outreach.errors import ConfigError, InputError
from outreach.models import AuditEvent
from outreach.web.secret import secret_path, signing_key
from outreach.web.throttle import Backoff, Policy

pytestmark = pytest.mark.usefixtures("cheap_hashing")


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_a_user_is_stored_with_an_argon2_hash_only(engine: Engine) -> None:
    with session_scope(engine) as session:
        add_user(session, "alice", "a long enough password", UserRole.EDITOR, actor="admin")
    with Session(engine) as session:
        user = session.exec(select(User)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert "a long enough password" not in user.password_hash
        assert (user.role, user.disabled) == (UserRole.EDITOR, False)
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.add")).one()
        assert (event.actor, event.subject) == ("admin", "alice")


def test_verify_password(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        add_user(session, "alice", "a long enough password", UserRole.VIEWER, actor="admin")
    with session_scope(sqlite_engine) as session:
        user = verify_password(session, "alice", "a long enough password")
        assert user is not None
        assert user.name == "alice"
        assert verify_password(session, "alice", "a long enough passwort") is None
        assert verify_password(session, "bob", "a long enough password") is None
        assert verify_password(session, "alice", "x" * 5000) is None
        disable_user(session, "alice", actor="admin")
    with session_scope(sqlite_engine) as session:
        assert verify_password(session, "alice", "a long enough password") is None


@pytest.mark.parametrize(
    ("name", "password", "error", "message"),
    [
        ("Alice Smith", "a long enough password", InputError, "user name 'Alice Smith'"),
        ("alice", "short", InputError, "at least 12 characters"),
        ("bob", "a long enough password", AccountError, "a user named 'bob' exists already"),
    ],
)
def test_bad_users_are_refused(
    sqlite_engine: Engine, name: str, password: str, error: type[Exception], message: str
) -> None:
    with session_scope(sqlite_engine) as session:
        add_user(session, "bob", "a long enough password", UserRole.VIEWER, actor="admin")
    with pytest.raises(error, match=message), session_scope(sqlite_engine) as session:
        add_user(session, name, password, UserRole.VIEWER, actor="admin")


def test_roles_are_ordered() -> None:
    assert UserRole.APPROVER.allows(UserRole.EDITOR)
    assert UserRole.EDITOR.allows(UserRole.VIEWER)
    assert not UserRole.EDITOR.allows(UserRole.APPROVER)
    assert not UserRole.VIEWER.allows(UserRole.EDITOR)
    assert parse_role(" Editor ") is UserRole.EDITOR
    with pytest.raises(InputError, match="choose one of: viewer, editor, approver"):
        parse_role("admin")


def test_users_commands(tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    added = run(
        "users",
        "add",
        "alice",
        "--role",
        "approver",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "added alice (approver)"
    prompted = run("users", "add", "bob", "--role", "viewer", input="another long password\n" * 2)
    assert prompted.exit_code == 0, prompted.output
    listed = run("users", "list").output.splitlines()
    assert [line.split()[:3] for line in listed[:2]] == [
        ["alice", "approver", "active"],
        ["bob", "viewer", "active"],
    ]
    assert run("users", "disable", "bob").output.strip() == "bob is disabled"
    assert "bob                      viewer    disabled" in run("users", "list").output
    short = run("users", "add", "carol", "--role", "editor", "--password-stdin", input="short\n")
    assert short.exit_code == 64
    assert "at least 12 characters" in short.output
    again = run(
        "users",
        "add",
        "alice",
        "--role",
        "editor",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert again.exit_code == 65
    missing = run("users", "disable", "nobody")
    assert missing.exit_code == 66


def test_the_key_file_is_made_once_private_and_reused(tmp_path: Path) -> None:
    settings = Settings(database={"url": f"sqlite:///{tmp_path / 'outreach.db'}"})
    assert secret_path(settings) == tmp_path / "outreach.db.web-secret"
    key = signing_key(settings)
    assert len(key) == 64
    assert stat.S_IMODE(os.stat(tmp_path / "outreach.db.web-secret").st_mode) == 0o600
    assert signing_key(settings) == key


def test_the_key_file_is_private_even_under_a_permissive_umask(tmp_path: Path) -> None:
    settings = Settings(web={"secret_file": str(tmp_path / "web-secret")})
    previous = os.umask(0)  # a umask that would leave a plain open() world-writable
    try:
        signing_key(settings)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "web-secret").st_mode) == 0o600


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("k" * 64, encoding="ascii")
    path.chmod(0o644)
    settings = Settings(web={"secret_file": str(path)})
    with pytest.raises(ConfigError, match=r"can be read by other users: `chmod 600"):
        signing_key(settings)
    path.chmod(0o600)
    path.write_text("short", encoding="ascii")
    with pytest.raises(ConfigError, match="fewer than 32 characters"):
        signing_key(settings)


def test_postgresql_needs_a_key_file_named() -> None:
    settings = Settings(database={"url": "postgresql://outreach@db.example.org/outreach"})
    with pytest.raises(ConfigError, match=r"web.secret_file: set it to a file"):
        secret_path(settings)


def test_the_backoff_doubles_after_the_free_failures_and_is_forgotten() -> None:
    now = [1000.0]
    backoff = Backoff(
        Policy(free=3, first=60, cap=300, forget_after=3600), clock=lambda: now[0], max_keys=2
    )
    for _ in range(3):
        assert backoff.wait("a") == 0
        backoff.fail("a")
    assert backoff.wait("a") == pytest.approx(60)
    now[0] += 30
    assert backoff.wait("a") == pytest.approx(30)
    now[0] += 31
    assert backoff.wait("a") == 0
    backoff.fail("a")  # the fourth: twice as long
    assert backoff.wait("a") == pytest.approx(120)
    for _ in range(5):
        backoff.fail("a")
    assert backoff.wait("a") == pytest.approx(300)  # the cap
    assert backoff.wait("b") == 0  # another key is not slowed
    now[0] += 3600
    assert backoff.wait("a") == 0
    assert "a" not in backoff.failures  # forgotten an hour after its last failure
    backoff.fail("b")
    backoff.fail("c")
    backoff.fail("d")  # over max_keys: the older half is dropped
    assert len(backoff.failures) <= 2
    backoff.forget("d")
    assert "d" not in backoff.failures


def test_a_huge_number_of_failures_waits_the_cap() -> None:
    assert Policy(free=5, first=60, cap=900, forget_after=3600).delay(10**9) == 900


def test_users_set_changes_the_role_the_password_and_enables_again(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        add_user(session, "dora", "an old long password", UserRole.VIEWER, actor="setup")
        disable_user(session, "dora", actor="setup")
    with session_scope(sqlite_engine) as session:
        changed = update_user(
            session,
            "dora",
            role=UserRole.EDITOR,
            password="a new long password",
            enabled=True,
            actor="admin",
        )
    assert changed == ["role editor", "password", "enabled"]
    with session_scope(sqlite_engine) as session:
        assert verify_password(session, "dora", "an old long password") is None
        user = verify_password(session, "dora", "a new long password")
        assert user is not None
        assert user.role is UserRole.EDITOR
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
        assert (event.actor, event.subject) == ("admin", "dora")
        assert "new long" not in event.detail


def test_users_set_from_the_command_line(tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    run(
        "users",
        "add",
        "erin",
        "--role",
        "viewer",
        "--password-stdin",
        input="a long enough password\n",
    )
    changed = run("users", "set", "erin", "--role", "approver")
    assert (changed.exit_code, changed.output.strip()) == (0, "erin: role approver")
    assert run("users", "set", "erin", "--role", "approver").output.strip() == "erin: no change"
