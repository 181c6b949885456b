"""Editing one recipient: validated as an import is, all or nothing, audited."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from outreach.db import session_scope
from outreach.errors import InputError, NotFoundError, RecipientError
from outreach.models import AuditEvent, Recipient
from outreach.recipients.edit import edit_recipient, parse_changes
from outreach.recipients.importer import import_files

REPO = Path(__file__).resolve().parent.parent
SAMPLE_FILES = [REPO / "recipients" / "diplomats.csv", REPO / "recipients" / "un-and-eu.yaml"]
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    assert import_files(engine, SAMPLE_FILES, actor="t").committed
    return engine


def edit(engine: Engine, key: str, *items: str) -> list[str]:
    with session_scope(engine) as session:
        return edit_recipient(session, key, parse_changes(list(items)), actor="anna", now=NOW)


def row(engine: Engine, key: str) -> Recipient:
    with Session(engine) as session:
        return session.exec(select(Recipient).where(Recipient.key == key)).one()


def test_the_fields_given_change_and_nothing_else(loaded: Engine) -> None:
    before = row(loaded, "emb-fr-am-head")
    changed = edit(
        loaded, "emb-fr-am-head", "email=ambassade.fr-am@example.org", "languages=fr|en|hy"
    )
    after = row(loaded, "emb-fr-am-head")
    assert changed == ["email", "languages"]
    assert (after.email, after.email_key, after.languages) == (
        "ambassade.fr-am@example.org",
        "ambassade.fr-am@example.org",
        "fr|en|hy",
    )
    assert (after.family_name, after.updated_at) == (before.family_name, NOW)


def test_the_edit_is_audited_with_who_and_the_new_values(loaded: Engine) -> None:
    edit(loaded, "emb-fr-am-head", "city=Gyumri")
    with Session(loaded) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "recipient.edit")).one()
    assert (event.actor, event.subject, json.loads(event.detail)) == (
        "anna",
        "emb-fr-am-head",
        {"city": "Gyumri"},
    )


def test_a_change_that_makes_the_record_invalid_is_refused_whole(loaded: Engine) -> None:
    with pytest.raises(RecipientError) as refused:
        edit(loaded, "emb-fr-am-head", "city=Gyumri", "role=mep")
    assert "recipient emb-fr-am-head: the change is refused; nothing was changed" in str(
        refused.value
    )
    assert [problem.field for problem in refused.value.problems] == ["role"]
    assert row(loaded, "emb-fr-am-head").city == "Yerevan"


def test_an_empty_value_clears_an_optional_field(loaded: Engine) -> None:
    assert edit(loaded, "emb-fr-am-head", "city=") == ["city"]
    assert row(loaded, "emb-fr-am-head").city is None


def test_the_same_values_change_nothing(loaded: Engine) -> None:
    assert edit(loaded, "emb-fr-am-head", "city=Yerevan") == []


def test_the_key_cannot_be_edited() -> None:
    with pytest.raises(InputError, match="'key' cannot be edited; the fields are: kind, role"):
        parse_changes(["key=new-key"])


def test_an_item_without_equals_is_refused_with_an_example() -> None:
    with pytest.raises(InputError, match=re.escape("write FIELD=VALUE, e.g. email=new.addr")):
        parse_changes(["email"])


def test_an_unknown_recipient_is_named(loaded: Engine) -> None:
    with pytest.raises(NotFoundError, match="nobody"):
        edit(loaded, "nobody", "city=Gyumri")


def test_a_new_address_is_stored_with_the_form_suppression_compares(loaded: Engine) -> None:
    edit(loaded, "emb-fr-am-head", "email=Ambassade.FR-AM@Example.org")
    assert row(loaded, "emb-fr-am-head").email_key == "ambassade.fr-am@example.org"
