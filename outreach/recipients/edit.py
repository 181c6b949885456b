"""Editing one recipient by hand: the same validation as an import, then only the fields given."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlmodel import Session

from outreach.audit import record_event
from outreach.errors import InputError, RecipientError
from outreach.models import Recipient
from outreach.recipients.importer import update_row
from outreach.recipients.record import RECORD_FIELDS
from outreach.recipients.table import column_values, get_recipient
from outreach.recipients.validation import validate_row

# The key names the recipient everywhere (letters, audit, erasure): it is never edited.
EDITABLE = tuple(name for name in RECORD_FIELDS if name != "key")


def field_texts(row: Recipient) -> dict[str, str]:
    """The editable fields as text, as a file would give them: lists a|b|c, dates ISO, "" for
    none. What the edit form shows, and what the record is validated from before a change."""
    texts: dict[str, str] = {}
    for name in EDITABLE:
        value = getattr(row, name)
        if value is None:
            texts[name] = ""
        elif isinstance(value, dt.date):
            texts[name] = value.isoformat()
        else:
            texts[name] = str(getattr(value, "value", value))  # an enum by its stored value
    return texts


def parse_changes(items: list[str]) -> dict[str, str]:
    """`FIELD=VALUE` items (an empty VALUE clears an optional field)."""
    changes: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise InputError(f"{item!r}: write FIELD=VALUE, e.g. email=new.address@example.org")
        if name not in EDITABLE:
            raise InputError(f"{name!r} cannot be edited; the fields are: {', '.join(EDITABLE)}")
        changes[name] = value.strip()
    if not changes:
        raise InputError("give at least one FIELD=VALUE to change")
    return changes


def edit_recipient(
    session: Session, key: str, changes: Mapping[str, str], *, actor: str, now: dt.datetime
) -> list[str]:
    """Change the given fields of one recipient, all or nothing; returns the fields changed.

    The whole record is validated again with the changes, as an import would, so a change that
    makes it inconsistent (an embassy "mep", a German letter without a gender) is refused.
    """
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InputError(f"{unknown[0]!r} cannot be edited; the fields are: {', '.join(EDITABLE)}")
    row = get_recipient(session, key)
    texts = {"key": row.key, **field_texts(row), **changes}
    fields = {name: value for name, value in texts.items() if value != ""}
    result = validate_row(fields, source=f"recipient {key}", line=None)
    if isinstance(result, list):
        raise RecipientError(
            f"recipient {key}: the change is refused; nothing was changed", tuple(result)
        )
    values = column_values(result, frozenset(changes))  # with email_key when email changes
    before = {name: getattr(row, name) for name in values}
    if not update_row(row, values, now):
        return []
    changed = sorted(
        name for name in values if before[name] != getattr(row, name) and name != "email_key"
    )
    session.add(row)
    record_event(
        session, actor, "recipient.edit", key, **{name: getattr(row, name) for name in changed}
    )
    return changed
