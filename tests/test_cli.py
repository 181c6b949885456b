"""The command line, run end to end in a temporary directory on a real SQLite file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from outreach.cli import cli
from outreach.db import head_revision


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path, sample_csv: Path) -> Path:
    assert run("init").exit_code == 0
    assert run("recipients", "import", str(sample_csv)).exit_code == 0
    return tmp_path


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("path", all_commands(cli), ids=" ".join)
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Example: outreach " in result.output


def test_init_creates_the_config_and_the_database(tmp_path: Path) -> None:
    result = run("init")
    assert result.exit_code == 0
    assert (tmp_path / "outreach.toml").is_file()
    assert (tmp_path / "outreach.db").is_file()
    assert f"created, schema {head_revision()}" in result.output


def test_init_writes_the_config_and_the_database_for_their_owner_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert run("init").exit_code == 0
    finally:
        os.umask(previous)
    for name in ("outreach.toml", "outreach.db"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_init_twice_keeps_the_file(tmp_path: Path) -> None:
    run("init")
    (tmp_path / "outreach.toml").write_text('[sender]\nname = "Kept"\n', encoding="utf-8")
    result = run("init")
    assert "kept as it was" in result.output
    assert "up to date" in result.output


def test_a_command_before_init_says_what_to_do(tmp_path: Path) -> None:
    result = run("recipients", "list")
    assert result.exit_code == 69
    assert "is empty: run `outreach init` (or `outreach db upgrade`) first" in result.output
    assert "Traceback" not in result.output


def test_import_prints_the_counts(project: Path, sample_csv: Path) -> None:
    result = run("recipients", "import", str(sample_csv))
    assert result.exit_code == 0
    assert "created 0, updated 0, unchanged 8, invalid 0" in result.output


def test_an_invalid_file_lists_each_problem_and_exits_65(project: Path) -> None:
    bad = project / "bad.csv"
    bad.write_text(
        "key,kind,role,organisation,host_country,email\n"
        "emb-x,embassy,ambassador,Embassy,AM,someone@example.org\n",
        encoding="utf-8",
    )
    result = run("recipients", "import", str(bad))
    assert result.exit_code == 65
    assert f"{bad}:2: given_name: " in result.output
    assert result.output.rstrip().endswith(
        "error: 1 invalid row(s); nothing was imported. Fix the rows listed above, "
        "or import the valid ones with --skip-invalid"
    )


def test_a_missing_file_is_named(project: Path) -> None:
    result = run("recipients", "import", "nope.csv")
    assert result.exit_code == 65
    assert "error: nope.csv: no such file" in result.output


def test_list_json_is_an_array_of_records(project: Path) -> None:
    result = run("recipients", "list", "--where", "kind=mep", "--json")
    data = json.loads(result.output)
    assert [item["key"] for item in data] == ["mep-999001", "mep-999002"]
    assert data[0]["committees"] == ["AFET", "DROI:substitute", "DSCA"]


def test_list_prints_one_line_per_recipient(project: Path) -> None:
    result = run("recipients", "list", "--where", "country=FR")
    lines = result.output.splitlines()
    assert lines[0].split()[:3] == ["key", "kind", "role"]
    assert [line.split()[0] for line in lines[1:-1]] == ["emb-fr-am-head", "mep-999001"]
    assert lines[-1] == "2 recipient(s)"


def test_a_bad_where_is_a_usage_error(project: Path) -> None:
    result = run("recipients", "list", "--where", "kind=embasy")
    assert result.exit_code == 64
    assert "error: --where kind=embasy: not a kind; choose one of:" in result.output


def test_show_prints_every_field(project: Path) -> None:
    result = run("recipients", "show", "pm-lv-unny")
    assert "given_name           Līga" in result.output
    assert "tz                   America/New_York" in result.output


def test_show_of_an_unknown_key_exits_66(project: Path) -> None:
    result = run("recipients", "show", "nobody")
    assert result.exit_code == 66
    assert "error: no recipient with key 'nobody' (see `outreach recipients list`)" in result.output


def test_suppress_then_list_suppressions(project: Path) -> None:
    assert (
        run("recipients", "suppress", "Chancery.BR-AM@example.net", "--reason", "asked").exit_code
        == 0
    )
    result = run("recipients", "suppressions", "--json")
    [entry] = json.loads(result.output)
    assert (entry["address"], entry["source"], entry["reason"]) == (
        "Chancery.BR-AM@example.net",
        "manual",
        "asked",
    )


def test_suppress_of_a_malformed_address_is_refused(project: Path) -> None:
    result = run("recipients", "suppress", "not an address", "--reason", "x")
    assert result.exit_code == 64
    assert "Traceback" not in result.output


def test_export_prints_json(project: Path) -> None:
    data = json.loads(run("recipients", "export", "un-ohchr-hc").output)
    assert data["recipient"]["email"] == "hc-office@example.org"


def test_erase_asks_for_confirmation(project: Path) -> None:
    result = run("recipients", "erase", "mep-999001", input="n\n")
    assert result.exit_code == 1
    assert run("recipients", "show", "mep-999001").exit_code == 0


def test_erase_with_yes_removes_the_person(project: Path) -> None:
    result = run("recipients", "erase", "mep-999001", "--yes")
    assert result.exit_code == 0
    assert run("recipients", "show", "mep-999001").exit_code == 66
    [entry] = json.loads(run("recipients", "suppressions", "--json").output)
    assert (entry["address"], entry["source"]) == (None, "erasure")


def test_a_config_error_exits_78(project: Path) -> None:
    (project / "outreach.toml").write_text("[smtp]\nport = 0\n", encoding="utf-8")
    result = run("recipients", "list")
    assert result.exit_code == 78
    assert "smtp.port: Input should be greater than or equal to 1" in result.output


def test_db_status_reports_the_revision(project: Path) -> None:
    result = run("db", "status")
    assert (
        result.output.strip()
        == f"Database schema: {head_revision()}; this version needs: {head_revision()}"
    )


def test_recipients_set_changes_a_field_and_says_which(sample_csv: Path) -> None:
    assert run("init").exit_code == 0
    assert run("recipients", "import", str(sample_csv)).exit_code == 0
    key = sample_csv.read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    changed = run("recipients", "set", key, "city=Gyumri")
    assert (changed.exit_code, changed.output) == (0, f"{key}: changed city\n")
    refused = run("recipients", "set", key, "key=other")
    assert refused.exit_code == 64
    assert "'key' cannot be edited" in refused.output


def test_an_id_beyond_the_database_integer_is_refused_by_the_command(project: Path) -> None:
    refused = run("letters", "show", "3000000000")
    assert refused.exit_code == 2
    assert "3000000000 is not in the range 1<=x<=2147483647" in refused.output
