"""Files only their owner may read: the database, the configuration, keys (issue 14)."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE = 0o600  # personal data and credentials: not for the other accounts on a shared server


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (then it is left as it is).

    Created before SQLite opens it, so the file never exists readable by others, even for a
    moment; SQLite gives its -wal and -shm files the database file's mode (sqlite.org/src
    os_unix.c, findCreateFileMode).
    """
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        return
    os.close(descriptor)


def write_private(path: Path, text: str) -> None:
    """Write a new text file (UTF-8) that only its owner can read; fails if it exists."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
