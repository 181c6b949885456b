"""Forms of address: golden cases a protocol officer can read as the specification."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.forms import (
    FormsError,
    FormsOfAddress,
    excellency_in,
    load_forms,
    recipient_values,
)
from outreach.recipients.record import Gender, RecipientKind, RecipientRecord, Role

FORMS_FILE = Path(__file__).resolve().parent.parent / "templates" / "forms_of_address.yaml"

E, UPM, UNO, UNSP, MEP = (
    RecipientKind.EMBASSY,
    RecipientKind.UN_PERMANENT_MISSION,
    RecipientKind.UN_OFFICIAL,
    RecipientKind.UN_SPECIAL_PROCEDURE,
    RecipientKind.MEP,
)
M, F, N = Gender.M, Gender.F, Gender.UNKNOWN


def _person(
    role: Role, kind: RecipientKind, gender: Gender, name: str, title: str, org: str, city: str
) -> RecipientRecord:
    """A fictional recipient; `name` is "Given Family" or empty for an office mailbox."""
    given, _, family = name.partition(" ")
    return RecipientRecord(
        key="golden",
        kind=kind,
        role=role,
        organisation=org,
        tz="UTC",
        courtesy_title=title or None,
        gender=gender,
        given_name=given or None,
        family_name=family or None,
        city=city,
    )


# The people of the golden cases (fictional; see DOMAIN.md).
AMB_F = _person(
    Role.AMBASSADOR, E, F, "Claire Exemple", "Ms", "Embassy of France in Armenia", "Yerevan"
)
AMB_M = _person(
    Role.AMBASSADOR, E, M, "Paulo Exemplo", "Mr", "Embassy of Brazil in Armenia", "Yerevan"
)
AMB_N = _person(
    Role.AMBASSADOR, E, N, "Alex Beispiel", "", "Embassy of Ruritania in Armenia", "Yerevan"
)
CDA_M = _person(
    Role.CHARGE_D_AFFAIRES, E, M, "Paulo Exemplo", "Mr", "Embassy of Brazil in Armenia", "Yerevan"
)
CDA_F = _person(
    Role.CHARGE_D_AFFAIRES, E, F, "Ana Exemplo", "Ms", "Embassy of Brazil in Armenia", "Yerevan"
)
PR_F = _person(
    Role.PERMANENT_REPRESENTATIVE, UPM, F, "Līga Piemēra", "Ms",
    "Permanent Mission of Latvia to the United Nations", "New York",
)  # fmt: skip
OFFICE_EMB = _person(Role.OFFICE, E, N, "", "", "Embassy of Ruritania", "Moscow")
OFFICE_UN = _person(Role.OFFICE, UNO, N, "", "", "OHCHR", "Geneva")
HC_M = _person(Role.HIGH_COMMISSIONER, UNO, M, "Jonas Example", "Mr", "OHCHR", "Geneva")
SR_F = _person(
    Role.SPECIAL_RAPPORTEUR, UNSP, F, "Ana Ejemplo", "Ms",
    "Special Rapporteur on extrajudicial, summary or arbitrary executions", "Geneva",
)  # fmt: skip
MEP_F = _person(Role.MEP, MEP, F, "Marie Exemple-Durand", "Ms", "European Parliament", "Brussels")
MEP_M = _person(Role.MEP, MEP, M, "Jan Example", "Mr", "European Parliament", "Brussels")
MEP_N = _person(Role.MEP, MEP, N, "Alex Mustermann", "", "European Parliament", "Brussels")

EXC_EN = "Please accept, Excellency, the assurances of my highest consideration."
EXC_DE = "Genehmigen Sie, Exzellenz, die Versicherung meiner ausgezeichneten Hochachtung."
SR_ORG = "Special Rapporteur on extrajudicial, summary or arbitrary executions"
PR_ORG = "Permanent Mission of Latvia to the United Nations"

# recipient, language -> (salutation, address block, complimentary close), or None: no form in
# that language (the sender falls back to the recipient's next language; nothing is guessed).
GOLDEN: list[tuple[RecipientRecord, str, tuple[str, tuple[str, ...], str] | None]] = [
    # ---- ambassador, f
    (AMB_F, "en", ("Your Excellency,",
        ("Her Excellency Ms Claire Exemple", "Ambassador", "Embassy of France in Armenia", "Yerevan"),
        EXC_EN)),
    (AMB_F, "fr", ("Madame l'Ambassadrice,",
        ("Son Excellence Madame Claire Exemple", "Ambassadrice", "Embassy of France in Armenia", "Yerevan"),
        "Je vous prie d'agréer, Madame l'Ambassadrice, l'assurance de ma très haute considération.")),
    (AMB_F, "de", ("Sehr geehrte Frau Botschafterin,",
        ("An Ihre Exzellenz", "Frau Botschafterin Claire Exemple", "Embassy of France in Armenia", "Yerevan"),
        EXC_DE)),
    # ---- ambassador, m
    (AMB_M, "en", ("Your Excellency,",
        ("His Excellency Mr Paulo Exemplo", "Ambassador", "Embassy of Brazil in Armenia", "Yerevan"),
        EXC_EN)),
    (AMB_M, "fr", ("Monsieur l'Ambassadeur,",
        ("Son Excellence Monsieur Paulo Exemplo", "Ambassadeur", "Embassy of Brazil in Armenia", "Yerevan"),
        "Je vous prie d'agréer, Monsieur l'Ambassadeur, l'assurance de ma très haute considération.")),
    (AMB_M, "de", ("Sehr geehrter Herr Botschafter,",
        ("An Seine Exzellenz", "Herrn Botschafter Paulo Exemplo", "Embassy of Brazil in Armenia", "Yerevan"),
        EXC_DE)),
    # ---- ambassador, gender unknown: neutral forms; German has none for "An Seine/Ihre Exzellenz"
    (AMB_N, "en", ("Your Excellency,",
        ("H.E. Alex Beispiel", "Ambassador", "Embassy of Ruritania in Armenia", "Yerevan"),
        EXC_EN)),
    (AMB_N, "fr", ("Excellence,",
        ("Son Excellence Alex Beispiel", "Embassy of Ruritania in Armenia", "Yerevan"),
        "Je vous prie d'agréer, Excellence, l'assurance de ma très haute considération.")),
    (AMB_N, "de", None),
    # ---- chargé d'affaires: never "Excellency"
    (CDA_M, "en", ("Dear Chargé d'Affaires,",
        ("Mr Paulo Exemplo", "Chargé d'Affaires", "Embassy of Brazil in Armenia", "Yerevan"),
        "Yours sincerely,")),
    (CDA_M, "fr", ("Monsieur le Chargé d'affaires,",
        ("Monsieur Paulo Exemplo", "Chargé d'affaires", "Embassy of Brazil in Armenia", "Yerevan"),
        "Je vous prie d'agréer, Monsieur le Chargé d'affaires, l'assurance de ma haute considération.")),
    (CDA_M, "de", ("Sehr geehrter Herr Geschäftsträger,",
        ("Herrn Paulo Exemplo", "Geschäftsträger", "Embassy of Brazil in Armenia", "Yerevan"),
        "Mit freundlichen Grüßen")),
    (CDA_F, "en", ("Dear Chargé d'Affaires,",
        ("Ms Ana Exemplo", "Chargé d'Affaires", "Embassy of Brazil in Armenia", "Yerevan"),
        "Yours sincerely,")),
    (CDA_F, "fr", ("Madame la Chargée d'affaires,",
        ("Madame Ana Exemplo", "Chargée d'affaires", "Embassy of Brazil in Armenia", "Yerevan"),
        "Je vous prie d'agréer, Madame la Chargée d'affaires, l'assurance de ma haute considération.")),
    (CDA_F, "de", ("Sehr geehrte Frau Geschäftsträgerin,",
        ("Frau Ana Exemplo", "Geschäftsträgerin", "Embassy of Brazil in Armenia", "Yerevan"),
        "Mit freundlichen Grüßen")),
    # ---- permanent representative (ambassadorial rank)
    (PR_F, "en", ("Your Excellency,",
        ("Her Excellency Ms Līga Piemēra", "Permanent Representative", PR_ORG, "New York"),
        EXC_EN)),
    (PR_F, "fr", ("Madame l'Ambassadrice,",
        ("Son Excellence Madame Līga Piemēra", "Représentante permanente", PR_ORG, "New York"),
        "Je vous prie d'agréer, Madame l'Ambassadrice, l'assurance de ma très haute considération.")),
    (PR_F, "de", ("Sehr geehrte Frau Botschafterin,",
        ("An Ihre Exzellenz", "Frau Botschafterin Līga Piemēra", "Ständige Vertreterin", PR_ORG, "New York"),
        EXC_DE)),
    # ---- office mailbox of an embassy: written to the head of mission
    (OFFICE_EMB, "en", ("Excellency,", ("Embassy of Ruritania", "Moscow"), EXC_EN)),
    (OFFICE_EMB, "fr", ("Excellence,", ("Embassy of Ruritania", "Moscow"),
        "Je vous prie d'agréer, Excellence, l'assurance de ma très haute considération.")),
    (OFFICE_EMB, "de", ("Exzellenz,", ("Embassy of Ruritania", "Moscow"), EXC_DE)),
    # ---- office mailbox of a UN body: "Dear Sir or Madam" takes "Yours faithfully"
    (OFFICE_UN, "en", ("Dear Sir or Madam,", ("OHCHR", "Geneva"), "Yours faithfully,")),
    (OFFICE_UN, "fr", ("Madame, Monsieur,", ("OHCHR", "Geneva"),
        "Je vous prie d'agréer, Madame, Monsieur, l'expression de ma considération distinguée.")),
    (OFFICE_UN, "de", ("Sehr geehrte Damen und Herren,", ("OHCHR", "Geneva"), "Mit freundlichen Grüßen")),
    # ---- UN High Commissioner
    (HC_M, "en", ("Dear High Commissioner,",
        ("Mr Jonas Example", "High Commissioner", "OHCHR", "Geneva"), "Yours sincerely,")),
    (HC_M, "fr", ("Monsieur le Haut-Commissaire,",
        ("Monsieur Jonas Example", "Haut-Commissaire", "OHCHR", "Geneva"),
        "Je vous prie d'agréer, Monsieur le Haut-Commissaire, l'assurance de ma haute considération.")),
    (HC_M, "de", ("Sehr geehrter Herr Hoher Kommissar,",
        ("Herrn Jonas Example", "Hoher Kommissar", "OHCHR", "Geneva"), "Mit freundlichen Grüßen")),
    # ---- Special Rapporteur: never "Excellency"
    (SR_F, "en", ("Dear Special Rapporteur,", ("Ms Ana Ejemplo", SR_ORG, "Geneva"), "Yours sincerely,")),
    (SR_F, "fr", ("Madame la Rapporteuse spéciale,", ("Madame Ana Ejemplo", SR_ORG, "Geneva"),
        "Je vous prie d'agréer, Madame la Rapporteuse spéciale, l'assurance de ma haute considération.")),
    (SR_F, "de", ("Sehr geehrte Frau Sonderberichterstatterin,", ("Frau Ana Ejemplo", SR_ORG, "Geneva"),
        "Mit freundlichen Grüßen")),
    # ---- Member of the European Parliament, f / m / unknown
    (MEP_F, "en", ("Dear Ms Exemple-Durand,",
        ("Ms Marie Exemple-Durand", "Member of the European Parliament", "Brussels"), "Yours sincerely,")),
    (MEP_F, "fr", ("Madame la Députée,",
        ("Madame Marie Exemple-Durand", "Députée au Parlement européen", "Brussels"),
        "Je vous prie d'agréer, Madame la Députée, l'expression de ma haute considération.")),
    (MEP_F, "de", ("Sehr geehrte Frau Abgeordnete,",
        ("Frau Marie Exemple-Durand", "Mitglied des Europäischen Parlaments", "Brussels"),
        "Mit freundlichen Grüßen")),
    (MEP_M, "en", ("Dear Mr Example,",
        ("Mr Jan Example", "Member of the European Parliament", "Brussels"), "Yours sincerely,")),
    (MEP_M, "fr", ("Monsieur le Député,",
        ("Monsieur Jan Example", "Député au Parlement européen", "Brussels"),
        "Je vous prie d'agréer, Monsieur le Député, l'expression de ma haute considération.")),
    (MEP_M, "de", ("Sehr geehrter Herr Abgeordneter,",
        ("Herrn Jan Example", "Mitglied des Europäischen Parlaments", "Brussels"),
        "Mit freundlichen Grüßen")),
    (MEP_N, "en", ("Dear Member of the European Parliament,",
        ("Alex Mustermann", "Member of the European Parliament", "Brussels"), "Yours sincerely,")),
    (MEP_N, "fr", ("Madame, Monsieur,",
        ("Alex Mustermann", "Membre du Parlement européen", "Brussels"),
        "Je vous prie d'agréer, Madame, Monsieur, l'expression de ma haute considération.")),
    (MEP_N, "de", ("Guten Tag Alex Mustermann,",
        ("Alex Mustermann", "Mitglied des Europäischen Parlaments", "Brussels"),
        "Mit freundlichen Grüßen")),
]  # fmt: skip


@pytest.fixture(scope="module")
def forms() -> FormsOfAddress:
    return load_forms(FORMS_FILE)


@pytest.mark.parametrize(
    ("recipient", "language", "expected"),
    GOLDEN,
    ids=[f"{r.role}-{r.kind}-{r.gender}-{lang}" for r, lang, _ in GOLDEN],
)
def test_golden(
    forms: FormsOfAddress,
    recipient: RecipientRecord,
    language: str,
    expected: tuple[str, tuple[str, ...], str] | None,
) -> None:
    form = forms.lookup(recipient.role, recipient.kind, language, recipient.gender)
    if expected is None:
        assert form is None
        return
    assert form is not None
    filled = form.fill(recipient_values(recipient))
    assert (filled.salutation, filled.address_block, filled.closing) == expected


ALL_LANGUAGES = ("en", "fr", "de", "ru", "es")


@pytest.mark.parametrize("role", [Role.CHARGE_D_AFFAIRES, Role.SPECIAL_RAPPORTEUR])
@pytest.mark.parametrize("language", ALL_LANGUAGES)
@pytest.mark.parametrize("gender", list(Gender))
def test_never_excellency(forms: FormsOfAddress, role: Role, language: str, gender: Gender) -> None:
    for kind in RecipientKind:
        form = forms.lookup(role, kind, language, gender)
        if form is None:
            continue
        for text in (form.salutation, *form.address_block, form.closing):
            assert "Excellen" not in text
            assert not excellency_in(text)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("kind", list(RecipientKind))
@pytest.mark.parametrize("gender", list(Gender))
def test_english_is_the_final_fallback_for_everyone(
    forms: FormsOfAddress, role: Role, kind: RecipientKind, gender: Gender
) -> None:
    assert forms.lookup(role, kind, "en", gender) is not None


def test_only_en_fr_de_are_reviewed(forms: FormsOfAddress) -> None:
    for role in Role:
        for kind in RecipientKind:
            for language in forms.languages(role, kind):
                form = forms.lookup(role, kind, language, Gender.M)
                assert form is not None
                assert form.reviewed is (language in {"en", "fr", "de"}), form.where


def test_unknown_gender_never_borrows_a_gendered_entry(forms: FormsOfAddress) -> None:
    # de ambassador has m and f but no neutral entry: unknown gets nothing, not "Herr".
    assert forms.lookup(Role.AMBASSADOR, E, "de", Gender.UNKNOWN) is None
    # en charge d'affaires has only the neutral entry: m and f use it.
    form = forms.lookup(Role.CHARGE_D_AFFAIRES, E, "en", Gender.M)
    assert form is not None
    assert form.where == "charge_d_affaires/en/unknown"


def test_unknown_language_has_no_form(forms: FormsOfAddress) -> None:
    assert forms.lookup(Role.AMBASSADOR, E, "pt", Gender.M) is None
    assert forms.lookup(Role.AMBASSADOR, E, "fr-BE", Gender.M) is None  # the caller tries "fr"


def test_missing_name_is_a_clear_error(forms: FormsOfAddress) -> None:
    form = forms.lookup(Role.MEP, MEP, "en", Gender.F)
    assert form is not None
    values = recipient_values(MEP_F) | {"family_name": None}
    with pytest.raises(FormsError) as caught:
        form.fill(values)
    assert str(caught.value) == (
        "forms of address mep/en/f: needs {family_name}, which the recipient does not have; "
        "add it to the recipient record"
    )


def test_empty_optional_placeholders_leave_no_gaps(forms: FormsOfAddress) -> None:
    form = forms.lookup(Role.AMBASSADOR, E, "en", Gender.F)
    assert form is not None
    filled = form.fill(recipient_values(AMB_F) | {"courtesy_title": None, "city": ""})
    assert filled.address_block == (
        "Her Excellency Claire Exemple",
        "Ambassador",
        "Embassy of France in Armenia",
    )


# --- the loader enforces the rules on edited files -----------------------------------------------

ENTRY = """\
forms:
  - role: {role}
    languages:
      en:
        reviewed: true
        unknown:
          salutation: "{salutation}"
          address_block: [{lines}]
          closing: "Yours sincerely,"
"""


@pytest.mark.parametrize(
    ("role", "salutation", "lines", "message"),
    [
        (
            "charge_d_affaires", "Your Excellency,", '"{given_name} {family_name}"',
            "forms[0] (charge_d_affaires).en.unknown.salutation: "
            "a charge_d_affaires is never 'Excellency'",
        ),
        (
            "special_rapporteur", "Dear Special Rapporteur,", '"H.E. {family_name}"',
            "forms[0] (special_rapporteur).en.unknown.address_block[0]: "
            "a special_rapporteur is never 'Excellency'",
        ),
        (
            "ambassador", "Your Excellency,", '"Ambassador", "His Excellency {family_name}"',
            "forms[0] (ambassador).en.unknown.address_block[1]: 'Excellency' must come first, "
            "on the first line of the address block",
        ),
        (
            "mep", "Dear {courtesy_title} {family_name},", '"{family_name}"',
            "forms[0] (mep).en.unknown.salutation: {courtesy_title} may be empty, "
            "so it is allowed only in the address block",
        ),
        (
            "mep", "Dear {surname},", '"{family_name}"',
            "forms[0] (mep).en.unknown.salutation: unknown placeholder {surname}; use "
            "{city}, {country_name}, {courtesy_title}, {family_name}, {given_name}, {organisation}",
        ),
        (
            "consul", "Dear Consul,", '"{family_name}"',
            "forms[0].role: 'consul' is not one of ambassador, charge_d_affaires, "
            "permanent_representative, minister, secretary_general, high_commissioner, "
            "special_rapporteur, mep, office",
        ),
    ],
)  # fmt: skip
def test_loader_rejects_rule_breaking_entries(
    tmp_path: Path, role: str, salutation: str, lines: str, message: str
) -> None:
    path = tmp_path / "forms.yaml"
    path.write_text(ENTRY.format(role=role, salutation=salutation, lines=lines), encoding="utf-8")
    with pytest.raises(FormsError) as caught:
        load_forms(path)
    assert str(caught.value) == f"{path}: {message}"
