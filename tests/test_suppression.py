"""The suppression list: by normal form, idempotent, surviving deletion and re-import."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from outreach.db import session_scope
from outreach.errors import NotFoundError
from outreach.models import SuppressionSource
from outreach.recipients.importer import import_files
from outreach.suppression import address_hash, is_suppressed, suppress, unsuppress


def add(engine: Engine, address: str) -> bool:
    with session_scope(engine) as session:
        _, new = suppress(
            session, address, reason="asked to stop", source=SuppressionSource.REQUEST, actor="t"
        )
    return new


def suppressed(engine: Engine, address: str) -> bool:
    with session_scope(engine, write=False) as session:
        return is_suppressed(session, address)


def test_a_suppressed_address_matches_in_any_case(engine: Engine) -> None:
    add(engine, "Chancery.BR-AM@Example.NET")
    assert suppressed(engine, "chancery.br-am@example.net")


def test_another_address_is_not_suppressed(engine: Engine) -> None:
    add(engine, "chancery.br-am@example.net")
    assert not suppressed(engine, "ambassador.fr-am@example.org")


def test_suppressing_twice_keeps_one_entry(engine: Engine) -> None:
    assert add(engine, "chancery.br-am@example.net") is True
    assert add(engine, "CHANCERY.br-am@example.net") is False


def test_the_hash_is_of_the_lower_case_form() -> None:
    assert address_hash("A@Example.org") == address_hash("a@example.org")


def test_suppression_survives_reimport_of_the_recipient(engine: Engine, sample_csv: Path) -> None:
    import_files(engine, [sample_csv], actor="t")
    add(engine, "chancery.br-am@example.net")
    report = import_files(engine, [sample_csv], actor="t")
    assert report.suppressed == 1
    assert suppressed(engine, "chancery.br-am@example.net")


def test_unsuppress_lifts_it(engine: Engine) -> None:
    add(engine, "chancery.br-am@example.net")
    with session_scope(engine) as session:
        unsuppress(session, "chancery.br-am@example.net", actor="t", reason="typo")
    assert not suppressed(engine, "chancery.br-am@example.net")


def test_unsuppressing_an_unknown_address_is_an_error(engine: Engine) -> None:
    with pytest.raises(NotFoundError) as error, session_scope(engine) as session:
        unsuppress(session, "nobody@example.org", actor="t", reason="x")
    assert str(error.value) == "nobody@example.org is not on the suppression list"
