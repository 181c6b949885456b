"""CSV formula injection: no cell the project writes starts a formula in a spreadsheet (OWASP).

The attacker controls a name or an organisation in a recipient list, or a reply that staff quote
as evidence; the victim is whoever opens the report's CSV in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.reports.model import DEMAND_COLUMNS, FUNNEL
from outreach.reports.tabular import TABLES, to_csv
from outreach.spreadsheet import csv_text, neutralise, restore
from tests.hostile import (
    FORMULAS,
    HYPERLINK,
    REPO,
    make_scene,
    recipients_csv,
    report_with,
    run,
)
from tests.smtp_server import SmtpServer

# What OWASP says a cell must not start with, and the full-width forms we also mark.
DANGEROUS = frozenset("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")
# The columns that hold numbers, by table: counts, rates, days. Every other column is text.
NUMERIC = {
    "summary": {"median_days_to_reply"},
    "funnel": {*FUNNEL, "reply_rate"},
    "positions": set(DEMAND_COLUMNS),
    "matrix": set(),
    "silent": {"days"},
    "timeline": {"sent", "replies"},
}
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?")


def tables_of(text: str) -> list[dict[str, str]]:
    """A CSV as the spreadsheet reads it: one dict per row."""
    return list(csv.DictReader(io.StringIO(text)))


def assert_no_formula(text: str, table: str) -> None:
    """Every text cell starts harmlessly; every numeric cell is a plain number."""
    for row in tables_of(text):
        for column, cell in row.items():
            if column in NUMERIC[table]:
                assert cell == "" or NUMBER.fullmatch(cell), (column, cell)
            else:
                assert cell[:1] not in DANGEROUS, (column, cell)


@pytest.fixture
def scene_folder(tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in smtp_server.environment().items():
        monkeypatch.setenv(name, value)
    return make_scene(tmp_path, smtp_server).folder


def test_formulas_in_names_organisations_and_evidence_reach_every_table_as_text(
    scene_folder: Path,
) -> None:
    result = run("report", "spring", "--format", "csv", "--out", str(scene_folder / "tables"))
    assert result.exit_code == 0, result.output
    files = {name: (scene_folder / "tables" / f"{name}.csv").read_text("utf-8") for name in TABLES}
    for table, text in files.items():
        assert_no_formula(text, table)
    matrix = {row["recipient"]: row for row in tables_of(files["matrix"])}
    hostile = matrix["emb-fr-am-head"]
    assert hostile["organisation"] == "'" + HYPERLINK
    assert hostile["name"] == "'@SUM(1) +1"
    assert hostile["un-fact-finding_evidence"] == "'" + HYPERLINK
    assert hostile["accountability_evidence"] == "'=1"  # the tab was stripped when it was coded
    [silent] = tables_of(files["silent"])
    assert (silent["name"], silent["organisation"]) == (
        "'-1 Exemplo",
        "'-Embassy of Brazil in Armenia",
    )
    assert silent["days"] == "0"  # a number stays a number


def test_a_table_on_standard_output_is_marked_the_same_way(scene_folder: Path) -> None:
    result = run("report", "spring", "--format", "csv", "--table", "matrix")
    assert_no_formula(result.stdout, "matrix")
    quoted = "\"'" + HYPERLINK.replace('"', '""') + '"'  # RFC 4180: quotes doubled
    assert quoted in result.stdout


@pytest.mark.parametrize("payload", FORMULAS, ids=repr)
def test_each_payload_in_each_text_cell_is_marked_and_numbers_stay_numbers(payload: str) -> None:
    report = report_with(payload, -1)
    for table in TABLES:
        text = to_csv(report, table)
        assert_no_formula(text, table)
        rows = tables_of(text)
        numeric = NUMERIC[table]
        texts = [cell for row in rows for column, cell in row.items() if column not in numeric]
        if table != "timeline":  # days and counts only
            assert "'" + payload in texts, table
        numbers = [cell for row in rows for column, cell in row.items() if column in numeric]
        assert all(cell in ("-1", "-0.3333333333333333", "-1.0") for cell in numbers), numbers


def test_text_cells_are_quoted_so_a_separator_cannot_start_a_cell() -> None:
    # Where the list separator is ";" (most of Europe), an unquoted `x;=1+2` opens as two cells,
    # the second a formula; OWASP's example also tries to close the quotes first.
    for payload, written in (("x;=1+2", '"x;=1+2"'), ('a";=1+2', '"a"";=1+2"')):
        text = to_csv(report_with(payload, 4), "silent")
        assert written in text
        assert ",4," in text  # numbers are written bare, as a spreadsheet expects them


# Text as an attacker would write it: often starting with a formula character, with quotes,
# separators and line breaks inside, in any script.
hostile_text = st.one_of(
    st.sampled_from(FORMULAS),
    st.builds(
        lambda lead, rest: lead + rest,
        st.text(alphabet="'  =+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20", max_size=3),
        st.text(max_size=20),
    ),
    st.text(max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(text=hostile_text, number=st.integers(-10, 10))
def test_no_table_of_any_report_has_a_cell_a_spreadsheet_would_evaluate(
    text: str, number: int
) -> None:
    report = report_with(text, number)
    for table in TABLES:
        assert_no_formula(to_csv(report, table), table)


@settings(max_examples=500, deadline=None)
@given(text=hostile_text)
def test_the_mark_comes_off_on_import_and_nothing_else_does(text: str) -> None:
    assert neutralise(text)[:1] not in DANGEROUS
    assert restore(neutralise(text)) == text


def test_only_the_spreadsheet_module_writes_csv() -> None:
    # A new CSV writer elsewhere would bypass the marking: this test names it.
    writers = [
        path.relative_to(REPO).as_posix()
        for path in (REPO / "outreach").rglob("*.py")
        if re.search(r"csv\.(writer|DictWriter)\b", path.read_text("utf-8"))
    ]
    assert writers == ["outreach/spreadsheet.py"]


def test_a_list_exported_edited_and_imported_again_keeps_its_values(tmp_path: Path) -> None:
    # Staff export a list through the project's CSV writer, edit it in a spreadsheet (which
    # saves the cells as it shows them, "'" included), and import it again.
    rows = [
        {
            "key": "emb-fr-am-head",
            "kind": "embassy",
            "role": "office",
            "organisation": HYPERLINK,
            "city": "'s-Hertogenbosch",  # an apostrophe of the data, kept
            "tz": "Europe/Amsterdam",
            "email": "office.fr-nl@example.org",
        },
        {
            "key": "emb-br-am-cda",
            "kind": "embassy",
            "role": "office",
            "organisation": "'=already quoted",  # a value that itself starts with "'="
            "city": "+33 1 40 00 00 00",
            "tz": "Europe/Paris",
            "email": "office.br-fr@example.org",
        },
    ]
    exported = csv_text([list(rows[0]), *[list(row.values()) for row in rows]])
    assert "\"'=HYPERLINK" in exported
    assert "\"''=already quoted\"" in exported
    (tmp_path / "edited.csv").write_text(exported, encoding="utf-8")
    assert run("init").exit_code == 0
    result = run("recipients", "import", str(tmp_path / "edited.csv"))
    assert result.exit_code == 0, result.output
    stored = {row["key"]: row for row in json.loads(run("recipients", "list", "--json").output)}
    for row in rows:
        assert (stored[row["key"]]["organisation"], stored[row["key"]]["city"]) == (
            row["organisation"],
            row["city"],
        )


def test_a_hand_made_list_is_read_as_written(tmp_path: Path) -> None:
    # Without a mark nothing is taken off: a cell is imported exactly as the file has it.
    row = {
        "key": "emb-fr-am-head",
        "kind": "embassy",
        "role": "office",
        "organisation": "'t Hooft & Partners",  # an apostrophe before no formula
        "tz": "Europe/Paris",
        "email": "office.fr@example.org",
    }
    (tmp_path / "list.csv").write_text(recipients_csv([row]), encoding="utf-8")
    assert run("init").exit_code == 0
    assert run("recipients", "import", str(tmp_path / "list.csv")).exit_code == 0
    [stored] = json.loads(run("recipients", "list", "--json").output)
    assert stored["organisation"] == "'t Hooft & Partners"
