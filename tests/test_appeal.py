"""The seed appeal as data: it loads, is complete in every language, bad folders fail clearly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from outreach.appeal import AppealError, TextStatus, list_appeals, load_appeal

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SEED = TEMPLATES / "nk-appeal-2023-03-07"
SOURCE = Path("/work/shared/seed/000_7dbaf4c1f71b601c.txt")  # the page as published
LANGUAGES = ("en", "fr", "de", "ru", "es")

SIGNATORIES = (
    "Democracy Development Foundation",
    "Transparency International Anti-corruption Center NGO",
    "Protection of Rights without Borders NGO",
    "Helsinki Citizens’ Assembly- Vanadzor office NGO",
    "Journalists’ “Asparez” Club NGO",
    "Union of Informed Citizens NGO",
    "For Equal Rights NGO",
    "Analytical Centre on Globalization and Regional Cooperation NGO",
    "Peace Dialogue NGO",
    "Public Journalism Club NGO",
    "Law Development and Protection Foundation",
)


def test_seed_loads_with_its_metadata() -> None:
    appeal = load_appeal(SEED)
    assert appeal.slug == "nk-appeal-2023-03-07"
    assert appeal.date.isoformat() == "2023-03-07"
    assert appeal.default_language == "en"
    assert appeal.attachments == ()


def test_seed_has_the_three_demands_with_stable_keys() -> None:
    appeal = load_appeal(SEED)
    assert appeal.demand_keys == ("un-fact-finding", "icj-order", "accountability")
    assert appeal.demand("icj-order").text["en"].startswith("To implement unconditionally")
    with pytest.raises(AppealError, match="no demand 'ceasefire'"):
        appeal.demand("ceasefire")


def test_seed_signatories_are_verbatim() -> None:
    assert load_appeal(SEED).signatories == SIGNATORIES


def test_english_is_the_original_and_every_translation_awaits_review() -> None:
    languages = load_appeal(SEED).languages
    assert tuple(languages) == LANGUAGES
    assert languages["en"].status is TextStatus.ORIGINAL
    for language in LANGUAGES[1:]:
        assert languages[language].status is TextStatus.TRANSLATION
        assert languages[language].reviewed is False
        assert "native" in (languages[language].note or "")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_is_complete(language: str) -> None:
    appeal = load_appeal(SEED)
    assert appeal.title[language]
    assert len(appeal.intro[language]) == 6
    assert appeal.lead_in[language].endswith(":")
    assert len(appeal.closing[language]) == 1
    for demand in appeal.demands:
        assert demand.text[language]
        assert not demand.text[language].endswith((",", ".", ";"))  # the template punctuates
        assert demand.keywords[language]


@pytest.mark.parametrize(
    ("language", "phrase"),
    [
        ("en", "fact-finding"),
        ("en", "monitoring mission"),
        ("fr", "mission d'établissement des faits"),
        ("de", "Untersuchungsmission"),
        ("de", "Erkundungsmission"),
        ("ru", "миссия по установлению фактов"),
        ("es", "misión de investigación"),
    ],
)
def test_fact_finding_keywords(language: str, phrase: str) -> None:
    assert phrase in load_appeal(SEED).demand("un-fact-finding").keywords[language]


def test_text_has_no_mis_encoded_characters() -> None:
    appeal = load_appeal(SEED)
    texts = [*appeal.title.values(), *appeal.lead_in.values()]
    texts += [
        p for paragraphs in (*appeal.intro.values(), *appeal.closing.values()) for p in paragraphs
    ]
    texts += [t for demand in appeal.demands for t in demand.text.values()]
    for text in texts:
        assert "\u0570" not in text  # Armenian "հ" that stood for "h" in "Karabakհ"
        assert "\u2024" not in text  # ONE DOT LEADER that stood for a full stop


@pytest.mark.skipif(not SOURCE.is_file(), reason="the published page is not on this machine")
def test_english_text_is_faithful_to_the_published_page() -> None:
    appeal = load_appeal(SEED)
    bullets = [
        f"• {d.text['en']}{'.' if i == len(appeal.demands) - 1 else ','}"
        for i, d in enumerate(appeal.demands)
    ]
    ours = [*appeal.intro["en"], appeal.lead_in["en"], *bullets, *appeal.closing["en"]]
    page = SOURCE.read_text(encoding="utf-8")
    page = page.replace("Karabak\u0570", "Karabakh").replace("\u2024", ".")  # the two fixes
    published = [line.strip() for line in page.splitlines() if line.strip()]
    start = published.index(ours[0])
    assert published[start : start + len(ours)] == ours
    assert published[start + len(ours) : start + len(ours) + 11] == list(SIGNATORIES)


def test_list_appeals_shows_the_seed() -> None:
    (summary,) = [s for s in list_appeals(TEMPLATES) if s.slug == "nk-appeal-2023-03-07"]
    assert summary.title.startswith("Joint statement by civil society organizations of Armenia")
    assert summary.languages == LANGUAGES
    assert summary.unreviewed == ("fr", "de", "ru", "es")


# --- broken folders: the message names the file and the field ----------------------------------


def _broken_copy(tmp_path: Path, edit: Any, name: str = "nk-appeal-2023-03-07") -> Path:
    """Copy the seed appeal into tmp_path/name and apply `edit` to its data."""
    folder = tmp_path / name
    shutil.copytree(SEED, folder)
    data = yaml.safe_load((folder / "appeal.yaml").read_text(encoding="utf-8"))
    edit(data)
    (folder / "appeal.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def _drop_fr_demand(data: dict[str, Any]) -> None:
    del data["demands"][1]["text"]["fr"]


def _duplicate_key(data: dict[str, Any]) -> None:
    data["demands"][2]["key"] = "icj-order"


def _bad_key(data: dict[str, Any]) -> None:
    data["demands"][0]["key"] = "UN fact finding"


def _drop_de_closing(data: dict[str, Any]) -> None:
    del data["body"]["de"]["closing"]


def _drop_es_title(data: dict[str, Any]) -> None:
    del data["title"]["es"]


def _stray_language(data: dict[str, Any]) -> None:
    data["title"]["it"] = "Dichiarazione congiunta"


def _misspelt_key(data: dict[str, Any]) -> None:
    data["signatures"] = data.pop("signatories")


def _reviewed_without_reviewer(data: dict[str, Any]) -> None:
    data["languages"]["fr"]["reviewed"] = True


@pytest.mark.parametrize(
    ("edit", "field_and_message"),
    [
        (_drop_fr_demand, "demands[1].text.fr: missing (every listed language needs it)"),
        (_duplicate_key, "demands[2].key: 'icj-order' is used by an earlier demand"),
        (_bad_key, "demands[0].key: 'UN fact finding' must match ^[a-z0-9][a-z0-9-]{1,40}$"),
        (_drop_de_closing, "body.de.closing: missing"),
        (_drop_es_title, "title.es: missing (every listed language needs it)"),
        (_stray_language, "title.it: language not listed under languages"),
        (_misspelt_key, "(top level): unknown key(s) signatures"),
        (
            _reviewed_without_reviewer,
            "languages.fr.reviewed_by: a reviewed translation names its reviewer",
        ),
    ],
)
def test_broken_appeal_gives_the_exact_error(
    tmp_path: Path, edit: Any, field_and_message: str
) -> None:
    folder = _broken_copy(tmp_path, edit)
    with pytest.raises(AppealError) as caught:
        load_appeal(folder)
    assert str(caught.value) == f"{folder / 'appeal.yaml'}: {field_and_message}"


def test_folder_name_must_equal_the_slug(tmp_path: Path) -> None:
    folder = _broken_copy(tmp_path, lambda data: None, name="other-name")
    with pytest.raises(AppealError) as caught:
        load_appeal(folder)
    assert str(caught.value) == (
        f"{folder / 'appeal.yaml'}: slug: 'nk-appeal-2023-03-07' differs from the folder name "
        "'other-name'"
    )


def test_folder_without_appeal_file(tmp_path: Path) -> None:
    with pytest.raises(AppealError) as caught:
        load_appeal(tmp_path)
    assert str(caught.value) == f"{tmp_path}: not an appeal folder: it has no appeal.yaml"


# --- the letter templates render with the documented variables ----------------------------------


def _context(language: str) -> dict[str, Any]:
    """Every variable templates/README.md documents, for a fictional ambassador."""
    appeal = load_appeal(SEED)
    return {
        "recipient": {"given_name": "Claire", "family_name": "Exemple", "role": "ambassador"},
        "appeal": {
            "slug": appeal.slug,
            "title": appeal.title[language],
            "date": appeal.date.isoformat(),
            "date_formatted": "7 March 2023",
            "signatories": list(appeal.signatories),
        },
        "intro": list(appeal.intro[language]),
        "lead_in": appeal.lead_in[language],
        "demands": [{"key": d.key, "text": d.text[language]} for d in appeal.demands],
        "closing_paragraphs": list(appeal.closing[language]),
        "salutation": "<Salutation>",
        "address_block": ["Line <one>", "Line two"],
        "complimentary_close": "Closing & close",
        "sender": {"name": "Anna Example", "organisation": "Example NGO", "email": "a@example.org"},
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_letter_templates_render_strictly(language: str) -> None:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(SEED / "letter"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    context = _context(language)
    subject = env.get_template(f"{language}/subject.txt.j2").render(context)
    text = env.get_template(f"{language}/body.txt.j2").render(context)
    html = env.get_template(f"{language}/body.html.j2").render(context)
    appeal = load_appeal(SEED)
    assert subject == appeal.title[language]
    for body in (text, html):
        for demand in appeal.demands:
            assert demand.key in html
            assert demand.text[language].split()[-1] in body
        assert SIGNATORIES[0] in body
    assert "<Salutation>" in text
    assert "Line <one>\nLine two\n" in text
    assert "&lt;Salutation&gt;" in html
    assert "Closing &amp; close" in html
    assert f'<html lang="{language}">' in html
    assert "http" not in html  # no external resources


@pytest.mark.parametrize("language", LANGUAGES)
def test_letter_without_demands_leaves_out_the_lead_in(language: str) -> None:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(SEED / "letter"), undefined=StrictUndefined, trim_blocks=True
    )
    context = _context(language) | {"demands": []}
    text = env.get_template(f"{language}/body.txt.j2").render(context)
    assert context["lead_in"] not in text
