"""Data warnings (outreach/recipients/lint.py) as the commands print them."""

from __future__ import annotations

import click

from outreach.cli import App
from outreach.recipients.lint import DataWarning, blocked_by


def print_warnings(warnings: list[DataWarning]) -> None:
    """One line per data warning, as `problem:` lines are printed."""
    for warning in warnings:
        click.echo(f"warning: {warning}")


def count_warnings(app: App, warnings: list[DataWarning], action: str) -> int:
    """Say how many data warnings there are; return how many `checks.block` makes blocking."""
    blocked = len(blocked_by(warnings, app.settings.checks.block))
    if warnings:
        app.out.print(
            f"{len(warnings)} data warning(s)"
            + (f", {blocked} of them blocking {action} (checks.block)" if blocked else "")
        )
    return blocked
