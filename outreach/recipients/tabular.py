"""The CSV recipient format: UTF-8 (BOM tolerated), RFC 4180, one recipient per row, streamed.

A cell that begins with the `'` a spreadsheet export puts before a would-be formula is read
without it (`outreach.spreadsheet.restore`), so an exported and edited list imports as it was.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from outreach.errors import Problem, RecipientError
from outreach.recipients.record import RECORD_FIELDS
from outreach.spreadsheet import restore


def read_csv(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line of the row's first physical line, cells keyed by column) for each data row.

    Reads one row at a time, so a file of any size uses constant memory. Raises RecipientError
    for a bad header, a row with the wrong number of cells or bytes that are not UTF-8.
    """
    source = str(path)
    with path.open("rb") as stream:
        rows = csv.reader(_decoded_lines(stream, source), strict=True)
        consumed = 0  # physical lines read so far: the next row starts on the line after
        try:
            header: list[str] | None = None
            for cells in rows:
                first_line = consumed + 1
                consumed = rows.line_num
                if not any(cell.strip() for cell in cells):
                    continue  # a blank line (or one of empty cells) is no row
                if header is None:
                    header = _check_header(cells, source, first_line)
                    continue
                if len(cells) != len(header):
                    raise RecipientError(
                        f"{source}: row {first_line} has {len(cells)} cells, not {len(header)}",
                        (
                            Problem(
                                source,
                                first_line,
                                "row",
                                f"has {len(cells)} cells but the header has {len(header)}: "
                                'quote any cell that contains "," and check the row',
                            ),
                        ),
                    )
                # A cell a spreadsheet export marked as text ("'=..." , "'+33 ...") reads back
                # as the value it was: the mark is ours, not the data (outreach.spreadsheet).
                yield first_line, dict(zip(header, map(restore, cells), strict=True))
        except csv.Error as exc:
            line = rows.line_num
            raise RecipientError(
                f"{source}: line {line} is not valid CSV",
                (Problem(source, line, "file", f"not valid CSV ({exc}): check the quotes"),),
            ) from exc
        if header is None:
            raise RecipientError(
                f"{source}: the file is empty",
                (
                    Problem(
                        source,
                        None,
                        "header",
                        "the file is empty: the first line must be "
                        f"the header, e.g. {','.join(RECORD_FIELDS[:4])},...",
                    ),
                ),
            )


def _decoded_lines(stream: BinaryIO, source: str) -> Iterator[str]:
    """Decode the file line by line, so that a bad byte is reported on its own line.

    (A text-mode file decodes ahead in chunks, which would blame the wrong line.) Line ends
    are kept: the csv module needs them to read quoted cells that span lines, as RFC 4180 allows.
    """
    for number, raw in enumerate(stream, start=1):
        # Excel's "CSV UTF-8" starts with a byte-order mark; it is not part of the first column.
        data = raw.removeprefix(codecs.BOM_UTF8) if number == 1 else raw
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecipientError(
                f"{source}: line {number} is not UTF-8",
                (
                    Problem(
                        source,
                        number,
                        "file",
                        f"byte 0x{data[exc.start]:02x} (byte {exc.start + 1} of the line) "
                        "is not UTF-8: save the file as UTF-8 (CSV UTF-8 in Excel)",
                    ),
                ),
            ) from exc


def _check_header(cells: list[str], source: str, line: int) -> list[str]:
    """Return the column names, or raise RecipientError listing every problem of the header."""
    names = [cell.strip() for cell in cells]
    problems = [
        Problem(
            source,
            line,
            "header",
            f'unknown column "{name}"; the columns are: {", ".join(RECORD_FIELDS)}',
        )
        for name in dict.fromkeys(names)
        if name not in RECORD_FIELDS
    ]
    problems += [
        Problem(source, line, "header", f'column "{name}" appears {count} times: keep one')
        for name, count in Counter(names).items()
        if count > 1
    ]
    if "key" not in names:
        problems.append(
            Problem(source, line, "header", 'no "key" column: every row needs its stable key')
        )
    if problems:
        raise RecipientError(
            f"{source}: the header has {len(problems)} problem(s)", tuple(problems)
        )
    return names
