"""The report as JSON, as CSV tables and as terminal tables (HTML is in `html.py`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable

from rich.console import Console
from rich.table import Table

from outreach.reports.model import DEMAND_COLUMNS, FUNNEL, Report
from outreach.spreadsheet import Cell, csv_text, is_number

TABLES = ("summary", "funnel", "positions", "matrix", "silent", "timeline")
MATRIX_FIXED = (
    "recipient",
    "name",
    "organisation",
    "kind",
    "country",
    "political_group",
    "letter_state",
)

Cells = list[object]


def iso(value: object) -> str:
    """Dates and instants as ISO 8601 text (the only non-JSON values in a Report)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not serialisable in a report: {value!r}")


def to_json(report: Report) -> str:
    """The documented JSON shape: `dataclasses.asdict` in the dataclasses' order."""
    return json.dumps(dataclasses.asdict(report), indent=2, ensure_ascii=False, default=iso) + "\n"


def text(value: object) -> str:
    """A CSV or terminal cell: "" for none, true/false, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return str(value)


def summary_rows(report: Report) -> tuple[list[str], list[Cells]]:
    """One row: what the report is about and the median time to reply."""
    header = ["campaign", "appeal", "state", "generated_at", "segment", "median_days_to_reply"]
    row: Cells = [
        report.campaign,
        report.appeal,
        report.state,
        report.generated_at,
        " ".join(report.segment),
        report.median_days_to_reply,
    ]
    return header, [row]


def funnel_rows(report: Report) -> tuple[list[str], list[Cells]]:
    """One row per group: the FUNNEL counts and the reply rate."""
    rows: list[Cells] = [
        [row.group, *(row.counts[name] for name in FUNNEL), row.reply_rate] for row in report.funnel
    ]
    return ["group", *FUNNEL, "reply_rate"], rows


def positions_rows(report: Report) -> tuple[list[str], list[Cells]]:
    """One row per demand and group: the DEMAND_COLUMNS counts."""
    rows: list[Cells] = [
        [row.demand, row.dimension, row.group, *(row.counts[name] for name in DEMAND_COLUMNS)]
        for row in report.positions
    ]
    return ["demand", "dimension", "group", *DEMAND_COLUMNS], rows


def matrix_rows(report: Report) -> tuple[list[str], list[Cells]]:
    """One row per recipient; per demand its stance (or status), date and evidence."""
    header = list(MATRIX_FIXED)
    for key in report.demands:
        header += [key, f"{key}_date", f"{key}_evidence"]
    rows: list[Cells] = []
    for row in report.matrix:
        line: Cells = [getattr(row, name) for name in MATRIX_FIXED]
        for key in report.demands:
            cell = row.cells[key]
            line += [cell.stance or cell.status, cell.date, cell.evidence]
        rows.append(line)
    return header, rows


def silent_rows(report: Report) -> tuple[list[str], list[Cells]]:
    """One row per recipient who has not replied, longest silence first."""
    header = ["recipient", "name", "organisation", "email", "sent_on", "days", "auto_replied"]
    rows: list[Cells] = [
        [s.recipient, s.name, s.organisation, s.email, s.sent_on, s.days, s.auto_replied]
        for s in report.silent
    ]
    return header, rows


def timeline_rows(report: Report) -> tuple[list[str], list[Cells]]:
    """One row per day."""
    return ["day", "sent", "replies"], [[d.day, d.sent, d.replies] for d in report.timeline]


ROWS: dict[str, Callable[[Report], tuple[list[str], list[Cells]]]] = {
    "summary": summary_rows,
    "funnel": funnel_rows,
    "positions": positions_rows,
    "matrix": matrix_rows,
    "silent": silent_rows,
    "timeline": timeline_rows,
}


def to_csv(report: Report, table: str) -> str:
    """One table of the report as CSV (header first); `table` is one of TABLES.

    Counts and rates stay numbers; every other cell is text, neutralised for spreadsheets.
    """
    if table not in ROWS:
        raise ValueError(f"no table {table!r}; tables: {', '.join(TABLES)}")
    header, rows = ROWS[table](report)
    cells: list[list[Cell]] = [
        [value if is_number(value) else text(value) for value in row] for row in rows
    ]
    return csv_text([header, *cells])


def percent(value: float | None) -> str:
    """A rate as a percentage, "-" when there is none."""
    return "-" if value is None else f"{value * 100:.1f}%"


def table(title: str, header: Iterable[str], rows: Iterable[Iterable[object]]) -> Table:
    """A plain rich table (the console prints data without markup)."""
    result = Table(title=title, title_justify="left", show_lines=False)
    for name in header:
        result.add_column(name, overflow="fold")
    for row in rows:
        result.add_row(*(text(value) for value in row))
    return result


def to_text(report: Report, console: Console) -> None:
    """Print the report as terminal tables, one per section."""
    console.print(f"Campaign {report.campaign} ({report.state}): {report.appeal}")
    if report.appeal_title:
        console.print(report.appeal_title)
    console.print(f"generated {report.generated_at.isoformat(timespec='seconds')}")
    if report.segment:
        console.print(f"segment: {' AND '.join(report.segment)}")
    funnel = [
        [row.group, *(row.counts[name] for name in FUNNEL), percent(row.reply_rate)]
        for row in report.funnel
    ]
    console.print(table("Letters", ["group", *FUNNEL, "reply rate"], funnel))
    for key, demand in report.demands.items():
        console.print(f"{key}: {demand}")
    console.print(table("Positions by demand", *positions_rows(report)))
    header = ["recipient", "name", "kind", "country", "group", "letter", *report.demands]
    cells = [
        [
            row.recipient,
            row.name,
            row.kind,
            row.country,
            row.political_group,
            row.letter_state,
            *(
                f"{cell.stance} {cell.date}" if cell.stance else cell.status
                for cell in row.cells.values()
            ),
        ]
        for row in report.matrix
    ]
    console.print(table("Recipients × demands", header, cells))
    quotes = [
        [row.recipient, key, cell.stance, cell.date, cell.evidence]
        for row in report.matrix
        for key, cell in row.cells.items()
        if cell.evidence
    ]
    if quotes:
        header = ["recipient", "demand", "stance", "date", "evidence"]
        console.print(table("Evidence", header, quotes))
    console.print(table("Not answered (for follow-up)", *silent_rows(report)))
    median = report.median_days_to_reply
    console.print(f"median days to reply: {'-' if median is None else f'{median:.1f}'}")
    console.print(table("Timeline (UTC)", *timeline_rows(report)))
