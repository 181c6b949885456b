"""What a request may carry: database ids in the path, and text without control characters.

Ids in the path use the `id` convertor (`/letters/{letter_id:id}`): only 1 to 2**31-1, the
range of the id columns (INTEGER: four bytes on PostgreSQL), written in ASCII digits; anything
else is no route (404), never an integer the database cannot take. Ids typed into a form go
through `parse_id` (400).
Text from the path, the query or a form is refused (InputError, naming the field) when it
holds control characters such as NUL, which PostgreSQL cannot store or compare.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request

from outreach.errors import InputError

# The largest id: ids are INTEGER columns, four bytes on PostgreSQL ("integer out of range"
# beyond), eight on SQLite (OverflowError beyond 2**63-1). The smaller bound holds for both.
MAX_ID = 2**31 - 1
ALLOWED_CONTROLS = frozenset("\t\n\r")  # line breaks and tabs of multi-line fields


def bounded_digits(limit: int) -> str:
    """A regular expression matching exactly the integers 1..`limit`, without leading zeros."""
    digits = str(limit)
    parts = []
    if len(digits) > 1:
        parts.append(f"[1-9][0-9]{{0,{len(digits) - 2}}}")  # the shorter numbers
    for index, digit in enumerate(digits):
        low = 1 if index == 0 else 0
        if int(digit) > low:
            rest = len(digits) - index - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            parts.append(f"{digits[:index]}[{low}-{int(digit) - 1}]{tail}")
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConvertor(Convertor[int]):
    """A database id in the path: 1..MAX_ID in ASCII digits; other text matches no route."""

    regex = bounded_digits(MAX_ID)

    def convert(self, value: str) -> int:
        """The id as an integer (the regex has made sure it fits)."""
        return int(value)

    def to_string(self, value: int) -> str:
        """The id as written in a path."""
        if not 1 <= value <= MAX_ID:
            raise ValueError(f"id {value} is out of range")
        return str(value)


register_url_convertor("id", IdConvertor())


def parse_id(text: str, what: str) -> int:
    """An id typed into a form: ASCII digits, 1..MAX_ID; else InputError saying what to give."""
    if not (text.isascii() and text.isdigit()):
        raise InputError(f"{what} {text!r}: give the {what}'s number, e.g. 42")
    number = int(text)
    if not 1 <= number <= MAX_ID:
        raise InputError(f"{what} {text}: no {what} has such a number")
    return number


def clean_text(name: str, value: str) -> str:
    """`value` unchanged, or InputError naming the field when it holds control characters."""
    for char in value:
        if (ord(char) < 32 and char not in ALLOWED_CONTROLS) or ord(char) == 127:
            raise InputError(f"{name.replace('_', ' ')}: control characters are not allowed")
    return value


def check_request(request: Request) -> None:
    """Refuse a path or query whose text holds control characters (InputError, → 400)."""
    for name, value in request.path_params.items():
        if isinstance(value, str):
            clean_text(name, value)
    for name, value in request.query_params.multi_items():
        clean_text("a query parameter's name", name)
        clean_text(name, value)


def query(request: Request, name: str, default: str = "", *, limit: int = 4000) -> str:
    """A query parameter, stripped; InputError when it holds control characters or is too long."""
    text = clean_text(name, request.query_params.get(name, default)).strip()
    if len(text) > limit:
        raise InputError(f"{name.replace('_', ' ')}: at most {limit} characters")
    return text
