"""The web dashboard's commands: `outreach web` serves it, `outreach users` says who signs in."""

from __future__ import annotations

import sys

import click

from outreach.accounts import (
    UserRole,
    add_user,
    disable_user,
    list_users,
    parse_role,
    update_user,
)
from outreach.cli import App, OutreachGroup, pass_app
from outreach.db import session_scope
from outreach.errors import InputError

ROLES = [role.value for role in UserRole]


@click.command("web")
@click.option("--host", help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: web.port, 8000).")
@pass_app
def web(app: App, host: str | None, port: int | None) -> None:
    """Serve the dashboard for campaign staff (sign in with a user from `outreach users add`).

    Off loopback (or with web.secure_cookies = true), session cookies are sent over HTTPS
    only: serve it behind a TLS proxy.

    Example: outreach web --host 127.0.0.1 --port 8000
    """
    # Imported here: the server and its framework load only for this command.
    import uvicorn

    from outreach.web.app import create_app, is_loopback, secure_cookies

    web_settings = app.settings.web.model_copy(
        update={"host": host or app.settings.web.host, "port": port or app.settings.web.port}
    )
    settings = app.settings.model_copy(update={"web": web_settings})
    dashboard = create_app(app.engine, settings)
    shown = f"[{settings.web.host}]" if ":" in settings.web.host else settings.web.host
    app.out.print(f"dashboard on http://{shown}:{settings.web.port}/ (Ctrl-C stops it)")
    secure = secure_cookies(settings.web)
    if secure and not is_loopback(settings.web.host):
        app.out.print("not on loopback: cookies are Secure, so serve it over HTTPS (a proxy)")
    elif secure:
        app.out.print("web.secure_cookies is true: cookies are Secure, so reach it over HTTPS")
    elif not is_loopback(settings.web.host):
        app.out.print("web.secure_cookies is false: cookies also travel over plain HTTP")
    uvicorn.run(
        dashboard,
        host=settings.web.host,
        port=settings.web.port,
        log_level="info",
        server_header=False,
        proxy_headers=False,
        # Its log goes through the inert stderr (outreach.terminal), which would show colour
        # codes as text.
        use_colors=False,
    )


@click.group(cls=OutreachGroup)
def users() -> None:
    """People who sign in to the web dashboard, and their roles.

    Roles: viewer (reads), editor (codes replies, suppresses), approver (approves, pauses,
    resolves); each may do what the ones before it may.

    Example: outreach users add alice --role editor
    """


def read_password(from_stdin: bool) -> str:
    """The new password: one line from standard input, or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise InputError("--password-stdin: standard input held no password")
        return password
    value: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may do.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (one line)."
)
@pass_app
def add_command(app: App, name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is asked for (or read from stdin) and stored as an argon2 hash.

    Example: outreach users add alice --role approver
    """
    password = read_password(password_stdin)
    with session_scope(app.engine) as session:
        user = add_user(session, name, password, parse_role(role), actor=app.actor)
    app.out.print(f"added {user.name} ({user.role.value})")


@users.command("list")
@pass_app
def list_command(app: App) -> None:
    """List users, their roles, and whether they are disabled.

    Example: outreach users list
    """
    with session_scope(app.engine, write=False) as session:
        rows = list_users(session)
    for user in rows:
        state = "disabled" if user.disabled else "active"
        app.out.print(f"{user.name:<24} {user.role.value:<9} {state:<8} {user.created_at:%Y-%m-%d}")
    app.out.print(f"{len(rows)} user(s)")


@users.command("set")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), help="A new role.")
@click.option("--password", "new_password", is_flag=True, help="Ask for a new password.")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.option("--enable", is_flag=True, help="Let a disabled user sign in again.")
@pass_app
def set_command(
    app: App,
    name: str,
    role: str | None,
    new_password: bool,
    password_stdin: bool,
    enable: bool,
) -> None:
    """Change a user's role or password, or enable them again.

    Example: outreach users set alice --role approver
    """
    password = read_password(password_stdin) if new_password or password_stdin else None
    with session_scope(app.engine) as session:
        changed = update_user(
            session,
            name,
            role=parse_role(role) if role else None,
            password=password,
            enabled=True if enable else None,
            actor=app.actor,
        )
    app.out.print(f"{name}: {', '.join(changed)}" if changed else f"{name}: no change")


@users.command("disable")
@click.argument("name")
@pass_app
def disable_command(app: App, name: str) -> None:
    """Stop a user from signing in; their open sessions end at their next request.

    Example: outreach users disable alice
    """
    with session_scope(app.engine) as session:
        disable_user(session, name, actor=app.actor)
    app.out.print(f"{name} is disabled")
