"""The HTML report: self-contained, escaped, right figures in the right cells, renders in Chromium."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from outreach.reports.html import render_html
from outreach.reports.model import (
    DEMAND_COLUMNS,
    FUNNEL,
    Cell,
    Day,
    DemandRow,
    FunnelRow,
    MatrixRow,
    Report,
    Silent,
)

CHROMIUM = "/usr/bin/chromium"
EVIL_NAME = "Eve <script>alert('x')</script> Mallory"
QUOTE = 'We "fully" support a ceasefire & the <b>release</b> of hostages'

DEMANDS = {
    "ceasefire": "An immediate ceasefire",
    "aid": "Unhindered humanitarian aid",
    "talks": "Direct talks under UN auspices",
}


def _counts(**values: int) -> dict[str, int]:
    """A full funnel counts dict, zero where not given."""
    return {key: values.get(key, 0) for key in FUNNEL}


def _stances(**values: int) -> dict[str, int]:
    """A full demand counts dict, zero where not given."""
    return {key: values.get(key, 0) for key in DEMAND_COLUMNS}


def _cell(stance: str | None, status: str, day: int | None = None, evidence: str = "") -> Cell:
    """A matrix cell coded on 2025-03-`day`."""
    return Cell(stance, status, dt.date(2025, 3, day) if day else None, evidence)


FUNNEL_ROWS = [
    FunnelRow("all", _counts(created=6, suppressed=1, queued=0, sent=5, bounced=1, replied=3), 0.6),
    FunnelRow("mep", _counts(created=4, suppressed=1, sent=3, auto_replied=1, replied=2), 2 / 3),
    FunnelRow("minister", _counts(created=2, sent=2, bounced=1, replied=1), 0.5),
]


def _positions() -> list[DemandRow]:
    """Per demand: all, by kind, by country, by political group."""
    rows: list[DemandRow] = []
    for demand in DEMANDS:
        rows += [
            DemandRow(
                demand, "all", "all", _stances(supports=2, declines=1, no_reply=1, uncoded=1)
            ),
            DemandRow(demand, "kind", "mep", _stances(supports=2, no_reply=1)),
            DemandRow(demand, "kind", "minister", _stances(declines=1, uncoded=1)),
            DemandRow(demand, "country", "FR", _stances(supports=1, uncoded=1)),
            DemandRow(demand, "country", "DE", _stances(supports=1, declines=1, no_reply=1)),
            DemandRow(demand, "political_group", "S&D", _stances(supports=1)),
            DemandRow(demand, "political_group", "Renew", _stances(supports=1, no_reply=1)),
        ]
    return rows


MATRIX = [
    MatrixRow(
        "de-eve",
        EVIL_NAME,
        "Bundestag <i>&</i> Co",
        "mep",
        "DE",
        "S&D",
        "replied",
        {
            "ceasefire": _cell("supports", "coded", 10, QUOTE),
            "aid": _cell("commits", "coded", 11, "We will table an amendment."),
            "talks": _cell("not_addressed", "coded", 11),
        },
    ),
    MatrixRow(
        "fr-jean",
        "Jean Dupont",
        "Assemblée nationale",
        "mep",
        "FR",
        "Renew",
        "replied",
        {
            "ceasefire": _cell("noncommittal", "coded", 12, "We follow the matter closely."),
            "aid": _cell(None, "uncoded"),
            "talks": _cell("declines", "coded", 12, "Not at this stage."),
        },
    ),
    MatrixRow(
        "de-min",
        "Minister O'Brien",
        "Auswärtiges Amt",
        "minister",
        "DE",
        None,
        "sent",
        {"ceasefire": _cell(None, "no_reply"), "aid": _cell(None, "no_reply")},
    ),
    MatrixRow(
        "fr-min",
        "Ministre Martin",
        "Quai d'Orsay",
        "minister",
        "FR",
        None,
        "replied",
        {
            "ceasefire": _cell("declines", "coded", 14, "No."),
            "aid": _cell(None, "uncoded"),
            "talks": _cell(None, "not_asked"),
        },
    ),
]
SILENT = [
    Silent(
        "de-min",
        "Minister O'Brien",
        "Auswärtiges Amt",
        "min@example.org",
        dt.date(2025, 3, 1),
        20,
        False,
    ),
    Silent("de-x", EVIL_NAME, "Bundestag", "eve@example.org", dt.date(2025, 3, 3), 18, True),
]


def sample_report() -> Report:
    """A small campaign: 2 kinds, 3 demands, 4 recipients, one of them hostile."""
    start = dt.date(2025, 3, 1)
    return Report(
        campaign="gaza-2025 <spring>",
        appeal="ceasefire-appeal",
        appeal_title="Appeal for a ceasefire & aid",
        state="sending",
        generated_at=dt.datetime(2025, 3, 21, 9, 30, tzinfo=dt.UTC),
        segment=["kind=mep"],
        demands=DEMANDS,
        funnel=FUNNEL_ROWS,
        positions=_positions(),
        matrix=MATRIX,
        silent=SILENT,
        median_days_to_reply=4.5,
        timeline=[
            Day(start + dt.timedelta(days=i), sent, replies)
            for i, (sent, replies) in enumerate(
                [(3, 0), (2, 0), (0, 1), (0, 0), (0, 2)] + [(0, 0)] * 15
            )
        ],
    )


# --- a tiny DOM -------------------------------------------------------------------------------

VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


@dataclass
class Node:
    """An element: tag, attributes, children (elements or text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """All the text inside, whitespace collapsed."""
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join("".join(parts).split())

    def iter(self, tag: str | None = None) -> list[Node]:
        """Every element below (and including) this one, optionally of one tag."""
        found = [self] if tag in (None, self.tag) else []
        for child in self.children:
            if isinstance(child, Node):
                found += child.iter(tag)
        return found

    def by_id(self, ident: str) -> Node:
        """The element with this id (exactly one)."""
        matches = [n for n in self.iter() if n.attrs.get("id") == ident]
        assert len(matches) == 1, f"{len(matches)} elements with id={ident!r}"
        return matches[0]


class _Builder(HTMLParser):
    """Builds a Node tree; good enough for well-formed generated HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.start_tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.start_tags.append((tag, attrs))
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.start_tags.append((tag, attrs))
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> _Builder:
    """Parse `html` into a tree (`.root`) and the list of its start tags."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder


def body_rows(table: Node) -> list[Node]:
    """The rows of a table's bodies (not its header)."""
    return [tr for tbody in table.iter("tbody") for tr in tbody.iter("tr")]


# --- the document itself ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def html() -> str:
    """The sample report as HTML."""
    return render_html(sample_report())


def test_nothing_refers_to_the_network(html: str) -> None:
    doc = parse(html)
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"<script\b[^>]*\bsrc", html, re.IGNORECASE)
    for tag, attrs in doc.start_tags:
        assert tag not in {"script", "link", "iframe", "object", "embed", "img", "base", "form"}, (
            tag
        )
        for name, value in attrs:
            if name in {"src", "href", "xlink:href", "action", "poster", "srcset", "data"}:
                assert (value or "").startswith("#"), f"<{tag} {name}={value!r}> leaves the page"
    styles = " ".join(node.text() for node in doc.root.iter("style"))
    assert "@import" not in styles
    assert "@font-face" not in styles
    assert not re.search(r"url\((?!#)", html), "a url() to something outside the page"
    csp = [
        n for n in doc.root.iter("meta") if n.attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    assert csp
    assert "default-src 'none'" in csp[0].attrs["content"]


def test_charts_are_inline_svg_from_matplotlib(html: str) -> None:
    doc = parse(html)
    charts = doc.root.iter("svg")
    assert [c.attrs["id"] for c in charts] == [
        "c-funnel",
        "c-timeline",
        "c-demand-1",
        "c-demand-2",
        "c-demand-3",
    ]
    ids = [n.attrs["id"] for n in doc.root.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "duplicate ids across the charts"
    for chart in charts:
        assert chart.iter("text"), "chart text must stay text (svg.fonttype none)"
    # Group names from outside are escaped inside the chart too.
    assert "political group: S&D" in doc.root.by_id("c-demand-1").text()
    assert "S&amp;D" in html


def test_outside_text_is_escaped(html: str) -> None:
    doc = parse(html)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert not doc.root.iter("script")
    assert not doc.root.iter("b"), "markup in a quote must not become markup"
    names = [tr.iter("th")[0].text() for tr in body_rows(doc.root.by_id("matrix"))]
    assert names[0].startswith(EVIL_NAME)
    assert names[0].endswith("Bundestag <i>&</i> Co")
    silent = [tr.iter("th")[0].text() for tr in body_rows(doc.root.by_id("silent"))]
    assert EVIL_NAME in silent
    assert doc.root.by_id("campaign").text() == "gaza-2025 <spring>"


def test_evidence_is_a_tooltip_and_printed(html: str) -> None:
    doc = parse(html)
    eve = body_rows(doc.root.by_id("matrix"))[0]
    cell = next(td for td in eve.iter("td") if td.attrs.get("data-demand") == "ceasefire")
    assert cell.attrs["title"] == QUOTE
    assert "s-supports" in cell.attrs["class"]
    evidence = next(span for span in cell.iter("span") if span.attrs.get("class") == "evidence")
    assert evidence.text() == f"“{QUOTE}”"
    assert "supports" in cell.text()
    assert "2025-03-10" in cell.text()
    # Cells without a stance say so in words: colour is never the only sign.
    jean = body_rows(doc.root.by_id("matrix"))[1]
    words = {
        td.attrs["data-demand"]: td.text() for td in jean.iter("td") if "data-demand" in td.attrs
    }
    assert words["aid"] == "uncoded"
    minister = body_rows(doc.root.by_id("matrix"))[2]
    last = [td for td in minister.iter("td") if "data-demand" in td.attrs][-1]
    assert last.text() == "not asked"


def test_every_funnel_figure_is_in_its_cell(html: str) -> None:
    table = parse(html).root.by_id("funnel")
    header = [th.text() for th in table.iter("thead")[0].iter("th")]
    assert header == ["Group", *(c.replace("_", " ") for c in FUNNEL), "reply rate"]
    rows = body_rows(table)
    assert [tr.iter("th")[0].text() for tr in rows] == ["all", "mep", "minister"]
    for expected, tr in zip(FUNNEL_ROWS, rows, strict=True):
        cells = [tr.iter("th")[0].text()] + [td.text() for td in tr.iter("td")]
        for column, value in expected.counts.items():
            assert cells[header.index(column.replace("_", " "))] == str(value), (
                expected.group,
                column,
            )
        assert expected.reply_rate is not None
        assert cells[header.index("reply rate")] == f"{expected.reply_rate * 100:.1f} %"


def test_demand_tables_and_other_figures(html: str) -> None:
    doc = parse(html)
    for index, demand in enumerate(DEMANDS, start=1):
        table = doc.root.by_id(f"demand-{index}")
        groups = [tr for tr in body_rows(table) if tr.attrs.get("class") == "group"]
        assert len(groups) == 7
        expected = [r for r in _positions() if r.demand == demand]
        for row, tr in zip(expected, groups, strict=True):
            values = {td.attrs["data-col"]: td.text() for td in tr.iter("td")}
            assert values == {k: str(v) for k, v in row.counts.items()}
    assert "4.5" in doc.root.by_id("median").text()
    days = [tr.iter("td")[3].text() for tr in body_rows(doc.root.by_id("silent"))]
    assert days == ["20", "18"]
    assert "2025-03-21 09:30 UTC" in doc.root.by_id("generated-at").text()


def test_empty_report_renders() -> None:
    report = Report(
        campaign="c",
        appeal="a",
        appeal_title="t",
        state="draft",
        generated_at=dt.datetime(2025, 1, 1),
        segment=[],
        demands={},
        funnel=[FunnelRow("all", _counts(), None)],
        positions=[],
        matrix=[],
        silent=[],
        median_days_to_reply=None,
    )
    doc = parse(render_html(report))
    assert [td.text() for td in body_rows(doc.root.by_id("funnel"))[0].iter("td")][-1] == "—"
    assert "—" in doc.root.by_id("median").text()


def test_print_css_is_readable(html: str) -> None:
    style = parse(html).root.iter("style")[0].text()
    print_css = style[style.index("@media print") :]
    assert "break-before: page" in print_css
    assert "break-inside: avoid" in print_css
    assert "background: #fff" in print_css


# --- in a real browser ------------------------------------------------------------------------

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a private profile under `tmp_path`."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps.sh (it installs chromium)")
    profile = tmp_path / "profile"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )


def console_lines(stderr: str) -> list[str]:
    """The page's console messages in Chromium's log (they are logged as INFO:CONSOLE)."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_console_logging_is_seen(tmp_path: Path) -> None:
    """The control for the tests below: a page that throws shows up in the log we read."""
    page = tmp_path / "throws.html"
    page.write_text("<!DOCTYPE html><script>throw new Error('boom')</script>", encoding="utf-8")
    run = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("Uncaught" in line for line in console_lines(run.stderr)), run.stderr[-2000:]


def test_chromium_renders_the_tables(tmp_path: Path, html: str) -> None:
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    run = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_lines(run.stderr) == [], "console errors: " + "\n".join(
        console_lines(run.stderr)
    )
    dom = parse(run.stdout).root
    assert len(body_rows(dom.by_id("funnel"))) == 3
    for index in (1, 2, 3):
        # "all", then for each of the 3 dimensions a heading row and its 2 groups
        assert len(body_rows(dom.by_id(f"demand-{index}"))) == 1 + 3 * (1 + 2)
    assert len(body_rows(dom.by_id("matrix"))) == len(MATRIX)
    assert len(body_rows(dom.by_id("silent"))) == len(SILENT)
    assert len(dom.iter("svg")) == 5
    assert not dom.iter("script")
    assert EVIL_NAME in dom.by_id("matrix").text()


def test_chromium_screenshot(tmp_path: Path, html: str) -> None:
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "report.png"
    run = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_lines(run.stderr) == [], f"{shot}: " + "\n".join(console_lines(run.stderr))
    assert shot.exists(), f"no screenshot at {shot}"
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{shot} is not a PNG"
    assert len(data) > 20_000, f"{shot} is suspiciously small ({len(data)} bytes)"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1200, 2000), f"{shot} is {width}x{height}"


def test_missing_chromium_fails_with_instructions(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(f"{__name__}.CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(pytest.fail.Exception, match=r"scripts/system-deps\.sh"):
        chromium(tmp_path, "--version")
