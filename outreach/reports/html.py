"""The HTML report: one self-contained file, tables and matplotlib charts inlined as SVG.

Nothing in the file refers to the network: no scripts, no stylesheets, fonts or images from
elsewhere, and a Content-Security-Policy that forbids loading any. Charts are drawn by
matplotlib (`Figure` objects not registered with pyplot, so nothing global keeps them alive)
and embedded as SVG with text kept as text. Every value from outside (names, quotes, groups)
goes through Jinja's autoescaping, or matplotlib's own XML escaping inside the charts.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import jinja2
import matplotlib
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

from outreach.reports.model import DEMAND_COLUMNS, FUNNEL, Cell, DemandRow, Report

# One colour, hatch and text colour per stance column, used in the charts and the tables alike.
STANCE_COLOURS: dict[str, str] = {
    "supports": "#2e7d32",  # green
    "commits": "#00897b",  # teal
    "noncommittal": "#757575",  # grey
    "declines": "#c62828",  # red
    "not_addressed": "#d9d9d9",  # light grey
    "no_reply": "#ffffff",  # white, drawn with a border
    "uncoded": "#ffb300",  # amber
}
STANCE_HATCHES: dict[str, str] = {
    "supports": "",
    "commits": "//",
    "noncommittal": "..",
    "declines": "xx",
    "not_addressed": "--",
    "no_reply": "",
    "uncoded": "\\\\",
}
_DARK = frozenset({"supports", "commits", "noncommittal", "declines"})
STANCE_LABELS: dict[str, str] = {key: key.replace("_", " ") for key in DEMAND_COLUMNS}
DIMENSION_LABELS = {
    "all": "All",
    "kind": "By kind",
    "country": "By country",
    "political_group": "By political group",
}
_SVG_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",  # text stays text: small, searchable, printable
    "text.parse_math": False,  # "$" in a group name is a dollar, not TeX
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_NO_METADATA: dict[str, str | None] = {"Creator": None, "Date": None, "Format": None, "Type": None}


@functools.cache
def _environment() -> jinja2.Environment:
    """The Jinja environment for the report template (autoescaping on, strict undefined)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("outreach.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["rate"] = _rate
    env.filters["stance_label"] = _cell_label
    return env


def render_html(report: Report) -> str:
    """Render `report` as a single self-contained HTML document."""
    demands = []
    for index, (key, text) in enumerate(report.demands.items(), start=1):
        rows = [row for row in report.positions if row.demand == key]
        demands.append(
            {
                "id": f"demand-{index}",
                "key": key,
                "text": text,
                "groups": _by_dimension(rows),
                "chart": _demand_chart(f"c-demand-{index}", rows),
            }
        )
    overall = next((row for row in report.funnel if row.group == "all"), None)
    median = report.median_days_to_reply
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            funnel_columns=FUNNEL,
            demand_columns=DEMAND_COLUMNS,
            stance_labels=STANCE_LABELS,
            stance_colours=STANCE_COLOURS,
            dark=_DARK,
            dimension_labels=DIMENSION_LABELS,
            demands=demands,
            generated_at=_timestamp(report.generated_at),
            funnel_chart=_funnel_chart("c-funnel", overall.counts) if overall else None,
            timeline_chart=_timeline_chart("c-timeline", report) if report.timeline else None,
            median=None if median is None else f"{median:.1f}",
            cell_class=_cell_class,
        )
    )


def _rate(value: float | None) -> str:
    """A reply rate as a percentage, or an em dash when nothing was sent."""
    return "—" if value is None else f"{value * 100:.1f} %"


def _timestamp(moment: dt.datetime) -> str:
    """`moment` to the minute, with its UTC offset when it has one."""
    text = moment.strftime("%Y-%m-%d %H:%M")
    if moment.tzinfo is not None:
        offset = moment.utcoffset()
        text += " UTC" if offset == dt.timedelta(0) else moment.strftime(" UTC%z")
    return text


def _cell_class(cell: Cell) -> str:
    """The CSS class of a matrix cell: its stance, or its status when it has none."""
    return cell.stance if cell.stance is not None else cell.status


def _cell_label(cell: Cell) -> str:
    """The words shown in a matrix cell, so that colour is never the only sign."""
    if cell.stance is not None:
        return STANCE_LABELS.get(cell.stance, cell.stance)
    return {"uncoded": "uncoded", "no_reply": "no reply", "not_asked": "not asked"}.get(
        cell.status, cell.status.replace("_", " ")
    )


def _by_dimension(rows: Sequence[DemandRow]) -> list[tuple[str, list[DemandRow]]]:
    """`rows` grouped by dimension, in the order the dimensions first appear."""
    groups: dict[str, list[DemandRow]] = {}
    for row in rows:
        groups.setdefault(row.dimension, []).append(row)
    return list(groups.items())


@contextmanager
def _figure(width: float, height: float) -> Iterator[tuple[Figure, Axes]]:
    """A detached figure with one axes, under the SVG settings of the report."""
    with matplotlib.rc_context(_SVG_RC):
        figure = Figure(figsize=(width, height), layout="constrained")
        yield figure, figure.add_subplot()


def _svg(figure: Figure, prefix: str) -> Markup:
    """`figure` as an inline `<svg>` element whose ids are unique in the page."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**_SVG_RC, "svg.hashsalt": prefix}):
        figure.savefig(buffer, format="svg", metadata=_NO_METADATA)
    figure.clear()
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # drop the XML declaration and the DOCTYPE
    # Inline SVG in HTML needs no namespace declarations: dropping them leaves no URL at all.
    text = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", text, count=0)
    # Several charts in one page: prefix every id and every reference to one.
    text = re.sub(r'\bid="', f'id="{prefix}-', text)
    text = re.sub(r'href="#', f'href="#{prefix}-', text)
    text = re.sub(r"url\(#", f"url(#{prefix}-", text)
    text = text.replace("<svg", f'<svg role="img" class="chart" id="{prefix}"', 1)
    return Markup(text)  # noqa: S704 - matplotlib's SVG writer escapes every text it writes


def _funnel_chart(prefix: str, counts: dict[str, int]) -> Markup:
    """A horizontal bar per funnel column, each labelled with its count."""
    labels = [key.replace("_", " ") for key in FUNNEL]
    values = [counts.get(key, 0) for key in FUNNEL]
    with _figure(7.0, 3.6) as (figure, axes):
        bars = axes.barh(labels, values, color="#37474f")
        axes.invert_yaxis()
        axes.bar_label(bars, padding=3)
        axes.set_xlabel("letters")
        axes.set_xlim(0, max([*values, 1]) * 1.12)
        axes.set_title("Letters by outcome (all recipients)", loc="left")
        return _svg(figure, prefix)


def _demand_chart(prefix: str, rows: Sequence[DemandRow]) -> Markup | None:
    """A stacked horizontal bar per group of one demand, a segment per stance column."""
    if not rows:
        return None
    labels = [
        "all" if row.dimension == "all" else f"{row.dimension.replace('_', ' ')}: {row.group}"
        for row in rows
    ]
    height = 1.0 + 0.32 * len(rows)
    with _figure(7.0, max(height, 2.0)) as (figure, axes):
        left = [0] * len(rows)
        for column in DEMAND_COLUMNS:
            values = [row.counts.get(column, 0) for row in rows]
            bars = axes.barh(
                labels,
                values,
                left=left,
                color=STANCE_COLOURS[column],
                edgecolor="#424242",
                linewidth=0.6,
                hatch=STANCE_HATCHES[column] or None,
                label=STANCE_LABELS[column],
            )
            text = "#ffffff" if column in _DARK else "#000000"
            axes.bar_label(
                bars,
                labels=[str(v) if v else "" for v in values],
                label_type="center",
                color=text,
                # a plain patch under the number, so that hatching never hides it
                bbox={"boxstyle": "round,pad=0.15", "facecolor": STANCE_COLOURS[column], "lw": 0},
            )
            left = [a + b for a, b in zip(left, values, strict=True)]
        axes.invert_yaxis()
        axes.set_xlabel("recipients asked")
        figure.legend(
            loc="outside upper center", ncols=len(DEMAND_COLUMNS), frameon=False, fontsize=7.5
        )
        return _svg(figure, prefix)


def _timeline_chart(prefix: str, report: Report) -> Markup:
    """Letters sent (bars) and human replies (line with markers) per day."""
    days = [day.day for day in report.timeline]
    positions = list(range(len(days)))
    step = max(1, -(-len(days) // 12))  # at most about 12 date labels
    with _figure(7.0, 2.8) as (figure, axes):
        axes.bar(positions, [d.sent for d in report.timeline], color="#90a4ae", label="sent")
        axes.plot(
            positions,
            [d.replies for d in report.timeline],
            color="#2e7d32",
            marker="o",
            markersize=3,
            linewidth=1.5,
            label="replies",
        )
        axes.set_xticks(positions[::step], labels=[day.strftime("%d %b") for day in days[::step]])
        axes.set_xlabel(f"{days[0].isoformat()} to {days[-1].isoformat()} (UTC)")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel("per day")
        axes.legend(loc="upper right", frameon=False)
        return _svg(figure, prefix)
