"""Importing recipient files: upsert by key, counts, all-or-nothing, duplicates (both dialects)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from outreach.models import AuditEvent, Recipient
from outreach.recipients.importer import import_files
from tests.samples import SAMPLE_CSV

HEADER = SAMPLE_CSV.splitlines()[0]
ROWS = SAMPLE_CSV.splitlines()[1:]


def write_csv(tmp_path: Path, rows: list[str], name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Recipient)).one()


def recipient(engine: Engine, key: str) -> Recipient:
    with Session(engine) as session:
        return session.exec(select(Recipient).where(Recipient.key == key)).one()


def test_a_first_import_creates_every_row(engine: Engine, sample_csv: Path) -> None:
    report = import_files(engine, [sample_csv], actor="tester")
    assert (report.created, report.updated, report.unchanged, report.invalid) == (8, 0, 0, 0)
    assert report.committed
    assert count(engine) == 8


def test_the_stored_row_keeps_every_field(engine: Engine, sample_csv: Path) -> None:
    import_files(engine, [sample_csv], actor="tester")
    row = recipient(engine, "mep-999001")
    assert (row.given_name, row.family_name, row.country, row.tz) == (
        "Marie",
        "Exemple-Durand",
        "FR",
        "Europe/Brussels",
    )
    assert row.committees == "AFET|DROI:substitute|DSCA"
    assert row.languages == "fr|en"
    assert row.email_key == "marie.exemple-durand@example.org"


def test_reimporting_the_same_file_changes_nothing(engine: Engine, sample_csv: Path) -> None:
    import_files(engine, [sample_csv], actor="tester")
    report = import_files(engine, [sample_csv], actor="tester")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 8)


def test_a_changed_row_is_updated_by_key(engine: Engine, tmp_path: Path) -> None:
    import_files(engine, [write_csv(tmp_path, ROWS)], actor="tester")
    changed = [row.replace("Claire,Exemple", "Claire,Nouvel-Exemple") for row in ROWS]
    report = import_files(engine, [write_csv(tmp_path, changed, "v2.csv")], actor="tester")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 7)
    assert recipient(engine, "emb-fr-am-head").family_name == "Nouvel-Exemple"


def test_one_invalid_row_rejects_the_whole_file(engine: Engine, tmp_path: Path) -> None:
    rows = [*ROWS[:3], ROWS[3].replace("mission.lv-unny@example.org", "not-an-address"), *ROWS[4:]]
    report = import_files(engine, [write_csv(tmp_path, rows)], actor="tester")
    assert report.invalid == 1
    assert [(p.line, p.field) for p in report.problems] == [(5, "email")]
    assert not report.committed
    assert count(engine) == 0


def test_skip_invalid_imports_the_valid_rows(engine: Engine, tmp_path: Path) -> None:
    rows = [*ROWS[:3], ROWS[3].replace("mission.lv-unny@example.org", "not-an-address"), *ROWS[4:]]
    report = import_files(engine, [write_csv(tmp_path, rows)], actor="tester", skip_invalid=True)
    assert (report.created, report.invalid, report.committed) == (7, 1, True)
    assert count(engine) == 7


def test_a_dry_run_counts_but_writes_nothing(engine: Engine, sample_csv: Path) -> None:
    report = import_files(engine, [sample_csv], actor="tester", dry_run=True)
    assert (report.created, report.committed) == (8, False)
    assert count(engine) == 0


def test_a_duplicate_key_in_a_file_is_invalid(engine: Engine, tmp_path: Path) -> None:
    twin = ROWS[0].replace("ambassador.fr-am@example.org", "other@example.org")
    report = import_files(engine, [write_csv(tmp_path, [*ROWS, twin])], actor="tester")
    assert [str(p) for p in report.problems] == [
        f"{tmp_path / 'people.csv'}:10: key: duplicate key 'emb-fr-am-head', first at line 2"
    ]
    assert count(engine) == 0


def test_a_duplicate_email_in_a_file_is_invalid(engine: Engine, tmp_path: Path) -> None:
    twin = (
        ROWS[0]
        .replace("emb-fr-am-head", "emb-fr-am-dcm")
        .replace("ambassador.fr-am@example.org", "Ambassador.FR-AM@EXAMPLE.ORG")
    )
    report = import_files(engine, [write_csv(tmp_path, [*ROWS, twin])], actor="tester")
    assert [str(p) for p in report.problems] == [
        f"{tmp_path / 'people.csv'}:10: email: duplicate email 'Ambassador.FR-AM@example.org', "
        "first at line 2"
    ]


def test_a_duplicate_beyond_one_batch_is_still_found(engine: Engine, tmp_path: Path) -> None:
    template = ROWS[4]  # un-ohchr-hc
    rows = [
        template.replace("un-ohchr-hc", f"un-staff-{n:04d}").replace("hc-office@", f"staff{n:04d}@")
        for n in range(1200)
    ]
    rows.append(rows[3])
    report = import_files(engine, [write_csv(tmp_path, rows)], actor="tester")
    assert [str(p) for p in report.problems] == [
        f"{tmp_path / 'people.csv'}:1202: key: duplicate key 'un-staff-0003', first at line 5",
        f"{tmp_path / 'people.csv'}:1202: email: duplicate email 'staff0003@example.org', "
        "first at line 5",
    ]


def test_the_same_key_in_two_files_merges(engine: Engine, tmp_path: Path) -> None:
    first = write_csv(tmp_path, ROWS[:2], "a.csv")
    second = write_csv(tmp_path, [ROWS[0].replace("fr|en", "fr|en|hy")], "b.csv")
    report = import_files(engine, [first, second], actor="tester")
    assert (report.created, report.updated, report.problems) == (2, 1, [])
    assert recipient(engine, "emb-fr-am-head").languages == "fr|en|hy"


def test_a_missing_column_keeps_the_stored_value(engine: Engine, tmp_path: Path) -> None:
    import_files(engine, [write_csv(tmp_path, ROWS)], actor="tester")
    narrow = tmp_path / "narrow.csv"
    narrow.write_text(
        "key,kind,role,courtesy_title,gender,given_name,family_name,organisation,host_country,city\n"
        "emb-fr-am-head,embassy,ambassador,Ms,f,Claire,Exemple,Embassy of France in Armenia,AM,Gyumri\n",
        encoding="utf-8",
    )
    report = import_files(engine, [narrow], actor="tester")
    assert report.updated == 1
    row = recipient(engine, "emb-fr-am-head")
    assert (row.city, row.email, row.languages) == (
        "Gyumri",
        "ambassador.fr-am@example.org",
        "fr|en",
    )


def test_an_import_is_recorded_in_the_audit_trail(engine: Engine, sample_csv: Path) -> None:
    import_files(engine, [sample_csv], actor="tester")
    with Session(engine) as session:
        event = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "recipients.import")
        ).one()
    assert (event.actor, event.subject) == ("tester", "sample.csv")
    assert '"created": 8' in event.detail
