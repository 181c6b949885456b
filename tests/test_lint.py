"""The data lint: each check on records read from a CSV as staff write them, none on the samples."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from outreach.config import DataCheck, Settings
from outreach.letter import Composer
from outreach.recipients.lint import (
    TITLES,
    DataWarning,
    Linter,
    ListSurvey,
    blocked_by,
    check_record,
    empty_segment,
)
from outreach.recipients.reader import read_records
from outreach.recipients.record import RecipientRecord
from tests.samples import SAMPLE_CSV

REPO = Path(__file__).resolve().parent.parent
HEADER = SAMPLE_CSV.splitlines()[0]
# The design notes' eight rows: 6 addresses at example.org, 2 at example.net, mixed-case names.
LIST = SAMPLE_CSV.splitlines()[1:]


def embassy(key: str, gender: str, given: str, family: str, email: str, languages: str) -> str:
    """A row of an ambassador in Brussels, in the columns of SAMPLE_CSV."""
    return (
        f"{key},embassy,ambassador,,{gender},{given},{family},Embassy in Belgium,FR,BE,Brussels,"
        f"Europe/Brussels,{email},{languages},,"
    )


def read(tmp_path: Path, rows: list[str]) -> list[RecipientRecord]:
    path = tmp_path / "recipients.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    records = []
    for result in read_records(path):
        assert isinstance(result, RecipientRecord), [str(problem) for problem in result]
        records.append(result)
    return records


@pytest.fixture(scope="module")
def composer() -> Composer:
    return Composer.load(Settings(paths={"templates": str(REPO / "templates")}))


def lint(records: list[RecipientRecord], composer: Composer) -> list[str]:
    """Every warning about the records, each compared with all of them."""
    linter = Linter(ListSurvey.of(records), lambda r: composer.choose(r).language)
    for record in records:
        linter.add(record)
    return [str(warning) for warning in linter.warnings]


def among_the_list(tmp_path: Path, composer: Composer, row: str) -> list[str]:
    """The warnings of the design notes' list with one more row."""
    return lint(read(tmp_path, [*LIST, row]), composer)


def test_a_courtesy_title_in_the_given_name_is_a_warning(
    tmp_path: Path, composer: Composer
) -> None:
    row = embassy("emb-fr-be", "f", "Mr. Sophie", "Lambert", "a.fr-be@example.org", "fr")
    assert among_the_list(tmp_path, composer, row) == [
        'emb-fr-be: given_name: "Mr. Sophie" contains the title "Mr.", which the form of '
        "address adds itself: remove it from the name (set courtesy_title and gender instead)"
    ]


@pytest.mark.parametrize(
    ("given", "family", "field", "title"),
    [
        ("Mme Claire", "Exemple", "given_name", 'the title "Mme"'),
        ("Claire", "Dr Exemple", "family_name", 'the title "Dr"'),
        ("H.E. Alex", "Beispiel", "given_name", 'a form of "Excellency"'),
        ("S.E. Marie", "Exemple", "given_name", 'a form of "Excellency"'),
        ("Herr Hans", "Muster", "given_name", 'the title "Herr"'),
        ("Frau Lena", "Musterfrau", "given_name", 'the title "Frau"'),
        ("Excellency Sam", "Example", "given_name", 'a form of "Excellency"'),
        ("Prof. Anna", "Müller", "given_name", 'the title "Prof."'),
        ("г-н Дмитрий", "Примеров", "given_name", 'the title "г-н"'),
        ("Sra. Ana", "Ejemplo", "given_name", 'the title "Sra."'),
    ],
)
def test_a_title_of_any_language_of_the_forms_is_found(
    tmp_path: Path, composer: Composer, given: str, family: str, field: str, title: str
) -> None:
    [record] = read(tmp_path, [embassy("emb-x", "f", given, family, "a@example.org", "en")])
    [warning] = check_record(record, ListSurvey(), lambda r: "en")
    value = given if field == "given_name" else family
    assert (warning.check, warning.field) == (DataCheck.TITLE_IN_NAME, field)
    assert warning.message.startswith(f'"{value}" contains {title}, which')


@pytest.mark.parametrize("given", ["Mrinal", "Herrmann", "Frauke", "Drago", "Don", "M. Claire"])
def test_a_name_that_only_begins_like_a_title_is_no_warning(
    tmp_path: Path, composer: Composer, given: str
) -> None:
    row = embassy("emb-x", "f", given, "Exemple", "a.x@example.org", "fr")
    assert among_the_list(tmp_path, composer, row) == []


def test_the_titles_cover_every_language_of_the_forms_of_address() -> None:
    forms = yaml.safe_load((REPO / "templates" / "forms_of_address.yaml").read_text("utf-8"))
    languages = {language for block in forms["forms"] for language in block["languages"]}
    assert set(TITLES) == languages


def test_a_given_name_in_capitals_among_mixed_case_names_is_a_warning(
    tmp_path: Path, composer: Composer
) -> None:
    row = embassy("emb-fr-be", "f", "SOPHIE", "Lambert", "a.fr-be@example.org", "fr")
    assert among_the_list(tmp_path, composer, row) == [
        'emb-fr-be: given_name: "SOPHIE" is in capitals, unlike 7 of the 8 given names in the '
        'list: write it as a letter should print it, e.g. "Sophie"'
    ]


def test_a_family_name_in_capitals_kept_from_before_validation_is_a_warning(
    tmp_path: Path, composer: Composer
) -> None:
    # Import refuses a family name in capitals now; a list stored before that rule may have one.
    row = embassy("emb-fr-be", "f", "Sophie", "Lambert", "a.fr-be@example.org", "fr")
    *others, record = read(tmp_path, [*LIST, row])
    stored = [*others, dataclasses.replace(record, family_name="LAMBERT")]
    assert lint(stored, composer) == [
        'emb-fr-be: family_name: "LAMBERT" is in capitals, unlike 7 of the 8 family names in '
        'the list: write it as a letter should print it, e.g. "Lambert"'
    ]


def test_capitals_are_no_warning_where_most_of_the_list_writes_them(
    tmp_path: Path, composer: Composer
) -> None:
    rows = [
        embassy(f"emb-{n}", "f", name, "Exemple", f"a{n}@example.org", "fr")
        for n, name in enumerate(["SOPHIE", "CLAIRE", "MARIE", "Anne"])
    ]
    assert lint(read(tmp_path, rows), composer) == []


def test_a_given_name_equal_to_the_family_name_is_a_warning(
    tmp_path: Path, composer: Composer
) -> None:
    row = embassy("emb-fr-be", "m", "Lambert", "lambert", "a.fr-be@example.org", "fr")
    assert among_the_list(tmp_path, composer, row) == [
        'emb-fr-be: given_name: given_name and family_name are both "lambert": correct the '
        "one that is wrong"
    ]


def test_an_unknown_gender_where_the_language_has_no_neutral_form_is_a_warning(
    tmp_path: Path, composer: Composer
) -> None:
    row = embassy("emb-de-be", "unknown", "Alex", "Beispiel", "a.de-be@example.org", "de|en")
    assert among_the_list(tmp_path, composer, row) == [
        "emb-de-be: gender: unknown, but the role ambassador has no neutral form of address in "
        "de, so the letter is written in en instead: set gender to m or f"
    ]


@pytest.mark.parametrize("languages", ["en", "fr|de", "es|ru"])
def test_an_unknown_gender_with_a_neutral_form_in_the_letters_language_is_no_warning(
    tmp_path: Path, composer: Composer, languages: str
) -> None:
    # "H.E.", "Son Excellence", "Su Excelencia": reviewed neutral forms of an ambassador.
    row = embassy("emb-x-be", "unknown", "Alex", "Beispiel", "a.x-be@example.org", languages)
    assert among_the_list(tmp_path, composer, row) == []


def test_a_domain_one_letter_from_a_common_one_is_a_warning(
    tmp_path: Path, composer: Composer
) -> None:
    row = embassy("emb-fr-be", "f", "Sophie", "Lambert", "ambassade.fr-be@exampel.org", "fr")
    assert among_the_list(tmp_path, composer, row) == [
        "emb-fr-be: email: the domain exampel.org is one letter away from example.org, which 6 "
        "recipients use: correct ambassade.fr-be@exampel.org if it is a typing mistake"
    ]


def test_a_swap_of_two_letters_beside_forty_addresses_is_a_warning(
    tmp_path: Path, composer: Composer
) -> None:
    rows = [
        embassy(
            f"mfa-{n}", "f", "Claire", f"Exemple{chr(97 + n % 26)}", f"d{n}@mfa.gov.example", "fr"
        )
        for n in range(40)
    ]
    typo = embassy("mfa-typo", "m", "Paul", "Exemple", "paul@mfa.gov.exmaple", "fr")
    assert lint(read(tmp_path, [*rows, typo]), composer) == [
        "mfa-typo: email: the domain mfa.gov.exmaple is one letter away from mfa.gov.example, "
        "which 40 recipients use: correct paul@mfa.gov.exmaple if it is a typing mistake"
    ]


@pytest.mark.parametrize(
    ("common", "rare"),
    [(4, 1), (10, 3)],  # the common domain used too few times; the other used too often
)
def test_a_domain_one_letter_from_another_is_no_warning_unless_one_is_common_and_one_rare(
    tmp_path: Path, composer: Composer, common: int, rare: int
) -> None:
    rows = [
        embassy(f"uk-{n}", "f", "Claire", "Exemple", f"d{n}@mfa.gov.uk", "fr")
        for n in range(common)
    ] + [
        embassy(f"us-{n}", "f", "Claire", "Exemple", f"d{n}@mfa.gov.us", "fr") for n in range(rare)
    ]
    assert lint(read(tmp_path, rows), composer) == []


def test_a_segment_that_matches_nobody_is_a_warning() -> None:
    linter = Linter(ListSurvey(), lambda r: "en", segment=["kind=embassy", "city=Atlantis"])
    assert [str(warning) for warning in linter.warnings] == [
        "segment: kind=embassy AND city=Atlantis matches no recipient: check the filters with "
        "`outreach recipients list --where kind=embassy --where city=Atlantis`"
    ]


def test_the_shipped_sample_recipients_have_no_warning(composer: Composer) -> None:
    records = []
    for name in ("diplomats.csv", "un-and-eu.yaml"):
        for result in read_records(REPO / "recipients" / name):
            assert isinstance(result, RecipientRecord)
            records.append(result)
    assert lint(records, composer) == []


def test_blocking_names_checks_or_all() -> None:
    title = DataWarning(DataCheck.TITLE_IN_NAME, "k", "given_name", "m")
    segment = empty_segment([])
    assert blocked_by([title, segment], []) == []
    assert blocked_by([title, segment], ["empty_segment"]) == [segment]
    assert blocked_by([title, segment], ["all"]) == [title, segment]
