"""Segments: `--where FIELD=VALUE` selects recipients (SQL, so both dialects)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from outreach.errors import InputError
from outreach.recipients.importer import import_files
from outreach.recipients.segment import matches, parse_where, to_conditions
from outreach.recipients.table import iter_recipients, to_record


@pytest.fixture
def loaded(engine: Engine, sample_csv: Path) -> Engine:
    import_files(engine, [sample_csv], actor="tester")
    return engine


def keys(engine: Engine, *where: str) -> list[str]:
    """The keys selected in SQL, checked against the same filters evaluated on each record."""
    filters = parse_where(where)
    with Session(engine) as session:
        selected = [row.key for row in iter_recipients(session, to_conditions(filters))]
        every = [to_record(row) for row in iter_recipients(session, [])]
    assert selected == [record.key for record in every if matches(filters, record)]
    return selected


def test_no_filter_selects_everyone_in_key_order(loaded: Engine) -> None:
    assert keys(loaded) == [
        "emb-br-am-cda",
        "emb-fr-am-head",
        "emb-xa-am",
        "mep-999001",
        "mep-999002",
        "pm-lv-unny",
        "un-ohchr-hc",
        "un-sr-executions",
    ]


def test_by_kind(loaded: Engine) -> None:
    assert keys(loaded, "kind=mep") == ["mep-999001", "mep-999002"]


def test_a_repeated_field_means_any_of_them(loaded: Engine) -> None:
    assert keys(loaded, "kind=mep", "kind=un_official") == [
        "mep-999001",
        "mep-999002",
        "un-ohchr-hc",
    ]


def test_different_fields_combine(loaded: Engine) -> None:
    assert keys(loaded, "kind=mep", "committee=AFET") == ["mep-999001"]


def test_committee_matches_any_role_unless_one_is_named(loaded: Engine) -> None:
    assert keys(loaded, "committee=DROI") == ["mep-999001"]
    assert keys(loaded, "committee=DROI:substitute") == ["mep-999001"]
    assert keys(loaded, "committee=DROI:chair") == []


def test_language_matches_the_tag_and_its_regional_forms(loaded: Engine) -> None:
    assert keys(loaded, "language=es") == ["un-sr-executions"]
    assert keys(loaded, "language=fr") == [
        "emb-fr-am-head",
        "mep-999001",
        "un-ohchr-hc",
        "un-sr-executions",
    ]


def test_language_does_not_match_a_longer_code(loaded: Engine) -> None:
    assert keys(loaded, "language=e") == []


def test_by_tag(loaded: Engine) -> None:
    assert keys(loaded, "tag=non-resident") == ["emb-xa-am"]


def test_country_accepts_the_eu_alias_and_lower_case(loaded: Engine) -> None:
    assert keys(loaded, "country=fr") == ["emb-fr-am-head", "mep-999001"]


def test_host_country(loaded: Engine) -> None:
    assert keys(loaded, "host_country=CH") == ["un-ohchr-hc", "un-sr-executions"]


def test_email_is_compared_in_normal_form(loaded: Engine) -> None:
    assert keys(loaded, "email=HC-Office@Example.ORG") == ["un-ohchr-hc"]


def test_an_unknown_field_lists_the_fields() -> None:
    with pytest.raises(InputError) as error:
        parse_where(["comittee=AFET"])
    assert str(error.value).startswith(
        "--where 'comittee=AFET': unknown field 'comittee'; fields: "
    )
    assert "committee" in str(error.value)


def test_a_bad_enum_value_lists_the_choices() -> None:
    with pytest.raises(InputError) as error:
        parse_where(["kind=embasy"])
    assert str(error.value) == (
        "--where kind=embasy: not a kind; choose one of: embassy, un_permanent_mission, "
        "un_official, un_special_procedure, mep, ministry, eu_official, other"
    )


def test_a_filter_without_equals_says_how() -> None:
    with pytest.raises(InputError) as error:
        parse_where(["mep"])
    assert str(error.value) == "--where 'mep': write FIELD=VALUE, e.g. --where kind=mep"
