"""The European Parliament readers: the XML full list and the Open Data API v2 JSON-LD."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from outreach.errors import Problem, RecipientError
from outreach.recipients.ep_common import case_family_name, group_code, split_full_name
from outreach.recipients.ep_json import read_ep_json
from outreach.recipients.ep_xml import read_ep_xml
from outreach.recipients.record import (
    Gender,
    Membership,
    MembershipRole,
    RecipientKind,
    RecipientRecord,
    Role,
)

DATA = Path(__file__).parent / "data" / "recipients"
DAY = dt.date(2025, 3, 1)

XML_PROVIDED = frozenset(
    {
        "key",
        "kind",
        "role",
        "given_name",
        "family_name",
        "organisation",
        "country",
        "political_group",
        "political_group_raw",
        "national_party",
        "source",
        "source_date",
    }
)
JSON_LIST_PROVIDED = XML_PROVIDED - {"national_party"}
SUBSTITUTE = MembershipRole.SUBSTITUTE


def mep(
    ident: str, given: str, family: str, country: str, group: str, raw: str, **changes: object
) -> RecipientRecord:
    """An MEP as the readers build it, with the EP location defaults."""
    record = RecipientRecord(
        key=f"mep-{ident}",
        kind=RecipientKind.MEP,
        role=Role.MEP,
        organisation="European Parliament",
        tz="Europe/Brussels",
        given_name=given,
        family_name=family,
        country=country,
        host_country="BE",
        city="Brussels",
        political_group=group,
        political_group_raw=raw,
        source_date=DAY,
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


def xml_mep(
    ident: str, given: str, family: str, country: str, group: str, raw: str, party: str
) -> RecipientRecord:
    """An MEP as read from the XML fixture."""
    return mep(
        ident,
        given,
        family,
        country,
        group,
        raw,
        national_party=party,
        source="EP full list XML (ep-full-list.xml)",
        provided=XML_PROVIDED,
    )


def json_mep(
    ident: str, given: str, family: str, country: str, group: str, raw: str, file: str
) -> RecipientRecord:
    """An MEP as read from an API document, with only the list's fields provided."""
    return mep(
        ident,
        given,
        family,
        country,
        group,
        raw,
        source=f"EP Open Data API v2 ({file})",
        provided=JSON_LIST_PROVIDED,
    )


def read_xml(path: Path) -> list[RecipientRecord | list[Problem]]:
    """Every item the XML reader yields."""
    return list(read_ep_xml(path, source_date=DAY))


def read_json(path: Path, **options: object) -> list[RecipientRecord | list[Problem]]:
    """Every item the JSON reader yields, with memberships current on DAY by default."""
    today = options.pop("today", DAY)
    return list(read_ep_json(path, today=today, source_date=DAY, **options))  # type: ignore[arg-type]


def write_xml(tmp_path: Path, body: str) -> Path:
    """Write an XML list whose first <mep> starts on line 3."""
    path = tmp_path / "list.xml"
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<meps>\n{body}</meps>\n', "utf-8")
    return path


# -- the XML full list ---------------------------------------------------------------------------

GROUP_EPP = "Group of the European People's Party (Christian Democrats)"
GROUP_SD = (
    "Group of the Progressive Alliance of Socialists and Democrats in the European Parliament"
)


def test_xml_fixture_parses_to_the_expected_records() -> None:
    assert read_xml(DATA / "ep-full-list.xml") == [
        xml_mep(
            "999001",
            "Marie",
            "Exemple-Durand",
            "FR",
            "Renew",
            "Renew Europe Group",
            "Parti Exemple",
        ),
        xml_mep(
            "999002",
            "Alex",
            "Mustermann",
            "DE",
            "Greens/EFA",
            "Group of the Greens/European Free Alliance",
            "Beispielpartei",
        ),
        xml_mep("999003", "Elia", "Di Prova", "BE", "S&D", GROUP_SD, "Parti Exemple de Belgique"),
        xml_mep("999004", "Friederike", "von der Beispiel", "DE", "EPP", GROUP_EPP, "Musterunion"),
        xml_mep(
            "999005",
            "Eleni",
            "Paradeigmatou",
            "GR",
            "The Left",
            "The Left group in the European Parliament - GUE/NGL",
            "Kómma Paradeígmatos",
        ),
        xml_mep(
            "999006",
            "Jiří",
            "Příkladný",
            "CZ",
            "ECR",
            "European Conservatives and Reformists Group",
            "Ukázková strana",
        ),
        xml_mep("999007", "Siobhán", "O'Sampla", "IE", "NI", "Non-attached Members", "Independent"),
        xml_mep(
            "999008",
            "Jürgen",
            "Müller-Beispielhausen",
            "AT",
            "PfE",
            "Patriots for Europe Group",
            "Liste Beispiel",
        ),
    ]


def test_xml_provides_neither_email_nor_location() -> None:
    for record in read_xml(DATA / "ep-full-list.xml"):
        assert isinstance(record, RecipientRecord)
        assert record.provided == XML_PROVIDED
        assert not record.provided & {"email", "courtesy_title", "gender", "committees"}
        assert not record.provided & {"host_country", "city", "tz", "languages"}


def test_xml_reads_children_by_name_not_position(tmp_path: Path) -> None:
    children = [
        "<fullName>Marie EXEMPLE-DURAND</fullName>",
        "<country>France</country>",
        "<politicalGroup>Renew Europe Group</politicalGroup>",
        "<id>999001</id>",
        "<nationalPoliticalGroup>Parti Exemple</nationalPoliticalGroup>",
    ]
    usual = write_xml(tmp_path, "<mep>" + "".join(children) + "</mep>\n")
    expected = read_xml(usual)
    shuffled = [*reversed(children), "<photo>https://example.org/999001.jpg</photo>"]
    other = write_xml(tmp_path, "<mep>" + "".join(shuffled) + "</mep>\n")
    assert read_xml(other) == expected
    assert isinstance(expected[0], RecipientRecord)
    assert expected[0].family_name == "Exemple-Durand"


def test_xml_without_national_party_does_not_provide_it(tmp_path: Path) -> None:
    path = write_xml(
        tmp_path,
        "<mep><fullName>Alex MUSTERMANN</fullName><country>Germany</country>"
        "<politicalGroup>NI</politicalGroup><id>999002</id></mep>\n",
    )
    [record] = read_xml(path)
    assert isinstance(record, RecipientRecord)
    assert record.provided == XML_PROVIDED - {"national_party"}


def test_xml_problems_name_the_line_of_their_mep(tmp_path: Path) -> None:
    path = write_xml(
        tmp_path,
        "  <mep>\n    <fullName>Alex MUSTERMANN</fullName>\n    <country>Germany</country>\n"
        "    <politicalGroup>Renew</politicalGroup>\n    <id>999002</id>\n  </mep>\n"
        "  <mep>\n    <fullName>Ana EJEMPLO</fullName>\n    <country>Atlantis</country>\n"
        "    <politicalGroup>Group of Friends</politicalGroup>\n    <id>99900X</id>\n  </mep>\n"
        "  <mep>\n    <fullName>ALL CAPITALS</fullName>\n    <country>Spain</country>\n"
        "    <politicalGroup>ECR</politicalGroup>\n    <id>999010</id>\n  </mep>\n"
        "  <mep><id>999011</id><fullName/></mep>\n",
    )
    first, second, third, fourth = read_xml(path)
    assert isinstance(first, RecipientRecord)
    source = str(path)
    assert second == [
        Problem(source, 9, "id", '"99900X" is not a numeric EP identifier'),
        Problem(source, 9, "country", '"Atlantis" is not an EU member state'),
        Problem(
            source,
            9,
            "political_group",
            'unknown political group "Group of Friends": add its spelling to _GROUP_ALIASES in '
            "outreach/recipients/ep_common.py",
        ),
    ]
    assert third == [
        Problem(
            source,
            15,
            "family_name",
            'cannot tell the family name in "ALL CAPITALS" (the list writes it in upper case '
            "after the given names): import this MEP from the Open Data API",
        )
    ]
    assert fourth == [
        Problem(source, 21, "fullName", "<fullName> is missing or empty"),
        Problem(source, 21, "country", "<country> is missing or empty"),
        Problem(source, 21, "politicalGroup", "<politicalGroup> is missing or empty"),
    ]


def test_malformed_xml_names_file_line_and_column(tmp_path: Path) -> None:
    path = write_xml(tmp_path, "<mep>\n  <id>999001</id>\n  <fullName>Marie EXEMPLE</mep>\n")
    with pytest.raises(RecipientError) as caught:
        read_xml(path)
    assert str(caught.value) == (
        f"{path}:5:28: the file is not well-formed XML (mismatched tag): download the list "
        "again from https://www.europarl.europa.eu/meps/en/full-list/xml, "
        "or correct the file at that position"
    )


def test_xml_with_another_root_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<?xml version='1.0'?>\n<html><body/></html>\n", "utf-8")
    with pytest.raises(RecipientError) as caught:
        read_xml(path)
    assert str(caught.value) == (
        f"{path}:2: the root element is <html>, not <meps>: this is not the EP full list; "
        "download it from https://www.europarl.europa.eu/meps/en/full-list/xml"
    )


def test_xml_entities_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE meps [<!ENTITY a "aaaaaaaaaa">]>\n<meps/>\n', "utf-8"
    )
    with pytest.raises(RecipientError, match=r"declares a DTD or entities .* refused for safety"):
        read_xml(path)


def test_missing_file_is_a_recipient_error(tmp_path: Path) -> None:
    with pytest.raises(RecipientError, match="cannot read the file"):
        read_xml(tmp_path / "absent.xml")
    with pytest.raises(RecipientError, match="cannot read the file"):
        read_json(tmp_path / "absent.json")


# -- names and groups ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upper", "country", "expected"),
    [
        ("DI RUPO", "BE", "Di Rupo"),
        ("DI RUPO", "IT", "Di Rupo"),
        ("VON DER LEYEN", "DE", "von der Leyen"),
        ("VON DER LEYEN", None, "von der Leyen"),
        ("VAN BREMPT", "BE", "Van Brempt"),
        ("VAN DER BERG", "NL", "van der Berg"),
        ("DE MAN", "BE", "De Man"),
        ("DE VILLIERS", "FR", "de Villiers"),
        ("D'ORNANO", "FR", "d'Ornano"),
        ("D'ALEMA", "IT", "D'Alema"),
        ("O'NEILL", "IE", "O'Neill"),
        ("O\u2019NEILL", "IE", "O\u2019Neill"),
        ("MCGUINNESS", "IE", "McGuinness"),
        ("MÜLLER-LÜDENSCHEIDT", "DE", "Müller-Lüdenscheidt"),
        ("GARCÍA-MARGALLO Y MARFIL", "ES", "García-Margallo y Marfil"),
        ("PŘÍKLADNÝ", "CZ", "Příkladný"),
        ("ΠΑΠΑΔΟΠΟΥΛΟΣ", "GR", "Παπαδοπουλος"),  # final sigma; the tonos cannot be recovered
        ("DE", "FR", "De"),  # a particle is never the last word
    ],
)
def test_family_names_are_cased_for_correspondence(
    upper: str, country: str | None, expected: str
) -> None:
    assert case_family_name(upper, country) == expected


@pytest.mark.parametrize(
    ("full_name", "expected"),
    [
        ("Elio DI RUPO", ("Elio", "Di Rupo")),
        ("Marie-Pierre  DE   VILLIERS", ("Marie-Pierre", "de Villiers")),
        ("Anna J. SMITH", ("Anna J.", "Smith")),
        ("José Manuel GARCÍA-MARGALLO Y MARFIL", ("José Manuel", "García-Margallo y Marfil")),
        ("ELIO DI RUPO", None),
        ("Elio Di Rupo", None),
    ],
)
def test_full_names_split_at_the_upper_case_run(
    full_name: str, expected: tuple[str, str] | None
) -> None:
    country = "ES" if "MARGALLO" in full_name else "FR" if "VILLIERS" in full_name else "BE"
    assert split_full_name(full_name, country) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("PPE", "EPP"),
        ("EPP", "EPP"),
        (GROUP_EPP, "EPP"),
        ("Group of the European People\u2019s Party (Christian Democrats)", "EPP"),
        ("SD", "S&D"),
        ("S&D", "S&D"),
        (GROUP_SD, "S&D"),
        ("RE", "Renew"),
        ("Renew Europe Group", "Renew"),
        ("Verts/ALE", "Greens/EFA"),
        ("Group of the Greens/European Free Alliance", "Greens/EFA"),
        ("GUE/NGL", "The Left"),
        ("The Left group in the European Parliament \u2013 GUE/NGL", "The Left"),
        ("ECR", "ECR"),
        ("PFE", "PfE"),
        ("Patriots for Europe Group", "PfE"),
        ("ENS", "ESN"),
        ("Europe of Sovereign Nations Group", "ESN"),
        ("NA", "NI"),
        ("Non-attached Members", "NI"),
        ("  non-attached   members ", "NI"),
        ("Identity and Democracy Group", None),
    ],
)
def test_group_aliases_map_to_one_code(raw: str, code: str | None) -> None:
    assert group_code(raw) == code


# -- the Open Data API v2 ------------------------------------------------------------------------


def test_json_list_parses_to_the_expected_records() -> None:
    file = "ep-meps.json"
    assert read_json(DATA / file) == [
        json_mep("999001", "Marie", "Exemple-Durand", "FR", "Renew", "Renew", file),
        json_mep("999002", "Alex", "Mustermann", "DE", "Greens/EFA", "Verts/ALE", file),
        json_mep("999003", "Elia", "Di Prova", "BE", "S&D", "S&D", file),
        json_mep("999004", "Friederike", "von der Beispiel", "DE", "EPP", "PPE", file),
        json_mep("999005", "Eleni", "Paradeigmatou", "GR", "The Left", "GUE/NGL", file),
        json_mep("999010", "Anna", "Pavyzdytė", "LT", "ESN", "ENS", file),
    ]


def test_xml_heuristic_agrees_with_the_api_family_names() -> None:
    from_xml = {
        r.key: r for r in read_xml(DATA / "ep-full-list.xml") if isinstance(r, RecipientRecord)
    }
    for record in read_json(DATA / "ep-meps.json"):
        assert isinstance(record, RecipientRecord)
        if record.key in from_xml:
            xml_record = from_xml[record.key]
            assert (xml_record.given_name, xml_record.family_name, xml_record.country) == (
                record.given_name,
                record.family_name,
                record.country,
            )
            assert xml_record.political_group == record.political_group


def test_json_detail_with_included_bodies() -> None:
    file = "ep-mep-999001.json"
    expected = json_mep("999001", "Marie", "Exemple-Durand", "FR", "Renew", "RE", file)
    expected = dataclasses.replace(
        expected,
        courtesy_title="Ms",
        gender=Gender.F,
        email="marie.exemple-durand@example.org",
        # INTA ended on 2024-12-31: not a current committee.
        committees=(Membership("AFET"), Membership("DROI", SUBSTITUTE)),
        delegations=(Membership("DSCA"),),
        national_party="Parti Exemple",
        provided=JSON_LIST_PROVIDED
        | {"courtesy_title", "gender", "email", "committees", "delegations", "national_party"},
    )
    assert read_json(DATA / file) == [expected]


def test_json_detail_without_body_codes_leaves_memberships_unprovided() -> None:
    file = "ep-mep-999002.json"
    [record] = read_json(DATA / file)
    assert isinstance(record, RecipientRecord)
    # No honorific and no gender in the document: none/unknown, and neither is provided.
    assert (record.courtesy_title, record.gender) == (None, Gender.UNKNOWN)
    assert record.email == "alex.mustermann@example.net"
    assert record.country == "DE"  # from the current mandate's `represents` (DEU)
    assert record.committees == ()
    assert record.political_group is None
    assert record.provided == frozenset(
        {
            "key",
            "kind",
            "role",
            "given_name",
            "family_name",
            "organisation",
            "country",
            "email",
            "source",
            "source_date",
        }
    )


def test_json_detail_with_body_codes_given_by_the_caller() -> None:
    file = "ep-mep-999002.json"
    codes = {"org/990206": "Verts/ALE", "990104": "SEDE", "org/990202": "DEPA"}
    expected = json_mep("999002", "Alex", "Mustermann", "DE", "Greens/EFA", "Verts/ALE", file)
    expected = dataclasses.replace(
        expected,
        email="alex.mustermann@example.net",
        committees=(Membership("SEDE", MembershipRole.CHAIR),),
        # Member, then vice-chair of DEPA: the stronger role is kept. DSCA ended in 2024.
        delegations=(Membership("DEPA", MembershipRole.VICE_CHAIR),),
        provided=JSON_LIST_PROVIDED | {"email", "committees", "delegations"},
    )
    assert read_json(DATA / file, organisations=codes) == [expected]


def test_json_bare_person_with_framed_bodies() -> None:
    file = "ep-mep-999003.json"
    expected = json_mep("999003", "Elia", "Di Prova", "BE", "S&D", "S&D", file)
    expected = dataclasses.replace(
        expected,
        courtesy_title="Mr",
        gender=Gender.M,
        email="elia.diprova@example.org",
        # DROI ends on DAY itself, so it is still current; DSCA starts after DAY.
        committees=(Membership("AFET", MembershipRole.VICE_CHAIR), Membership("DROI")),
        delegations=(Membership("DEPA"),),
        provided=JSON_LIST_PROVIDED
        | {"courtesy_title", "gender", "email", "committees", "delegations"},
    )
    assert read_json(DATA / file) == [expected]


def test_json_memberships_follow_the_reference_date() -> None:
    [later] = read_json(DATA / "ep-mep-999003.json", today=dt.date(2025, 4, 2))
    assert isinstance(later, RecipientRecord)
    assert later.committees == (Membership("AFET", MembershipRole.VICE_CHAIR),)
    assert later.delegations == (Membership("DEPA"), Membership("DSCA"))


def test_json_detail_wrapped_in_a_data_list_equals_the_bare_object(tmp_path: Path) -> None:
    bare = (DATA / "ep-mep-999003.json").read_text("utf-8")
    wrapped = tmp_path / "ep-mep-999003.json"
    wrapped.write_text('{"data": [' + bare + "]}", "utf-8")
    assert read_json(wrapped) == read_json(DATA / "ep-mep-999003.json")


def test_malformed_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "data": [\n    {"identifier": "999001",}\n  ]\n}\n', "utf-8")
    with pytest.raises(RecipientError) as caught:
        read_json(path)
    assert str(caught.value) == (
        f"{path}:3:29: the file is not valid JSON (Expecting property name enclosed in double "
        "quotes): download it again from https://data.europarl.europa.eu/api/v2/meps with "
        "Accept: application/ld+json, or correct the file at that position"
    )


def test_json_without_meps_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"results": []}', "utf-8")
    with pytest.raises(RecipientError) as caught:
        read_json(path)
    assert str(caught.value) == (
        f'{path}: no "data" list of MEPs: this is not an EP Open Data API document; '
        "download it from https://data.europarl.europa.eu/api/v2/meps"
    )


def test_json_problems_name_the_mep(tmp_path: Path) -> None:
    path = tmp_path / "meps.json"
    path.write_text(
        '{"data": [{"identifier": "999020", "givenName": "Ana", "familyName": "Ejemplo",'
        ' "api:country-of-representation": "ES", "api:political-group": "ID"},'
        ' {"identifier": "999021", "givenName": "Ana", "familyName": "EJEMPLO",'
        ' "api:country-of-representation": "ES", "hasEmail": "mailto:not-an-address"},'
        " 42]}",
        "utf-8",
    )
    first, second, third = read_json(path)
    assert first == [
        Problem(
            f"{path} (MEP 999020)",
            None,
            "political_group",
            'unknown political group "ID": add its spelling to _GROUP_ALIASES in '
            "outreach/recipients/ep_common.py",
        )
    ]
    assert isinstance(second, list)
    assert {problem.field for problem in second} == {"family_name", "email"}
    assert all(problem.source == f"{path} (MEP 999021)" for problem in second)
    assert third == [Problem(str(path), None, "data", "item 3 is not a JSON object")]
