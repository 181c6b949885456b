"""Import recipient files into the database: all-or-nothing, streamed, upsert by key."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from outreach import clock
from outreach.audit import record_event
from outreach.db import SQLITE_BEGIN
from outreach.errors import Problem
from outreach.mentions import hashed_subject
from outreach.models import AuditEvent, Recipient, Suppression, SuppressionSource
from outreach.recipients.reader import read_numbered
from outreach.recipients.record import RecipientRecord
from outreach.recipients.table import column_values
from outreach.suppression import address_hash

BATCH = 500


@dataclass
class ImportReport:
    """What an import did, or would have done: counts by outcome and every problem found."""

    files: tuple[str, ...]
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    without_email: int = 0
    suppressed: int = 0
    erased: int = 0  # records of people erased on request: not stored again
    problems: list[Problem] = field(default_factory=list)
    committed: bool = False

    @property
    def valid(self) -> int:
        """Rows that passed validation."""
        return self.created + self.updated + self.unchanged


@dataclass(frozen=True, slots=True)
class Numbered:
    """A valid record with where it came from, for duplicate reports."""

    file_index: int
    source: str
    line: int | None
    record: RecipientRecord


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    *,
    actor: str,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Validate and upsert every record of `paths` in one transaction.

    Any invalid row rolls back the whole import (unless `skip_invalid`); `dry_run` always
    rolls back, so the report says what would happen without writing anything.
    """
    report = ImportReport(files=tuple(str(path) for path in paths))
    bind = engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
    with Session(bind, expire_on_commit=False) as session:
        try:
            seen = create_seen_table(session)
            valid = collect_valid(paths, report)
            for batch in batched(valid, BATCH):
                batch = drop_duplicates(session, seen, batch, report)
                upsert(session, batch, report)
            seen.drop(session.connection())
            if dry_run or (report.problems and not skip_invalid):
                session.rollback()
                return report
            record_event(
                session,
                actor,
                "recipients.import",
                ", ".join(path.name for path in paths),
                created=report.created,
                updated=report.updated,
                unchanged=report.unchanged,
                invalid=report.invalid,
            )
            session.commit()
            report.committed = True
            return report
        except BaseException:
            session.rollback()
            raise


def collect_valid(paths: Sequence[Path], report: ImportReport) -> Iterator[Numbered]:
    """Stream the valid records of every file; problems go to the report as they are met."""
    for index, path in enumerate(paths):
        for line, item in read_numbered(path):
            if isinstance(item, list):
                report.invalid += 1
                report.problems.extend(item)
            else:
                yield Numbered(index, str(path), line, item)


def batched(items: Iterable[Numbered], size: int) -> Iterator[list[Numbered]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def create_seen_table(session: Session) -> sa.Table:
    """A temporary table of the keys and e-mails met so far in each file.

    Duplicates are found in the database rather than in a Python set, so memory stays flat
    however large the file is.
    """
    table = sa.Table(
        "outreach_import_seen",
        sa.MetaData(),
        sa.Column("value", sa.String(400), primary_key=True),
        sa.Column("line", sa.Integer, nullable=True),
        prefixes=["TEMPORARY"],
    )
    table.create(session.connection())
    return table


def seen_values(item: Numbered) -> list[tuple[str, str, str]]:
    """The (seen-table value, field, shown value) pairs that must be unique within a file."""
    values = [(f"{item.file_index}:key:{item.record.key}", "key", item.record.key)]
    if item.record.email:
        digest = address_hash(item.record.email)
        values.append((f"{item.file_index}:email:{digest}", "email", item.record.email))
    return values


def drop_duplicates(
    session: Session, seen: sa.Table, batch: list[Numbered], report: ImportReport
) -> list[Numbered]:
    """Report and drop records whose key or e-mail already appeared earlier in the same file."""
    wanted = [value for item in batch for value, _, _ in seen_values(item)]
    first: dict[str, int | None] = dict(
        session.connection()
        .execute(sa.select(seen.c.value, seen.c.line).where(seen.c.value.in_(wanted)))
        .all()
    )
    kept: list[Numbered] = []
    new_rows: list[dict[str, Any]] = []
    for item in batch:
        clashes = [
            (name, shown, value) for value, name, shown in seen_values(item) if value in first
        ]
        if clashes:
            report.invalid += 1
            for name, shown, value in clashes:
                where = f"line {first[value]}" if first[value] is not None else "an earlier record"
                report.problems.append(
                    Problem(
                        item.source,
                        item.line,
                        name,
                        f"duplicate {name} {shown!r}, first at {where}",
                    )
                )
            continue
        for value, _, _ in seen_values(item):
            first[value] = item.line
            new_rows.append({"value": value, "line": item.line})
        kept.append(item)
    if new_rows:
        session.connection().execute(seen.insert(), new_rows)
    return kept


def upsert(session: Session, batch: list[Numbered], report: ImportReport) -> None:
    """Insert new keys; update only the provided fields of existing keys that changed."""
    if not batch:
        return
    now = clock.now()
    keys = [item.record.key for item in batch]
    existing = {
        row.key: row for row in session.exec(select(Recipient).where(col(Recipient.key).in_(keys)))
    }
    hashes = [address_hash(item.record.email) for item in batch if item.record.email]
    suppressed = dict(
        session.exec(
            select(Suppression.address_hash, Suppression.source).where(
                col(Suppression.address_hash).in_(hashes)
            )
        ).all()
    )
    erased_keys = erased(session, [key for key in keys if key not in existing])
    created: dict[str, dict[str, Any]] = {}
    for item in batch:
        record = item.record
        digest = address_hash(record.email) if record.email else ""
        # Erased on request: a re-import of the same list must not bring them back. Known by
        # the erased address — under any key, an existing record's included (an office list
        # giving it the person's own address) —, or by the erased key when the source carries
        # no address (the EP's XML list); under an erased role key a new address is the next
        # holder's.
        if (
            suppressed.get(digest) is SuppressionSource.ERASURE
            and not holds_address(existing.get(record.key), digest)
        ) or (
            record.key not in existing
            and record.key in erased_keys
            and (not record.email or digest in erased_keys[record.key])
        ):
            report.erased += 1
            continue
        if not record.email:
            report.without_email += 1
        elif digest in suppressed:
            report.suppressed += 1
        row = existing.get(record.key)
        if row is None and record.key in created:
            # The same key again in this batch, from another file: merge what it provides.
            created[record.key].update(column_values(record, record.provided))
            report.updated += 1
        elif row is None:
            created[record.key] = {**column_values(record), "created_at": now, "updated_at": now}
            report.created += 1
        elif update_row(row, column_values(record, record.provided), now):
            session.add(row)
            report.updated += 1
        else:
            report.unchanged += 1
    if created:
        # A Core executemany: an ORM object per new row costs more than the insert itself.
        session.execute(sa.insert(Recipient), list(created.values()))
    session.flush()
    session.expunge_all()  # keep the identity map, and so memory, bounded by the batch


def holds_address(row: Recipient | None, digest: str) -> bool:
    """Whether an existing record has this address already (kept at the erasure as theirs)."""
    return row is not None and row.email is not None and address_hash(row.email) == digest


def erased(session: Session, keys: list[str]) -> dict[str, set[str]]:
    """The keys among `keys` of people erased on request, each with the hashes of the
    addresses they had (their erasure's audit entry; older entries carry none)."""
    pseudonyms = {hashed_subject(key): key for key in keys}
    found: dict[str, set[str]] = {}
    for subject, detail in session.exec(
        select(AuditEvent.subject, AuditEvent.detail).where(
            AuditEvent.action == "recipients.erase", col(AuditEvent.subject).in_(pseudonyms)
        )
    ):
        digest = json.loads(detail or "{}").get("address")
        found.setdefault(pseudonyms[subject], set()).update([digest] if digest else [])
    return found


def update_row(row: Recipient, values: dict[str, Any], now: dt.datetime) -> bool:
    """Apply the values that differ; returns whether anything changed."""
    changes = {name: value for name, value in values.items() if getattr(row, name) != value}
    for name, value in changes.items():
        setattr(row, name, value)
    if changes:
        row.updated_at = now
    return bool(changes)
