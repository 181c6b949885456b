"""The key that signs session cookies: made once, kept in a private file, never in the config.

A file rather than a setting: staff start `outreach web` without ceremony, sessions survive a
restart, the key never sits in `outreach.toml` (which may be shared or committed), and deleting
the file signs everyone out. Several servers on one PostgreSQL database share it by pointing
`web.secret_file` at the same file.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from outreach.config import Settings
from outreach.db import normalise_url
from outreach.errors import ConfigError

MIN_LENGTH = 32  # characters of the key: 128 bits of hex at the least
SUFFIX = ".web-secret"


def secret_path(settings: Settings) -> Path:
    """Where the key is kept: `web.secret_file`, else beside the SQLite database file."""
    if settings.web.secret_file:
        return Path(settings.web.secret_file).expanduser()
    url = make_url(normalise_url(settings.database.url))
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        return Path(database).with_name(Path(database).name + SUFFIX)
    raise ConfigError(
        "web.secret_file: set it to a file for the key that signs session cookies "
        "(e.g. /var/lib/outreach/web-secret); it is made at first start. Only a SQLite "
        "database has a folder to keep it in by default"
    )


def signing_key(settings: Settings) -> str:
    """The key, created with 256 random bits (mode 600) if the file does not exist yet."""
    path = secret_path(settings)
    try:
        # O_EXCL: two servers starting at once never overwrite each other's key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigError(f"web.secret_file: cannot create {path}: {exc.strerror}") from None
    else:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
    try:
        mode = path.stat().st_mode
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"web.secret_file: cannot read {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"web.secret_file: {path} can be read by other users: `chmod 600 {path}` "
            "(or delete it to make a new key, which signs everyone out)"
        )
    if len(key) < MIN_LENGTH:
        raise ConfigError(
            f"web.secret_file: {path} holds fewer than {MIN_LENGTH} characters: "
            "delete it and a new key is made at the next start"
        )
    return key
