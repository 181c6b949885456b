"""The staff documentation in docs/: every command is documented, and every link resolves."""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
INDEX = DOCS / "README.md"
PROGRAM = "outreach"

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto: ...


def root_group() -> click.Group:
    """The click group behind the `outreach` console script named in pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        scripts = tomllib.load(handle)["project"]["scripts"]
    module = importlib.import_module(scripts[PROGRAM].partition(":")[0])
    groups = [value for value in vars(module).values() if isinstance(value, click.Group)]
    assert len(groups) == 1, f"expected one click group in {module.__name__}, found {groups}"
    return groups[0]


def invocations(group: click.Group, prefix: str = PROGRAM) -> Iterator[str]:
    """Every command and group below `group`, as typed: "outreach campaign approve"."""
    for name in sorted(group.commands):
        command = group.commands[name]
        if command.hidden:
            continue
        path = f"{prefix} {name}"
        yield path
        if isinstance(command, click.Group):
            yield from invocations(command, path)


COMMANDS = list(invocations(root_group()))


def pages() -> list[Path]:
    """The documentation pages."""
    return sorted(DOCS.glob("*.md"))


def docs_text() -> str:
    """All pages together, with runs of white space (line breaks too) made single spaces."""
    return " ".join(" ".join(page.read_text(encoding="utf-8").split()) for page in pages())


def links(page: Path) -> list[str]:
    """The link targets of a page, outside code blocks and inline code."""
    text = INLINE_CODE.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))
    return LINK.findall(text)


def relative(target: str) -> bool:
    """Whether a link points into this repository (not a web address or a same-page anchor)."""
    return not EXTERNAL.match(target) and not target.startswith("#")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes for a page's headings."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(heading) for heading in HEADING.findall(text)}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    plain = re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", plain).replace(" ", "-")


def broken(page: Path, target: str) -> str | None:
    """Why a relative link of `page` does not resolve, or None when it does."""
    path_text, _, fragment = target.partition("#")
    path = (page.parent / path_text).resolve() if path_text else page
    if not path.exists():
        return f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} does not exist"
    if fragment and path.suffix == ".md" and fragment not in anchors(path):
        return f"{path.name} has no heading with the anchor #{fragment}"
    return None


def test_the_command_tree_is_read_from_the_console_script() -> None:
    assert "outreach campaign approve" in COMMANDS, (
        "walking the click tree of the `outreach` console script did not find "
        f"`outreach campaign approve`; found: {', '.join(COMMANDS) or 'nothing'}"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command: str) -> None:
    # The name must end there: "outreach campaign followup" is not "... followups".
    found = re.search(re.escape(command) + r"(?![\w-])", docs_text()) is not None
    assert found, (
        f"`{command}` is not documented: no page in docs/ mentions it; "
        "add it, with an example, to the page on its subject"
    )


def test_every_page_linked_from_the_index_exists() -> None:
    assert INDEX.is_file(), f"{INDEX.relative_to(ROOT)} is missing: it is the documentation index"
    missing = [
        f"{target}: {broken(INDEX, target)}"
        for target in links(INDEX)
        if relative(target) and broken(INDEX, target)
    ]
    assert not missing, "docs/README.md links to pages that do not exist:\n" + "\n".join(missing)


def test_every_page_is_linked_from_the_index() -> None:
    assert INDEX.is_file(), f"{INDEX.relative_to(ROOT)} is missing: it is the documentation index"
    linked = {
        (INDEX.parent / target.partition("#")[0]).resolve()
        for target in links(INDEX)
        if relative(target)
    }
    orphans = [page.name for page in pages() if page != INDEX and page.resolve() not in linked]
    assert not orphans, "docs/README.md does not link to: " + ", ".join(orphans)


def test_every_relative_link_between_pages_resolves() -> None:
    problems = [
        f"docs/{page.name}: ({target}): {reason}"
        for page in pages()
        for target in links(page)
        if relative(target) and (reason := broken(page, target))
    ]
    assert not problems, "broken links in docs/:\n" + "\n".join(problems)
