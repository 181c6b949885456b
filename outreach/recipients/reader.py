"""Read any recipient file: dispatch on the extension, validate every row, stream the results."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from outreach.errors import Problem, RecipientError
from outreach.recipients.record import RecipientRecord
from outreach.recipients.tabular import read_csv
from outreach.recipients.validation import validate_row
from outreach.recipients.yamlfile import read_yaml

Result = RecipientRecord | list[Problem]

SUPPORTED = (".csv", ".yaml", ".yml", ".xml", ".json")


def read_records(path: Path) -> Iterator[Result]:
    """Yield a RecipientRecord, or the Problems of the row, for every recipient in `path`."""
    for _line, result in read_numbered(path):
        yield result


def read_numbered(path: Path) -> Iterator[tuple[int | None, Result]]:
    """Like read_records, with the line each recipient starts on (None when unknown).

    Raises RecipientError for a file that cannot be read as a whole (unknown extension,
    bad header, malformed YAML ...); problems of single rows are yielded, not raised.
    """
    suffix = path.suffix.lower()
    source = str(path)
    if suffix == ".csv":
        yield from _validated(read_csv(path), source)
    elif suffix in (".yaml", ".yml"):
        yield from _validated(read_yaml(path), source)
    elif suffix == ".xml":
        # Imported here so that this module works (and CSV/YAML import) without the EP readers.
        from outreach.recipients.ep_xml import read_ep_xml

        yield from ((_first_line(result), result) for result in read_ep_xml(path))
    elif suffix == ".json":
        from outreach.recipients.ep_json import read_ep_json

        yield from ((_first_line(result), result) for result in read_ep_json(path))
    else:
        message = f'"{suffix or path.name}" is not a recipient format: use {", ".join(SUPPORTED)}'
        raise RecipientError(f"{source}: {message}", (Problem(source, None, "file", message),))


def _validated(
    rows: Iterator[tuple[int, Mapping[str, object]]], source: str
) -> Iterator[tuple[int | None, Result]]:
    """Validate each (line, fields) row as it arrives."""
    for line, fields in rows:
        yield line, validate_row(fields, source=source, line=line)


def _first_line(result: Result) -> int | None:
    """The line of a result whose reader gives none: that of its first problem, if any."""
    if isinstance(result, list) and result:
        return result[0].line
    return None
