"""Tests of the CSV and YAML recipient readers, the dispatch on extensions and the samples."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from outreach.errors import RecipientError
from outreach.recipients.reader import read_numbered, read_records
from outreach.recipients.record import RecipientKind, RecipientRecord, RecipientStatus, Role
from outreach.recipients.tabular import read_csv
from outreach.recipients.yamlfile import read_yaml

SAMPLES = Path(__file__).resolve().parent.parent / "recipients"
HEADER = "key,kind,role,organisation,host_country,languages"
OFFICE = "emb-us-am,embassy,office,Embassy of the United States,AM,en|hy"


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    """Write `text` as UTF-8 (with a BOM if asked) to tmp_path/name."""
    path = tmp_path / name
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    return path


def problems_of(error: pytest.ExceptionInfo[RecipientError]) -> list[str]:
    """The problems of a raised RecipientError, as printed."""
    return [str(problem) for problem in error.value.problems]


# -- CSV --------------------------------------------------------------------------------------


def test_csv_without_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", f"{HEADER}\n{OFFICE}\n")
    assert list(read_csv(path)) == [
        (
            2,
            {
                "key": "emb-us-am",
                "kind": "embassy",
                "role": "office",
                "organisation": "Embassy of the United States",
                "host_country": "AM",
                "languages": "en|hy",
            },
        )
    ]


def test_csv_with_bom_reads_the_first_column_name(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", f"{HEADER}\r\n{OFFICE}\r\n", bom=True)
    [(line, fields)] = list(read_csv(path))
    assert (line, fields["key"], fields["languages"]) == (2, "emb-us-am", "en|hy")


def test_csv_quoted_cell_with_comma_and_newline(tmp_path: Path) -> None:
    text = f'{HEADER}\nemb-a-am,embassy,office,"Embassy, Consular\nSection",AM,en\n{OFFICE}\n'
    path = write(tmp_path, "r.csv", text)
    rows = list(read_csv(path))
    assert [(line, fields["organisation"]) for line, fields in rows] == [
        (2, "Embassy, Consular\nSection"),
        (4, "Embassy of the United States"),
    ]


def test_csv_blank_lines_are_skipped_and_lines_counted(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", f"\n{HEADER}\n\n{OFFICE}\n\n")
    assert [line for line, _ in read_csv(path)] == [4]


def test_csv_unknown_and_duplicated_columns_and_missing_key(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "kind,emial,kind\nembassy,x,y\n")
    with pytest.raises(RecipientError) as caught:
        list(read_csv(path))
    assert problems_of(caught) == [
        f'{path}:1: header: unknown column "emial"; the columns are: key, kind, role, '
        "courtesy_title, gender, given_name, family_name, organisation, country, host_country, "
        "city, tz, email, languages, committees, delegations, political_group, "
        "political_group_raw, national_party, tags, priority, source, source_date, status",
        f'{path}:1: header: column "kind" appears 2 times: keep one',
        f'{path}:1: header: no "key" column: every row needs its stable key',
    ]


def test_csv_wrong_number_of_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", f"{HEADER}\n{OFFICE}\nemb-b-am,embassy,office,A, B,AM,en\n")
    with pytest.raises(RecipientError) as caught:
        list(read_csv(path))
    assert problems_of(caught) == [
        f"{path}:3: row: has 7 cells but the header has 6: "
        'quote any cell that contains "," and check the row'
    ]


def test_csv_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(
        f"{HEADER}\n{OFFICE}\n".encode()
        + "emb-b,embassy,office,Ambassade é,AM,fr\n".encode("latin-1")
    )
    with pytest.raises(RecipientError) as caught:
        list(read_csv(path))
    assert problems_of(caught) == [
        f"{path}:3: file: byte 0xe9 (byte 32 of the line) is not UTF-8: "
        "save the file as UTF-8 (CSV UTF-8 in Excel)"
    ]


def test_csv_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "")
    with pytest.raises(RecipientError) as caught:
        list(read_csv(path))
    assert problems_of(caught) == [
        f"{path}: header: the file is empty: the first line must be the header, "
        "e.g. key,kind,role,courtesy_title,..."
    ]


def test_csv_is_read_lazily(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", f"{HEADER}\n{OFFICE}\nbroken,row\n")
    rows = read_csv(path)
    assert next(rows)[0] == 2  # the bad third line is not read yet


def test_csv_lists_split_on_pipes_when_validated(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", f"{HEADER},committees\n{OFFICE},AFET|DROI:substitute\n")
    [result] = list(read_records(path))
    assert isinstance(result, RecipientRecord)
    assert result.languages == ("en", "hy")
    assert [str(membership) for membership in result.committees] == ["AFET", "DROI:substitute"]


# -- YAML -------------------------------------------------------------------------------------

YAML_ITEMS = """\
# a comment
- key: emb-us-am
  kind: embassy
  role: office
  organisation: Embassy of the United States
  host_country: AM
  languages: [en, hy]

- key: emb-no-am
  country: NO
  priority: 1
  email:
"""


def test_yaml_list_with_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", YAML_ITEMS)
    assert list(read_yaml(path)) == [
        (
            2,
            {
                "key": "emb-us-am",
                "kind": "embassy",
                "role": "office",
                "organisation": "Embassy of the United States",
                "host_country": "AM",
                "languages": ["en", "hy"],
            },
        ),
        # NO stays Norway and 1 stays text: scalars are never YAML 1.1 booleans or numbers.
        (9, {"key": "emb-no-am", "country": "NO", "priority": "1", "email": None}),
    ]


def test_yaml_mapping_with_recipients_list(tmp_path: Path) -> None:
    text = "recipients:\n" + "".join(f"  {line}\n" for line in YAML_ITEMS.splitlines())
    path = write(tmp_path, "r.yml", text, bom=True)
    assert [line for line, _ in read_yaml(path)] == [3, 10]


def test_yaml_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "- key: a\n  languages: [fr\n- key: b\n")
    with pytest.raises(RecipientError) as caught:
        list(read_yaml(path))
    assert problems_of(caught) == [
        f"{path}:3: file: not valid YAML: expected ',' or ']', but got ':'"
    ]


def test_yaml_other_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "recipient:\n  - key: a\n")
    with pytest.raises(RecipientError) as caught:
        list(read_yaml(path))
    assert problems_of(caught) == [
        f'{path}:1: file: unexpected key "recipient": write a list of recipients '
        '("- key: ...") or a mapping with a "recipients:" list'
    ]


def test_yaml_item_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "- key: emb-a-am\n- emb-b-am\n")
    with pytest.raises(RecipientError) as caught:
        list(read_yaml(path))
    assert problems_of(caught) == [f"{path}:2: file: a recipient must be a mapping of field: value"]


def test_yaml_repeated_field(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "- key: emb-a-am\n  tz: Asia/Yerevan\n  key: emb-b-am\n")
    with pytest.raises(RecipientError) as caught:
        list(read_yaml(path))
    assert problems_of(caught) == [f'{path}:3: file: field "key" appears twice: keep one']


def test_yaml_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "# nothing yet\n")
    with pytest.raises(RecipientError, match="the file is empty"):
        list(read_yaml(path))


def test_yaml_python_tags_are_never_constructed(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", "- key: !!python/object/apply:os.system ['true']\n")
    [(_, fields)] = list(read_yaml(path))
    assert fields == {"key": ["true"]}


def test_yaml_row_problems_are_yielded_not_raised(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", YAML_ITEMS)
    results = list(read_numbered(path))
    assert isinstance(results[0][1], RecipientRecord)
    assert results[1][0] == 9
    assert [str(problem) for problem in results[1][1]][:2] == [  # type: ignore[union-attr]
        f"{path}:9: kind: is required",
        f"{path}:9: role: is required",
    ]


# -- dispatch ---------------------------------------------------------------------------------


def test_unknown_extension(tmp_path: Path) -> None:
    path = write(tmp_path, "r.xlsx", "")
    with pytest.raises(RecipientError) as caught:
        list(read_records(path))
    assert problems_of(caught) == [
        f'{path}: file: ".xlsx" is not a recipient format: use .csv, .yaml, .yml, .xml, .json'
    ]


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, "R.CSV", f"{HEADER}\n{OFFICE}\n")
    assert [type(result) for result in read_records(path)] == [RecipientRecord]


# -- the sample files -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples() -> list[RecipientRecord]:
    """Every record of the sample files, which must all be valid."""
    records: list[RecipientRecord] = []
    for name in ("diplomats.csv", "un-and-eu.yaml"):
        for result in read_records(SAMPLES / name):
            assert isinstance(result, RecipientRecord), [str(problem) for problem in result]
            records.append(result)
    return records


def test_samples_have_at_least_44_distinct_recipients(samples: list[RecipientRecord]) -> None:
    assert len(samples) >= 44
    assert len({record.key for record in samples}) == len(samples)
    emails = [record.email for record in samples if record.email]
    assert len(set(emails)) == len(emails)


def test_samples_use_every_kind_and_role(samples: list[RecipientRecord]) -> None:
    assert {record.kind for record in samples} == set(RecipientKind)
    assert {record.role for record in samples} == set(Role)


def test_samples_have_ambassadors_and_meps_of_every_gender(
    samples: list[RecipientRecord],
) -> None:
    for role in (Role.AMBASSADOR, Role.MEP):
        assert {record.gender for record in samples if record.role is role} == {"f", "m", "unknown"}


def test_samples_have_six_languages_and_six_zones(samples: list[RecipientRecord]) -> None:
    languages = {tag for record in samples for tag in record.languages}
    assert {"en", "fr", "de", "ru", "es", "pt", "it"} <= languages
    zones = {record.tz for record in samples}
    assert len(zones) >= 6
    assert {"Asia/Riyadh", "America/New_York", "Asia/Yerevan", "Europe/Moscow"} <= zones


def test_samples_write_only_to_reserved_domains(samples: list[RecipientRecord]) -> None:
    domains = {record.email.rsplit("@", 1)[1] for record in samples if record.email}
    assert domains == {"example.org", "example.net"}


def test_samples_cover_statuses_tags_and_missing_email(samples: list[RecipientRecord]) -> None:
    assert {record.status for record in samples} == set(RecipientStatus)
    assert {"non-resident", "unsc", "priority"} <= {tag for r in samples for tag in r.tags}
    assert any(record.email is None for record in samples)
    assert any(record.role is Role.OFFICE and record.email for record in samples)


def test_samples_have_non_ascii_names_and_derived_zones(samples: list[RecipientRecord]) -> None:
    names = {record.family_name for record in samples}
    assert {"Piemēra", "Ødegård", "Müller", "Примеров"} <= names
    assert any(record.country == "GR" for record in samples)  # written EL in the file
    assert any(record.host_country == "US" for record in samples)  # several zones: tz given


def test_samples_every_row_has_source_and_date(samples: list[RecipientRecord]) -> None:
    assert all(record.source and record.source_date for record in samples)
