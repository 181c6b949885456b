"""Recipient fields × every output: whatever a list cell holds, no output obeys or hides it.

Hypothesis writes one cell of a recipient CSV from letters, formula characters, markup, controls,
bidi and zero-width characters, joiners and Persian letters. The invariants:

- import: a cell with a control, a bidi control or a zero-width character (other than a joiner
  between letters that join) is refused, naming its line and field;
- headers: no letter's From, To or Subject ever holds one, even for a row stored before the check
  (the letter is refused instead);
- text and HTML letters: an accepted value appears as it was (as text, not markup, in HTML);
- CSV: no cell of any report table starts a formula;
- terminal: nothing printed is a control a terminal would act on.
"""

from __future__ import annotations

import csv
import dataclasses
import email
import io
import tempfile
import unicodedata
from email import policy
from email.message import EmailMessage
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import idna
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rich.table import Table

from outreach.config import Settings
from outreach.errors import LetterError
from outreach.letter import Composer
from outreach.recipients.reader import read_numbered
from outreach.recipients.record import RecipientRecord
from outreach.reports.tabular import TABLES, to_csv
from outreach.spreadsheet import restore
from outreach.terminal import InertConsole, inert_file
from tests.hostile import REPO, recipients_csv, report_with
from tests.samples import AMBASSADOR_ROW

BASE = AMBASSADOR_ROW
FIELDS = ("given_name", "family_name", "organisation", "city")
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u2060\ufeff\u00ad\u3164"
JOINERS = "\u200c\u200d"
CONTROLS = "\x00\x07\x08\x1b\r\n\t\x7f\u0085\u009b\u2028"
HIDDEN = frozenset(BIDI + ZERO_WIDTH)
# What a terminal would obey (newline and tab are layout).
OBEYED = frozenset(
    [chr(code) for code in range(0x20) if chr(code) not in "\n\t"]
    + [chr(code) for code in range(0x7F, 0xA0)]
    + list(BIDI)
)
DANGEROUS = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")
# Words as a list's cells hold them (formulas, markup, Persian and Devanagari words, with and
# without their joiners), and single characters to hide between them.
WORDS = (
    "Claire",
    "de la Cruz",
    '=HYPERLINK("http://evil.example")',
    "@SUM(1)",
    "-1",
    "+1",
    "'=1",
    "<b>x</b>",
    "a & b;c,d",
    "علی",
    "رضا",
    "علی\u200cرضا",
    "क्",
    "ष",
    "क्\u200dष",
)
CHARACTERS = tuple(BIDI + ZERO_WIDTH + JOINERS + CONTROLS)
cell_values = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), st.sampled_from(CHARACTERS)),
    min_size=1,
    max_size=4,
).map("".join)


@cache
def composer() -> Composer:
    sender = {"name": "Appeal Campaign", "address": "appeal@outreach.example.org"}
    return Composer.load(Settings(paths={"templates": str(REPO / "templates")}, sender=sender))


def base_record() -> RecipientRecord:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        path.write_text(recipients_csv([BASE]), encoding="utf-8")
        [(_, record)] = list(read_numbered(path))
    assert isinstance(record, RecipientRecord)
    return record


def import_cell(field: str, value: str) -> object:
    """What the importer makes of a list whose one row has `value` in `field`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        path.write_text(recipients_csv([{**BASE, field: value}]), encoding="utf-8")
        [(_, result)] = list(read_numbered(path))
    return result


def headers_of(mime: bytes) -> str:
    """From, To and Subject as a mail client shows them."""
    message = email.message_from_bytes(mime, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return "\n".join(str(message[name]) for name in ("From", "To", "Subject"))


class TextOf(HTMLParser):
    """The text a browser shows of an HTML letter (what is markup is not text)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.feed(html)
        self.close()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def printed(value: str) -> str:
    """The value printed by the CLI's console, as a line and in a table."""
    buffer = io.StringIO()
    console = InertConsole(
        file=inert_file(buffer), markup=False, highlight=False, emoji=False, width=120
    )
    console.print(f"name  {value}")
    table = Table("key", "name")
    table.add_row("emb-fr-am-head", value)
    console.print(table)
    return buffer.getvalue()


def assert_inert_outputs(record: RecipientRecord, value: str) -> None:
    """The outputs that need no letter: every report table and the terminal."""
    report = report_with(value, 1)
    for table in TABLES:
        for row in csv.reader(io.StringIO(to_csv(report, table))):
            assert not [cell for cell in row if cell[:1] in DANGEROUS], (table, row)
    assert not OBEYED & set(printed(value))


def joiners_join(text: str) -> bool:
    """Each joiner in `text` is where a script needs it (RFC 5892 Appendix A)."""
    return all(
        idna.valid_contextj(text, index) for index, char in enumerate(text) if char in JOINERS
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(field=st.sampled_from(FIELDS), value=cell_values)
def test_no_output_obeys_or_hides_what_a_recipient_cell_holds(field: str, value: str) -> None:
    result = import_cell(field, value)
    # What the importer keeps of the cell: a spreadsheet's text mark off, stripped, NFC.
    cleaned = unicodedata.normalize("NFC", restore(value).strip())
    if (HIDDEN | set(CONTROLS)) & set(cleaned) or not joiners_join(cleaned):
        event("refused on import")
        assert isinstance(result, list), (field, value)
        assert any(problem.field == field and problem.line == 2 for problem in result), result
        # A row stored before the check: no header may carry it, so the letter is refused.
        legacy = dataclasses.replace(base_record(), **{field: value})
        try:
            letter = composer().compose(legacy)
        except LetterError:
            event("stored before the check: no letter")
        else:
            assert not (HIDDEN | OBEYED) & set(headers_of(letter.mime)), headers_of(letter.mime)
        assert_inert_outputs(legacy, value)
        return
    if not isinstance(result, RecipientRecord):
        event("refused for another reason")
        return  # refused for another reason (a name in capitals ...): nothing reaches an output
    event("imported" + (" with a joiner" if set(JOINERS) & set(cleaned) else ""))
    letter = composer().compose(result)
    assert not (HIDDEN | OBEYED) & set(headers_of(letter.mime))
    assert cleaned in letter.text
    assert cleaned in "".join(TextOf(letter.html).parts)  # shown as text, never as markup
    assert_inert_outputs(result, cleaned)
