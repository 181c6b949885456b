"""The error hierarchy: domain code raises these; only the CLI turns them into exit codes."""

from __future__ import annotations

from dataclasses import dataclass


class OutreachError(Exception):
    """Base of every error a user can act on; its message says what went wrong and what to do."""

    exit_code = 1


class ConfigError(OutreachError):
    """The configuration file or an OUTREACH_* variable is wrong."""

    exit_code = 78  # EX_CONFIG (sysexits.h)


class DatabaseError(OutreachError):
    """The database cannot be reached, or its schema is not the one this version expects."""

    exit_code = 69  # EX_UNAVAILABLE


class NotFoundError(OutreachError):
    """A named thing (recipient key, campaign, letter) does not exist."""

    exit_code = 66  # EX_NOINPUT


class InputError(OutreachError):
    """A command-line argument or option is malformed."""

    exit_code = 64  # EX_USAGE


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one field of one row of an input file."""

    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.field}: {self.message}"


class RecipientError(OutreachError):
    """A recipient file has invalid rows; `problems` lists every one of them."""

    exit_code = 65  # EX_DATAERR

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class StateError(OutreachError):
    """The thing exists, but its state forbids the action (e.g. lifting an erasure)."""


class LetterError(OutreachError):
    """A letter cannot be made for a recipient: template error, unsafe header, size, language."""

    exit_code = 65  # EX_DATAERR


class TemplateLimitError(LetterError):
    """A letter template went over one of its limits: loops, sizes, numbers or time."""

    def __init__(self, message: str, *, template: str, line: int | str, limit: str) -> None:
        super().__init__(message)
        self.template = template
        self.line = line
        self.limit = limit  # a field of outreach.template_budget.TemplateLimits
