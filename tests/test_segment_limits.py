"""A segment's bounds: a few filters, in plain text, checked before any SQL is made."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.errors import InputError
from outreach.recipients.segment import MAX_FILTERS, parse_where, to_conditions
from outreach.recipients.table import count_recipients


def test_as_many_filters_as_allowed_make_a_query_sqlite_runs(engine: Engine) -> None:
    filters = parse_where([f"language=l{n}" for n in range(MAX_FILTERS)])
    with Session(engine) as session:
        assert count_recipients(session, to_conditions(filters)) == 0


def test_more_filters_than_allowed_are_refused() -> None:
    with pytest.raises(InputError) as caught:
        parse_where(["kind=mep"] * 500)
    assert str(caught.value) == "--where: 500 filters; a segment takes at most 50"


def test_a_filter_with_a_nul_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        parse_where(["language=\x00"])
    assert str(caught.value) == "--where 'language=\\x00': control characters are not allowed"
