"""Invisible characters in recipient data: refused on import and edit, never in a header.

The attacker supplies a recipient list (or one cell of it) whose names hide a bidi override or a
zero-width character, so that what staff read is not what the letters and reports say.
"""

from __future__ import annotations

import datetime as dt
import email
import json
from email import policy
from pathlib import Path

import pytest

from outreach.config import Settings
from outreach.errors import LetterError
from outreach.letter import Composer
from outreach.message import Headers, build_message
from outreach.recipients.record import Gender, RecipientKind, RecipientRecord, Role
from tests.hostile import REPO, recipients_csv, run
from tests.samples import AMBASSADOR_ROW

ROW = AMBASSADOR_ROW
# One of each kind the issue names, with the name the error gives it.
INVISIBLES = {
    "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u202a": "U+202A LEFT-TO-RIGHT EMBEDDING",
    "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE",
    "\u2069": "U+2069 POP DIRECTIONAL ISOLATE",
    "\u200e": "U+200E LEFT-TO-RIGHT MARK",
    "\u200f": "U+200F RIGHT-TO-LEFT MARK",
    "\u061c": "U+061C ARABIC LETTER MARK",
    "\u200b": "U+200B ZERO WIDTH SPACE",
    "\u200c": "U+200C ZERO WIDTH NON-JOINER",  # between Latin letters: joins nothing
    "\u200d": "U+200D ZERO WIDTH JOINER",
    "\u2060": "U+2060 WORD JOINER",
    "\ufeff": "U+FEFF ZERO WIDTH NO-BREAK SPACE",
    "\u00ad": "U+00AD SOFT HYPHEN",
    "\u3164": "U+3164 HANGUL FILLER",
}
PERSIAN = "علی\u200cرضا"  # Alireza: the ZWNJ keeps "Ali" and "Reza" from joining
DEVANAGARI = "क्\u200dष"  # ka, virama, ZWJ, ssa: the half form of ka (UAX #31 §2.3)
SENDER = {"name": "Appeal Campaign", "address": "appeal@outreach.example.org"}


def imported(tmp_path: Path, **changes: str) -> tuple[int, str, list[dict[str, object]]]:
    """Import a list whose second recipient has `changes`: exit code, stderr, what is stored."""
    other = {**ROW, "key": "emb-de-am-head", "email": "ambassador.de-am@example.org"}
    path = tmp_path / "list.csv"
    path.write_text(recipients_csv([other, {**ROW, **changes}]), encoding="utf-8")
    assert run("init").exit_code == 0
    result = run("recipients", "import", str(path))
    return result.exit_code, result.stderr, json.loads(run("recipients", "list", "--json").output)


def refused(tmp_path: Path, field: str, char: str) -> None:
    """Hide `char` after the third letter of `field`, and check the import refuses it."""
    value = str(ROW[field])
    code, errors, stored = imported(tmp_path, **{field: value[:3] + char + value[3:]})
    assert code == 65
    assert f"list.csv:3: {field}: contains {INVISIBLES[char]} at character 4:" in errors
    assert "nothing was imported" in errors
    assert stored == []  # all or nothing: the valid row is not imported either


@pytest.mark.parametrize("char", INVISIBLES, ids=lambda char: f"U+{ord(char):04X}")
def test_an_invisible_character_in_a_name_is_refused_naming_file_line_and_field(
    tmp_path: Path, char: str
) -> None:
    refused(tmp_path, "family_name", char)


@pytest.mark.parametrize("field", ["given_name", "organisation", "city"])
def test_a_bidi_override_in_any_text_field_is_refused(tmp_path: Path, field: str) -> None:
    refused(tmp_path, field, "\u202e")


def test_a_persian_name_keeps_its_zero_width_non_joiner(tmp_path: Path) -> None:
    code, errors, [_, stored] = imported(
        tmp_path, given_name=PERSIAN, family_name="Ahmadi", organisation=f"Office {DEVANAGARI}"
    )
    assert code == 0, errors
    assert (stored["given_name"], stored["organisation"]) == (PERSIAN, f"Office {DEVANAGARI}")


def test_an_edit_that_hides_a_character_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    code, errors, _ = imported(tmp_path)
    assert code == 0, errors
    result = run("recipients", "set", "emb-fr-am-head", "family_name=Exem\u200bple")
    assert result.exit_code == 65
    assert (
        "recipient emb-fr-am-head: family_name: contains U+200B ZERO WIDTH SPACE at character 5"
        in result.stderr
    )
    shown = json.loads(run("recipients", "list", "--json").output)
    assert {row["family_name"] for row in shown} == {"Exemple"}


def headers(**values: str) -> Headers:
    fields: dict[str, object] = {
        "subject": "Appeal",
        "from_name": "Appeal Campaign",
        "from_address": "appeal@outreach.example.org",
        "to_name": "Claire Exemple",
        "to_address": "ambassador.fr-am@example.org",
        "reply_to": None,
        "message_id": "<m1@outreach.example.org>",
        "token": "abcdefghij",
        "date": dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC),
        "language": "en",
        **values,
    }
    return Headers(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "header"),
    [("to_name", "To"), ("from_name", "From"), ("subject", "Subject")],
)
@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u2066", "\ufeff"], ids=ascii)
def test_no_header_is_built_with_a_bidi_or_zero_width_character(
    field: str, header: str, char: str
) -> None:
    with pytest.raises(LetterError) as refused:
        build_message(headers(**{field: f"Claire{char}Exemple"}), "text", "<p>html</p>")
    assert str(refused.value).startswith(f"{header}: the value ")
    assert f"contains U+{ord(char):04X}" in str(refused.value)


def test_a_persian_name_goes_into_the_to_header_as_written() -> None:
    mime = build_message(headers(to_name=f"{PERSIAN} Ahmadi"), "text", "<p>html</p>")
    parsed = email.message_from_bytes(mime, policy=policy.default)
    assert parsed["To"].addresses[0].display_name == f"{PERSIAN} Ahmadi"


def test_a_row_stored_before_the_check_gets_no_letter() -> None:
    # The last defence: a recipient imported before invisible characters were refused.
    composer = Composer.load(Settings(paths={"templates": str(REPO / "templates")}, sender=SENDER))
    legacy = RecipientRecord(
        key="emb-fr-am-head",
        kind=RecipientKind.EMBASSY,
        role=Role.AMBASSADOR,
        organisation="Embassy of France in Armenia",
        tz="Asia/Yerevan",
        courtesy_title="Ms",
        gender=Gender.F,
        given_name="Claire",
        family_name="Exemple\u202eevil",
        country="FR",
        email="ambassador.fr-am@example.org",
        languages=("en",),
    )
    with pytest.raises(LetterError, match=r"^To: the value .*U\+202E RIGHT-TO-LEFT OVERRIDE"):
        composer.compose(legacy)
