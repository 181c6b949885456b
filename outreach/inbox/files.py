"""Messages from files: a Maildir, an mbox file, an .eml file or a folder of .eml files."""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from outreach.inbox.imap import InboxError

SUPPORTED = (
    "a Maildir folder (with cur/ and new/), an mbox file (starting with a 'From ' line), "
    "an .eml file, or a folder of .eml files"
)
MBOX_SUFFIXES = frozenset({".mbox", ".mbx", ".mbs"})
# mboxrd quoting: a body line "From ..." is stored as ">From ...", ">From" as ">>From", etc.
QUOTED_FROM = re.compile(rb"^>(>*From )")


@dataclass(frozen=True, slots=True)
class FileMessage:
    """One message and where it came from (`maildir:<key>`, `mbox:<offset>`, `eml:<name>`)."""

    ref: str
    raw: bytes


def read_messages(path: Path) -> Iterator[FileMessage]:
    """Every message under `path`, one at a time; InboxError for a kind of path not supported."""
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            return read_maildir(path)
        emls = sorted(item for item in path.iterdir() if is_eml(item))
        if not emls:
            raise InboxError(f"{path}: a folder with no .eml files and not a Maildir; {expected()}")
        return read_eml_files(emls)
    if path.is_file():
        if is_eml(path):
            return read_eml_files([path])
        if is_mbox(path):
            return read_mbox(path)
        raise InboxError(f"{path}: neither an .eml file nor an mbox file; {expected()}")
    raise InboxError(f"{path}: no such file or folder; {expected()}")


def expected() -> str:
    """The kinds of path read_messages accepts, for error messages."""
    return f"expected {SUPPORTED}"


def is_eml(path: Path) -> bool:
    """A regular file named *.eml (any case)."""
    return path.suffix.lower() == ".eml" and path.is_file()


def is_mbox(path: Path) -> bool:
    """A file whose first line is an mbox 'From ' separator, or an empty *.mbox file."""
    try:
        with path.open("rb") as handle:
            head = handle.read(5)
    except OSError as error:
        raise InboxError(f"{path}: cannot read: {error.strerror}") from None
    return head == b"From " or (head == b"" and path.suffix.lower() in MBOX_SUFFIXES)


def read_eml_files(paths: list[Path]) -> Iterator[FileMessage]:
    """Each file is one message (RFC 5322), read as it is."""
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise InboxError(f"{path}: cannot read: {error.strerror}") from None
        yield FileMessage(ref=f"eml:{path.name}", raw=raw)


def read_maildir(path: Path) -> Iterator[FileMessage]:
    """The messages of new/ and cur/ in key order (keys start with the delivery time).

    Only this folder: Maildir++ subfolders (.Name) are not descended into.
    """
    try:
        maildir = mailbox.Maildir(path, factory=None, create=False)
        keys = sorted(maildir.iterkeys())
        for key in keys:
            try:
                raw = maildir.get_bytes(key)
            except KeyError:
                continue  # delivered elsewhere or deleted since the listing
            yield FileMessage(ref=f"maildir:{key}", raw=raw)
    except OSError as error:
        raise InboxError(f"{path}: cannot read the Maildir: {error.strerror}") from None


def read_mbox(path: Path) -> Iterator[FileMessage]:
    """The messages of an mbox file in one pass, one message in memory at a time.

    A message starts at a line beginning "From " that opens the file or follows an empty line;
    the empty line before it belongs to the format, not to the previous message. Quoted
    ">From " lines are unquoted as mboxrd writers (and Python's mailbox) quote them. The stdlib
    mailbox.mbox is not used: it indexes the whole file before the first message and opens it
    read-write.
    """
    try:
        with path.open("rb") as handle:
            offset = 0
            start: int | None = None
            lines: list[bytes] = []
            previous_empty = True
            for line in handle:
                if line.startswith(b"From ") and previous_empty:
                    if start is not None:
                        yield mbox_message(start, lines)
                    start, lines = offset, []
                elif start is not None:
                    lines.append(QUOTED_FROM.sub(rb"\1", line))
                previous_empty = line in (b"\n", b"\r\n")
                offset += len(line)
            if start is not None:
                yield mbox_message(start, lines)
    except OSError as error:
        raise InboxError(f"{path}: cannot read the mbox file: {error.strerror}") from None


def mbox_message(offset: int, lines: list[bytes]) -> FileMessage:
    """One mbox message: its lines without the separating empty line at the end."""
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines = lines[:-1]
    return FileMessage(ref=f"mbox:{offset}", raw=b"".join(lines))
