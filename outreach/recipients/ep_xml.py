"""Read the European Parliament's XML full list of MEPs (europarl.europa.eu/meps/en/full-list/xml).

The list is `<meps><mep>` with `fullName`, `country` (English name), `politicalGroup` (long English
name), `id` and `nationalPoliticalGroup`; it has no e-mail, no title and no committees, and it
writes family names in upper case. Children are read by name, never by position.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat

import defusedxml
import defusedxml.ElementTree

from outreach.errors import Problem, RecipientError
from outreach.recipients.ep_common import (
    ORGANISATION,
    build_record,
    clean_text,
    country_code,
    file_date,
    group_code,
    split_full_name,
)
from outreach.recipients.record import RecipientRecord

SOURCE_URL = "https://www.europarl.europa.eu/meps/en/full-list/xml"
_REQUIRED = ("id", "fullName", "country", "politicalGroup")
_OPTIONAL = ("nationalPoliticalGroup",)


class _LineReader:
    """A binary file whose read() returns at most one line, and which counts the lines read.

    iterparse feeds the parser whatever read() returns and yields the events of each chunk before
    reading the next, so when the start of a <mep> is yielded the line just read contains it.
    """

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self._at_line_start = True
        self.line = 0  # 1-based number of the line the last chunk came from

    def read(self, size: int = -1) -> bytes:
        """Return the rest of the current line, at most `size` bytes when `size` is positive."""
        chunk = self._file.readline(size if size > 0 else -1)
        if chunk:
            if self._at_line_start:
                self.line += 1
            self._at_line_start = chunk.endswith(b"\n")
        return chunk


def _local(tag: str) -> str:
    """Drop a namespace ("{uri}mep" -> "mep"): the list has none today, but may gain one."""
    return tag.rpartition("}")[2]


def read_ep_xml(
    path: Path, *, source_date: dt.date | None = None
) -> Iterator[RecipientRecord | list[Problem]]:
    """Yield one validated recipient, or the problems of one <mep>, per MEP in the XML list.

    `source_date` is when the list was downloaded; by default the file's modification date.
    Raises RecipientError when the file cannot be read or is not well-formed XML.
    """
    if source_date is None:
        source_date = file_date(path)
    try:
        file = path.open("rb")
    except OSError as exc:
        raise RecipientError(
            f"{path}: cannot read the file ({exc.strerror}): check the path"
        ) from exc
    with file:
        reader = _LineReader(file)
        yield from _read(path, reader, source_date)


def _read(
    path: Path, reader: _LineReader, source_date: dt.date
) -> Iterator[RecipientRecord | list[Problem]]:
    """Stream the <mep> elements of an open list, clearing each one once it has been read."""
    stack: list[Element] = []
    mep_line = 0
    try:
        events: Any = defusedxml.ElementTree.iterparse(reader, events=("start", "end"))
        for event, elem in events:
            if event == "start":
                if not stack and _local(elem.tag) != "meps":
                    raise RecipientError(
                        f"{path}:{reader.line}: the root element is <{_local(elem.tag)}>, not "
                        f"<meps>: this is not the EP full list; download it from {SOURCE_URL}"
                    )
                if len(stack) == 1 and _local(elem.tag) == "mep":
                    mep_line = reader.line
                stack.append(elem)
                continue
            stack.pop()
            if len(stack) == 1 and _local(elem.tag) == "mep":
                yield _record(elem, path=path, line=mep_line, source_date=source_date)
                # Drop the finished <mep> from its parent so the tree never grows: the full
                # list holds some 720 MEPs, but a file of any size streams in constant memory.
                stack[0].remove(elem)
    except ParseError as exc:
        line, column = exc.position
        raise RecipientError(
            f"{path}:{line}:{column + 1}: the file is not well-formed XML "
            f"({expat.ErrorString(exc.code)}): download the list again from {SOURCE_URL}, "
            "or correct the file at that position"
        ) from exc
    except defusedxml.DefusedXmlException as exc:
        raise RecipientError(
            f"{path}:{reader.line}: the file declares a DTD or entities ({exc}), which the EP "
            f"list never does; refused for safety: download the list again from {SOURCE_URL}"
        ) from exc


def _record(
    mep: Element, *, path: Path, line: int, source_date: dt.date
) -> RecipientRecord | list[Problem]:
    """Turn one <mep> into a validated recipient, or the problems that prevent it."""
    source = str(path)
    problems: list[Problem] = []
    values: dict[str, str] = {}
    for child in mep:
        name = _local(child.tag)
        if name not in _REQUIRED and name not in _OPTIONAL:
            continue  # an element the list may add one day is no reason to refuse the MEP
        if name in values:
            problems.append(Problem(source, line, name, f"<{name}> appears twice in this <mep>"))
        values[name] = clean_text("".join(child.itertext()))
    for name in _REQUIRED:
        if not values.get(name):
            problems.append(Problem(source, line, name, f"<{name}> is missing or empty"))
    if problems:
        return problems

    mep_id = values["id"]
    if not mep_id.isascii() or not mep_id.isdigit():
        problems.append(Problem(source, line, "id", f'"{mep_id}" is not a numeric EP identifier'))
    country = country_code(values["country"])
    if country is None:
        problems.append(
            Problem(source, line, "country", f'"{values["country"]}" is not an EU member state')
        )
    group = group_code(values["politicalGroup"])
    if group is None:
        problems.append(
            Problem(
                source,
                line,
                "political_group",
                f'unknown political group "{values["politicalGroup"]}": add its spelling to '
                "_GROUP_ALIASES in outreach/recipients/ep_common.py",
            )
        )
    names = split_full_name(values["fullName"], country)
    if names is None:
        problems.append(
            Problem(
                source,
                line,
                "family_name",
                f'cannot tell the family name in "{values["fullName"]}" (the list writes it in '
                "upper case after the given names): import this MEP from the Open Data API",
            )
        )
    if problems or names is None:
        return problems

    fields: dict[str, object] = {
        "key": f"mep-{mep_id}",
        "kind": "mep",
        "role": "mep",
        "given_name": names[0],
        "family_name": names[1],
        "organisation": ORGANISATION,
        "country": country,
        "political_group": group,
        "political_group_raw": values["politicalGroup"],
        "source": f"EP full list XML ({path.name})",
        "source_date": source_date.isoformat(),
    }
    # Only an element the list carried is provided: an absent one must not erase the party that
    # another source recorded, while a present but empty one does say "no national party".
    if "nationalPoliticalGroup" in values:
        fields["national_party"] = values["nationalPoliticalGroup"]
    return build_record(fields, source=source, line=line)
