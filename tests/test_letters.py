"""Letters: the seed appeal made personal for each recipient, in one language, safely encoded."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import shutil
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from outreach.config import Settings
from outreach.errors import LetterError
from outreach.letter import Composer, Letter
from outreach.message import Headers, build_message
from outreach.recipients.reader import read_numbered
from outreach.recipients.record import Gender, RecipientKind, RecipientRecord, Role

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "templates"
SLUG = "nk-appeal-2023-03-07"
SENDER = {
    "name": "Appeal Campaign",
    "address": "appeal@outreach.example.org",
    "organisation": "HCA",
}
DEMAND_OPENINGS = {  # how each demand begins in the English letter
    "un-fact-finding": "To ensure necessary conditions for deployment of the UN fact-finding mission",
    "icj-order": "To implement unconditionally the ICJ Order",
    "accountability": "To identify immediately the perpetrators of the 5 March 2023 killing",
}


def settings(templates: Path = TEMPLATES, **letters: object) -> Settings:
    return Settings(paths={"templates": str(templates)}, sender=SENDER, letters=letters)


@pytest.fixture(scope="module")
def composer() -> Composer:
    return Composer.load(settings())


def sample_recipients() -> list[RecipientRecord]:
    records = []
    for name in ("diplomats.csv", "un-and-eu.yaml"):
        for _, item in read_numbered(REPO / "recipients" / name):
            assert not isinstance(item, list), item
            records.append(item)
    return records


def person(**fields: object) -> RecipientRecord:
    values: dict[str, object] = {
        "key": "emb-fr-am-head",
        "kind": RecipientKind.EMBASSY,
        "role": Role.AMBASSADOR,
        "organisation": "Embassy of France in Armenia",
        "tz": "Asia/Yerevan",
        "courtesy_title": "Ms",
        "gender": Gender.F,
        "given_name": "Claire",
        "family_name": "Exemple",
        "country": "FR",
        "host_country": "AM",
        "city": "Yerevan",
        "email": "ambassador.fr-am@example.org",
        "languages": ("en",),
    }
    values.update(fields)
    return RecipientRecord(**values)  # type: ignore[arg-type]


def parse(letter: Letter) -> EmailMessage:
    message = email.message_from_bytes(letter.mime, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> dict[str, str]:
    found = {}
    for part in message.walk():
        if not part.is_multipart():
            assert isinstance(part, EmailMessage)
            found[part.get_content_type()] = part.get_content()
    return found


@pytest.mark.parametrize(
    "recipient", [r for r in sample_recipients() if r.email], ids=lambda r: r.key
)
def test_every_sample_recipient_gets_a_letter_with_its_demands(
    composer: Composer, recipient: RecipientRecord
) -> None:
    letter = composer.compose(recipient)
    expected = [d.key for d in composer.appeal.demands_for(recipient)]
    assert letter.demand_keys == tuple(expected)
    body = parts(parse(letter))
    for demand in composer.appeal.demands:
        text = demand.text[letter.language]
        assert (text in body["text/plain"]) == (demand.key in expected)
        assert (text in body["text/html"]) == (demand.key in expected)


def test_everyone_but_the_rapporteur_on_executions_is_asked_all_three(composer: Composer) -> None:
    asked = {r.key: composer.appeal.demands_for(r) for r in sample_recipients()}
    partial = {key: [d.key for d in demands] for key, demands in asked.items() if len(demands) != 3}
    assert partial == {"un-sr-executions": ["accountability"]}


def test_a_recipient_asked_one_demand_gets_only_that_one(composer: Composer) -> None:
    [rapporteur] = [r for r in sample_recipients() if r.key == "un-sr-executions"]
    text = composer.compose(rapporteur).text
    assert DEMAND_OPENINGS["accountability"] in text
    assert DEMAND_OPENINGS["un-fact-finding"] not in text
    assert DEMAND_OPENINGS["icj-order"] not in text


def test_the_english_letter_opens_and_closes_as_protocol_requires(composer: Composer) -> None:
    text = composer.compose(person()).text
    assert text.splitlines()[:4] == [
        "Her Excellency Ms Claire Exemple",
        "Ambassador",
        "Embassy of France in Armenia",
        "Yerevan",
    ]
    assert "\nYour Excellency,\n" in text
    assert "Please accept, Excellency, the assurances of my highest consideration." in text


def test_a_charge_d_affaires_is_never_called_excellency(composer: Composer) -> None:
    cda = person(
        role=Role.CHARGE_D_AFFAIRES, gender=Gender.M, given_name="Paulo", family_name="Exemplo"
    )
    for language in ("en", "fr", "de"):
        letter = composer.compose(cda, language=language)
        assert "xcellen" not in letter.text
        assert "xzellenz" not in letter.text


def test_the_letter_is_in_the_recipients_first_language(composer: Composer) -> None:
    assert composer.compose(person(languages=("fr", "en"))).language == "fr"


def test_a_regional_tag_falls_back_to_its_language(composer: Composer) -> None:
    assert composer.compose(person(languages=("fr-BE",))).language == "fr"


def test_a_language_without_an_appeal_text_falls_back_to_the_next(composer: Composer) -> None:
    assert composer.compose(person(languages=("hy", "de"))).language == "de"


def test_the_campaign_default_comes_before_english() -> None:
    composer = Composer.load(settings(default_languages=["es"]))
    assert composer.compose(person(languages=("hy",))).language == "es"


def test_without_a_neutral_german_form_an_unknown_gender_gets_the_next_language(
    composer: Composer,
) -> None:
    choice = composer.choose(person(gender=Gender.UNKNOWN, languages=("de", "fr")))
    assert choice.language == "fr"
    assert choice.passed_over == (
        ("de", "no form of address for ambassador/embassy with gender unknown"),
    )


def test_a_french_letter_is_french_throughout(composer: Composer) -> None:
    letter = composer.compose(person(languages=("fr",)))
    assert letter.subject == composer.appeal.title["fr"]
    assert "Madame l'Ambassadrice," in letter.text
    for demand in composer.appeal.demands:
        assert demand.text["fr"] in letter.text
        assert demand.text["en"] not in letter.text
    assert "Dear" not in letter.text
    assert "Please accept" not in letter.text


def test_asking_for_an_unusable_language_is_an_error(composer: Composer) -> None:
    with pytest.raises(LetterError) as error:
        composer.compose(person(), language="hy")
    assert str(error.value) == (
        "emb-fr-am-head: cannot write in hy: the appeal has no text in this language"
    )


def test_a_recipient_without_email_has_no_letter(composer: Composer) -> None:
    with pytest.raises(LetterError) as error:
        composer.compose(person(email=None))
    assert str(error.value) == "emb-fr-am-head: no e-mail address"


def test_the_parsed_message_has_the_right_headers(composer: Composer) -> None:
    sent_at = dt.datetime(2026, 2, 10, 8, 30, tzinfo=dt.UTC)
    letter = composer.compose(person(), date=sent_at, token="k7m2q9x4ab")
    message = parse(letter)
    assert message["From"] == "Appeal Campaign <appeal@outreach.example.org>"
    assert message["To"] == "Claire Exemple <ambassador.fr-am@example.org>"
    assert message.get_all("Cc") is None
    assert message.get_all("Bcc") is None
    assert message["Reply-To"] == "appeal+k7m2q9x4ab@outreach.example.org"
    assert message["Subject"] == composer.appeal.title["en"]
    assert message["Date"] == "Tue, 10 Feb 2026 08:30:00 +0000"
    assert message["Message-ID"] == letter.message_id
    assert message["X-Outreach-Ref"] == "k7m2q9x4ab"
    assert message["Content-Language"] == "en"
    assert letter.message_id.endswith("@outreach.example.org>")


def test_the_message_has_a_text_and_an_html_alternative(composer: Composer) -> None:
    message = parse(composer.compose(person()))
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]


def test_the_html_has_its_css_inlined_and_no_external_resources(composer: Composer) -> None:
    html = parts(parse(composer.compose(person())))["text/html"]
    assert 'style="' in html
    assert "http://" not in html
    assert "https://" not in html


def test_non_ascii_names_are_encoded_words(composer: Composer) -> None:
    letter = composer.compose(
        person(given_name="Līga", family_name="Piemēra", email="mission.lv-unny@example.org")
    )
    raw_to = next(line for line in letter.mime.split(b"\r\n") if line.startswith(b"To: "))
    assert raw_to == b"To: =?utf-8?q?L=C4=ABga_Piem=C4=93ra?= <mission.lv-unny@example.org>"
    assert parse(letter)["To"] == "Līga Piemēra <mission.lv-unny@example.org>"


def test_a_cyrillic_subject_survives_the_round_trip(composer: Composer) -> None:
    letter = composer.compose(person(languages=("ru",)))
    assert parse(letter)["Subject"] == composer.appeal.title["ru"]
    assert all(byte < 128 for byte in letter.mime)


def test_each_letter_has_its_own_message_id_and_token(composer: Composer) -> None:
    first, second = composer.compose(person()), composer.compose(person())
    assert first.message_id != second.message_id
    assert first.token != second.token
    assert len(first.token) == 10


def test_without_plus_addressing_there_is_no_reply_to() -> None:
    letter = Composer.load(settings(plus_addressing=False)).compose(person())
    assert parse(letter)["Reply-To"] is None


# --- failures -------------------------------------------------------------------------------


@pytest.fixture
def appeal_copy(tmp_path: Path) -> Path:
    """A copy of the templates folder whose English templates a test may break."""
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    return tmp_path / "templates"


def break_template(root: Path, part: str, text: str) -> Path:
    path = root / SLUG / "letter" / "en" / part
    path.write_text(text, encoding="utf-8")
    return path


def test_a_missing_variable_names_the_template_the_line_and_the_variable(appeal_copy: Path) -> None:
    path = break_template(
        appeal_copy, "body.txt.j2", "{{ salutation }}\n\n{{ recipient.nickname }}\n"
    )
    with pytest.raises(LetterError) as error:
        Composer.load(settings(appeal_copy)).compose(person())
    assert str(error.value) == (
        f"{path}:3: 'dict object' has no attribute 'nickname': the template uses a variable the "
        "letter does not provide (see templates/README.md for the variables)"
    )


def test_an_undefined_name_is_an_error_not_an_empty_string(appeal_copy: Path) -> None:
    path = break_template(appeal_copy, "subject.txt.j2", "Dear {{ first_name }}\n")
    with pytest.raises(LetterError) as error:
        Composer.load(settings(appeal_copy)).compose(person())
    assert str(error.value).startswith(f"{path}:1: 'first_name' is undefined")


def test_a_syntax_error_names_the_line(appeal_copy: Path) -> None:
    path = break_template(appeal_copy, "body.txt.j2", "line one\n{% if %}\n")
    with pytest.raises(LetterError) as error:
        Composer.load(settings(appeal_copy)).compose(person())
    assert (
        str(error.value)
        == f"{path}:2: syntax error: Expected an expression, got 'end of statement block'"
    )


def test_the_sandbox_refuses_python_internals(appeal_copy: Path) -> None:
    path = break_template(
        appeal_copy, "body.txt.j2", "{{ salutation.__class__.__mro__[1].__subclasses__() }}\n"
    )
    with pytest.raises(LetterError) as error:
        Composer.load(settings(appeal_copy)).compose(person())
    assert str(error.value) == (
        f"{path}:1: refused by the sandbox: access to attribute '__class__' of 'str' object is unsafe."
    )


def test_the_sandbox_refuses_reaching_module_globals(appeal_copy: Path) -> None:
    path = break_template(
        appeal_copy, "body.txt.j2", "{{ lipsum.__globals__['os'].system('true') }}\n"
    )
    with pytest.raises(LetterError) as error:
        Composer.load(settings(appeal_copy)).compose(person())
    assert str(error.value) == (
        f"{path}:1: refused by the sandbox: access to attribute '__globals__' of 'function' "
        "object is unsafe."
    )


def test_a_huge_power_is_refused(appeal_copy: Path) -> None:
    path = break_template(appeal_copy, "body.txt.j2", "{{ 2 ** 100000 }}\n")
    with pytest.raises(LetterError) as error:
        Composer.load(settings(appeal_copy)).compose(person())
    assert str(error.value) == (
        f"{path}:1: `**` would make a number of about 100,000 bits, over the limit of 128 bits "
        'in one number (number_bits; see "Template limits" in docs/appeals.md)'
    )


def test_an_oversized_letter_is_refused(appeal_copy: Path) -> None:
    path = break_template(
        appeal_copy, "body.txt.j2", "{% for i in range(60000) %}0123456789{% endfor %}\n"
    )
    with pytest.raises(LetterError) as error:
        Composer.load(settings(appeal_copy, max_bytes=100_000)).compose(person())
    assert str(error.value) == (
        f"{path}: the letter is larger than letters.max_bytes (100000 bytes): "
        "check the template for a runaway loop"
    )


def test_a_huge_repetition_is_refused_before_it_is_built(appeal_copy: Path) -> None:
    path = break_template(appeal_copy, "body.txt.j2", "{{ 'x' * 1000000000 }}\n")
    with pytest.raises(LetterError) as error:
        Composer.load(settings(appeal_copy)).compose(person())
    assert str(error.value) == (
        f"{path}:1: `*` would make 1,000,000,000 characters or items, over the limit of 500,000 "
        'characters or items in one value (value_length; see "Template limits" in docs/appeals.md)'
    )


def test_html_is_autoescaped(appeal_copy: Path) -> None:
    break_template(appeal_copy, "body.html.j2", "<p>{{ recipient.organisation }}</p>\n")
    letter = Composer.load(settings(appeal_copy)).compose(person(organisation="Embassy <b>&</b>"))
    assert "Embassy &lt;b&gt;&amp;&lt;/b&gt;" in letter.html


# --- header injection -----------------------------------------------------------------------

HEADERS = Headers(
    subject="Appeal",
    from_name="Appeal Campaign",
    from_address="appeal@outreach.example.org",
    to_name="Claire Exemple",
    to_address="ambassador.fr-am@example.org",
    reply_to=None,
    message_id="<1@outreach.example.org>",
    token="k7m2q9x4ab",
    date=dt.datetime(2026, 2, 10, tzinfo=dt.UTC),
    language="en",
)


@pytest.mark.parametrize(
    ("field", "value", "header"),
    [
        ("subject", "Appeal\r\nBcc: victim@example.net", "Subject"),
        ("to_name", "Claire\nBcc: victim@example.net", "To"),
        ("from_name", "Campaign\rX-Evil: 1", "From"),
        ("to_address", "a@example.org\nBcc: b@example.net", "To"),
        ("subject", "Appeal\x00", "Subject"),
        ("subject", "Appeal\u2028Bcc: victim@example.net", "Subject"),
        ("token", "abc\ndef", "X-Outreach-Ref"),
    ],
)
def test_control_characters_in_a_header_value_are_refused(
    field: str, value: str, header: str
) -> None:
    headers = dataclasses.replace(HEADERS, **{field: value})
    with pytest.raises(LetterError) as error:
        build_message(headers, "text", "<p>html</p>")
    assert str(error.value).startswith(f"{header}: the value ")
    assert "contains a control character" in str(error.value)


def test_a_message_refuses_an_address_not_in_its_ascii_form() -> None:
    headers = dataclasses.replace(HEADERS, to_address="office@bücher.example")
    with pytest.raises(LetterError, match=r"^To: office@bücher\.example is not in its ASCII form"):
        build_message(headers, "text", "<p>html</p>")


def test_a_subject_template_cannot_add_a_header(appeal_copy: Path) -> None:
    break_template(appeal_copy, "subject.txt.j2", "Appeal\nBcc: victim@example.net\n")
    letter = Composer.load(settings(appeal_copy)).compose(person())
    message = parse(letter)
    assert message["Bcc"] is None
    assert message["Subject"] == "Appeal Bcc: victim@example.net"
