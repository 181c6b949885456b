"""Settings: one TOML file, overridden by OUTREACH_<SECTION>__<KEY> variables, validated eagerly."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from outreach.addresses import AddressError, address_key, parse_address
from outreach.errors import ConfigError

CONFIG_FILENAME = "outreach.toml"
CONFIG_ENV = "OUTREACH_CONFIG"
ENV_PREFIX = "OUTREACH_"
# Secrets are read only from the environment, never from a file that could be committed.
SECRET_KEYS: frozenset[tuple[str, str]] = frozenset({("smtp", "password"), ("imap", "password")})


class Section(BaseModel):
    """A [section] of the file: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Security(StrEnum):
    """How a mail connection is protected."""

    STARTTLS = "starttls"  # plain connection upgraded with STARTTLS (RFC 3207), port 587
    TLS = "tls"  # implicit TLS from the first byte (RFC 8314), port 465 / 993
    NONE = "none"  # no TLS: only for a server on this machine; refused when a password is set


class DataCheck(StrEnum):
    """A check of recipient data before letters are made (outreach/recipients/lint.py)."""

    TITLE_IN_NAME = "title_in_name"  # "Mr. Sophie": the form of address adds its own title
    NAME_IN_CAPITALS = "name_in_capitals"  # "LAMBERT" where the list writes names in mixed case
    SAME_NAMES = "same_names"  # given name = family name
    GENDER_NEEDED = "gender_needed"  # gender unknown where the form of address has no neutral
    DOMAIN_TYPO = "domain_typo"  # one letter away from a domain the list uses many times
    EMPTY_SEGMENT = "empty_segment"  # a segment that matches no recipient


class DatabaseSettings(Section):
    """[database]: where letters, recipients and replies are kept."""

    url: str = Field(
        default="sqlite:///outreach.db",
        description="sqlite:///PATH (relative to this file) or postgresql://USER@HOST:PORT/DB "
        "for several workers",
    )


class MailServerSettings(Section):
    """What the SMTP and IMAP sections share: a password never crosses the network in clear."""

    # The fields are declared by each section, so that each keeps its own order and defaults.
    TLS_HINT: ClassVar[str] = ""

    @model_validator(mode="after")
    def no_password_in_clear(self) -> Self:
        """Refuse security = none when a password is set."""
        password, security = getattr(self, "password", None), getattr(self, "security", None)
        if password is not None and security is Security.NONE:
            raise ValueError(
                "security is none but a password is set: the password would cross the network "
                f"in clear; use {self.TLS_HINT}"
            )
        return self


class SmtpSettings(MailServerSettings):
    """[smtp]: the submission server that carries outgoing letters."""

    TLS_HINT = "starttls (port 587) or tls (port 465)"

    host: str = Field(default="localhost", description="submission server host name")
    port: int = Field(default=587, ge=1, le=65535, description="587 for starttls, 465 for tls")
    username: str = Field(default="", description="login name; empty: no authentication")
    password: SecretStr | None = Field(
        default=None, description="only from OUTREACH_SMTP__PASSWORD"
    )
    security: Security = Field(
        default=Security.STARTTLS,
        description="starttls | tls | none (none is refused when a password is set)",
    )
    timeout: float = Field(default=30.0, gt=0, description="seconds to wait for the server")
    ca_file: str = Field(
        default="", description="CA certificates to trust (PEM); empty: the system's"
    )
    smtputf8: bool = Field(
        default=False,
        description="true if the server offers SMTPUTF8 (RFC 6531): only then may letters go "
        "to a non-ASCII local part (zoë@example.org)",
    )


class ImapSettings(MailServerSettings):
    """[imap]: the mailbox where replies, bounces and auto-replies arrive."""

    TLS_HINT = "tls (port 993) or starttls (port 143)"

    host: str = Field(default="localhost", description="IMAP server host name")
    port: int = Field(default=993, ge=1, le=65535, description="993 for tls, 143 for starttls")
    username: str = Field(default="", description="login name of the campaign mailbox")
    password: SecretStr | None = Field(
        default=None, description="only from OUTREACH_IMAP__PASSWORD"
    )
    security: Security = Field(default=Security.TLS, description="tls | starttls | none")
    folder: str = Field(default="INBOX", description="folder read for replies and bounces")
    processed_folder: str = Field(
        default="Processed", description="folder a message is moved to once recorded"
    )
    ca_file: str = Field(
        default="", description="CA certificates to trust (PEM); empty: the system's"
    )


class SenderSettings(Section):
    """[sender]: who the letters are from."""

    name: str = Field(default="Outreach Campaign", description="display name in From")
    address: str = Field(default="appeal@example.org", description="address in From")
    organisation: str = Field(default="", description="organisation named in the signature")

    @field_validator("address")
    @classmethod
    def valid_address(cls, value: str) -> str:
        """The From address must be a valid address (it also gives the Message-ID domain)."""
        try:
            return parse_address(value)
        except AddressError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("name", "organisation")
    @classmethod
    def one_line(cls, value: str) -> str:
        """No line breaks: these go into mail headers and signatures."""
        if any(ord(char) < 32 or char in "\x7f\u2028\u2029" for char in value):
            raise ValueError("must be one line without control characters")
        return value


class InboxSettings(Section):
    """[inbox]: how replies, bounces and auto-replies are taken in."""

    poll_seconds: float = Field(
        default=300.0, gt=0, description="how often `outreach run` reads the IMAP folder"
    )
    soft_bounce_limit: int = Field(
        default=3, ge=1, description="temporary bounces of one address that suppress it"
    )
    max_bytes: int = Field(
        default=10_000_000, ge=100_000, description="larger messages are quarantined unread"
    )
    languages: list[str] = Field(
        default=["en", "fr", "de", "ru", "es"],
        description="languages of replies, for quote stripping and language detection",
    )
    trusted_domains: dict[str, list[str]] = Field(
        default={},
        description="who else answers for the institution a letter went to: per domain (or "
        "address) written to, the domains or addresses whose replies count as its own without "
        'review, e.g. { "mfa.example.org" = ["mfa.example.org"], "mission@example.org" = '
        '["press@example.net"] } (list a domain itself to trust every address there); a '
        "reply from anyone else is matched for review",
    )
    trusted_authserv_id: str = Field(
        default="",
        description="authserv-id of your receiving server's Authentication-Results (RFC 8601) "
        "to trust for DMARC: dmarc=pass confirms a sender who matches, dmarc=fail sends the "
        "reply to review; set it only if that server removes such fields arriving from "
        "outside; empty: not read",
    )

    @field_validator("trusted_domains")
    @classmethod
    def known_domains(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """Keys and entries are domains or addresses, in the form letters are compared in."""
        return {
            trusted_entry(written_to): [trusted_entry(entry) for entry in entries]
            for written_to, entries in value.items()
        }

    @field_validator("trusted_authserv_id")
    @classmethod
    def one_token(cls, value: str) -> str:
        """An authserv-id is one token, compared case-insensitively (RFC 8601 §2.5)."""
        if value and not re.fullmatch(r"[A-Za-z0-9.-]{1,255}", value):
            raise ValueError("give the server's authserv-id, usually its host name")
        return value.lower()


def ascii_domain(domain: str) -> str:
    """A domain in the lower-case ASCII form letters are compared in (IDNA for non-ASCII)."""
    try:
        return address_key(f"postmaster@{domain.strip()}").rpartition("@")[2]
    except AddressError:
        raise ValueError(f"{domain!r} is not a mail domain") from None


def trusted_entry(entry: str) -> str:
    """A trusted address or domain in its comparison form."""
    if "@" in entry:
        try:
            return address_key(entry.strip())
        except AddressError:
            raise ValueError(f"{entry!r} is not a mail address") from None
    return ascii_domain(entry)


class DispatchSettings(Section):
    """[dispatch]: how letters leave: pace, parallelism, retries, leases."""

    connections: int = Field(default=4, ge=1, le=64, description="SMTP connections in parallel")
    batch: int = Field(default=200, ge=1, le=10_000, description="letters claimed at a time")
    rate_per_minute: int = Field(
        default=120, ge=0, description="letters per minute for all workers together; 0: no limit"
    )
    domain_rate_per_minute: int = Field(
        default=20, ge=0, description="letters per minute to one recipient domain; 0: no limit"
    )
    max_consecutive_failures: int = Field(
        default=10, ge=1, description="connection failures in a row that pause a campaign"
    )
    max_policy_rejections: int = Field(
        default=5,
        ge=1,
        description="policy rejections in a row (5.7.x, spam, blocked, rate limited) that pause "
        "a campaign",
    )
    retry_hours: float = Field(
        default=72.0, gt=0, description="after this long, a temporary failure becomes failed"
    )
    lease_seconds: float = Field(
        default=300.0, gt=0, description="how long a worker holds a letter before others may"
    )
    poll_seconds: float = Field(
        default=30.0, gt=0, description="how often `outreach run` looks for due letters"
    )
    followup_seconds: float = Field(
        default=600.0, gt=0, description="how often `outreach run` plans due follow-ups"
    )


class LetterSettings(Section):
    """[letters]: how letters are made from an appeal."""

    appeal: str = Field(
        default="nk-appeal-2023-03-07", description="the appeal used when a command names none"
    )
    default_languages: list[str] = Field(
        default=["en"],
        description="languages tried after the recipient's own, before English (BCP 47 tags)",
    )
    plus_addressing: bool = Field(
        default=True,
        description="Reply-To: local+TOKEN@domain of sender.address, to match replies to letters",
    )
    max_bytes: int = Field(
        default=500_000, ge=10_000, description="largest rendered letter (text + HTML), in bytes"
    )


class PathSettings(Section):
    """[paths]: where appeals and recipient files are found."""

    templates: str = Field(
        default="templates",
        description="folder of appeals and forms of address (relative to this file)",
    )


class AuditSettings(Section):
    """[audit]: how changes are attributed."""

    actor: str = Field(
        default="", description="name recorded for changes; empty: the operating-system user"
    )


class WebSettings(Section):
    """[web]: the dashboard served by `outreach web`."""

    host: str = Field(
        default="127.0.0.1",
        description="address to listen on; off loopback, cookies are sent over HTTPS only "
        "(see secure_cookies)",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="port to listen on")
    secret_file: str = Field(
        default="",
        description="key signing session cookies, made at first start; empty: beside the "
        "SQLite database (with PostgreSQL: give a path)",
    )
    session_hours: float = Field(
        default=8.0,
        gt=0,
        le=720,
        description="hours after sign-in until a session ends, however busy (OWASP: 4 to 8 "
        "for a working day)",
    )
    idle_minutes: float = Field(
        default=30.0,
        gt=0,
        le=24 * 60,
        description="minutes without a request after which a session ends (OWASP: 15 to 30)",
    )
    trusted_proxies: list[str] = Field(
        default=[],
        description="addresses or networks of reverse proxies in front of the dashboard (e.g. "
        '["127.0.0.1"]); only requests from them have their X-Forwarded-For read, for the '
        "sign-in throttle",
    )
    secure_cookies: bool | Literal["auto"] = Field(
        default="auto",
        description='send the session cookie over HTTPS only (Secure): "auto" does so when host '
        "is not loopback; set true behind a TLS proxy on the same machine (host 127.0.0.1 "
        "while users reach it by https://); false sends it over plain HTTP too (never on an "
        "open network)",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def valid_networks(cls, value: list[str]) -> list[str]:
        """Each entry an IP address or network (CIDR), so a typo is found at load."""
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network; write e.g. 127.0.0.1 or 10.0.0.0/8"
                ) from None
        return [entry.strip() for entry in value]


class ChecksSettings(Section):
    """[checks]: which warnings about recipient data stop approval (by default none does)."""

    block: list[str] = Field(
        default=[],
        description="warnings that refuse `campaign approve` and `campaign create` and make "
        'the check commands exit 1: names of checks, or ["all"] '
        "(title_in_name, name_in_capitals, same_names, gender_needed, domain_typo, empty_segment)",
    )

    @field_validator("block")
    @classmethod
    def known_checks(cls, value: list[str]) -> list[str]:
        """Only the names of checks, or "all"."""
        known = ["all", *DataCheck]
        for name in value:
            if name not in known:
                raise ValueError(f"{name!r} is not a check; use {', '.join(known)}")
        return value


class Settings(BaseSettings):
    """Every setting of outreach; built only through `load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    database: DatabaseSettings = DatabaseSettings()
    smtp: SmtpSettings = SmtpSettings()
    imap: ImapSettings = ImapSettings()
    sender: SenderSettings = SenderSettings()
    letters: LetterSettings = LetterSettings()
    dispatch: DispatchSettings = DispatchSettings()
    inbox: InboxSettings = InboxSettings()
    paths: PathSettings = PathSettings()
    audit: AuditSettings = AuditSettings()
    web: WebSettings = WebSettings()
    checks: ChecksSettings = ChecksSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then the file's values (passed as init arguments)."""
        return (env_settings, init_settings)


def find_config(explicit: Path | None) -> Path | None:
    """The config file to read: --config, else $OUTREACH_CONFIG, else ./outreach.toml if present."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(
                f"{explicit}: no such configuration file (create one with `outreach init`)"
            )
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={from_env}: no such configuration file")
        return path
    local = Path(CONFIG_FILENAME)
    return local if local.is_file() else None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into a ConfigError with the line."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        # TOML files are UTF-8 (toml.io/en/v1.0.0#spec); Windows editors may save them in a
        # code page instead.
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: not UTF-8 (byte {exc.object[exc.start]:#04x}): save the file "
            "as UTF-8 (TOML requires it)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load_settings(path: Path | None = None) -> Settings:
    """Load and validate the settings; every problem names the key and where it came from."""
    config_path = find_config(path)
    data = read_toml(config_path) if config_path else {}
    label = str(config_path) if config_path else "defaults"
    for section, key in sorted(SECRET_KEYS):
        table = data.get(section)
        if isinstance(table, dict) and key in table:
            raise ConfigError(
                f"{label}: {section}.{key}: secrets are not read from files; remove it and set "
                f"{env_name(section, key)} in the environment instead"
            )
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(
            "\n".join(describe_error(label, error) for error in exc.errors())
        ) from None
    settings = anchor_paths(settings, config_path.parent if config_path else None)
    check_files(settings, label)
    return settings


def check_files(settings: Settings, label: str) -> None:
    """Refuse a certificate file that is not there: found at load, not at the first letter."""
    for section, ca_file in (("smtp", settings.smtp.ca_file), ("imap", settings.imap.ca_file)):
        if ca_file and not Path(ca_file).is_file():
            raise ConfigError(
                f"{label}: {section}.ca_file: {ca_file}: no such file; give the PEM file of "
                "the certificate authority to trust, or leave it empty for the system's"
            )


def env_name(section: str, key: str) -> str:
    """The environment variable that sets `section.key`."""
    return f"{ENV_PREFIX}{section.upper()}__{key.upper()}"


def describe_error(label: str, error: Any) -> str:
    """One pydantic error as `FILE: section.key: message`, naming the variable that set it."""
    loc = tuple(str(part) for part in error["loc"])
    dotted = ".".join(loc)
    if error["type"] == "extra_forbidden":
        known = known_keys(loc[:-1])
        return f"{label}: {dotted}: unknown key; known keys here: {', '.join(known)}"
    origin = ""
    if len(loc) == 2 and env_name(*loc) in os.environ:
        origin = f" (set by {env_name(*loc)})"
    value = error.get("input")
    secret = len(loc) == 2 and (loc[0], loc[1]) in SECRET_KEYS
    # Show the offending value only when it is a plain value, never a secret or a whole section.
    shown = "" if secret or isinstance(value, dict) else f", got {value!r}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{label}: {dotted}: {message}{shown}{origin}"


def known_keys(loc: tuple[str, ...]) -> list[str]:
    """The keys accepted at a location (the sections at the top, a section's keys below)."""
    model: type[BaseModel] = Settings
    for part in loc:
        annotation = model.model_fields[part].annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return (
        [name for name in model.model_fields if (loc[0] if loc else "", name) not in SECRET_KEYS]
        if loc
        else list(model.model_fields)
    )


def anchor_paths(settings: Settings, base: Path | None) -> Settings:
    """Resolve a relative SQLite path, templates folder and CA files against the config file's
    folder."""
    if base is None:
        return settings
    url = settings.database.url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        url = prefix + str((base / url[len(prefix) :]).resolve())
    templates = Path(settings.paths.templates)
    if not templates.is_absolute():
        templates = (base / templates).resolve()

    def anchored(ca_file: str) -> str:
        return (
            str((base / ca_file).resolve())
            if ca_file and not Path(ca_file).is_absolute()
            else ca_file
        )

    return settings.model_copy(
        update={
            "database": settings.database.model_copy(update={"url": url}),
            "paths": settings.paths.model_copy(update={"templates": str(templates)}),
            "smtp": settings.smtp.model_copy(update={"ca_file": anchored(settings.smtp.ca_file)}),
            "imap": settings.imap.model_copy(update={"ca_file": anchored(settings.imap.ca_file)}),
        }
    )


def render_example(overrides: dict[tuple[str, str], str] | None = None) -> str:
    """The documented example configuration: every key, its default and what it means."""
    lines = [
        "# outreach configuration. Every key is shown with its default value.",
        "# Any key can be overridden by an environment variable OUTREACH_<SECTION>__<KEY>,",
        "# e.g. OUTREACH_SMTP__HOST=mail.example.org. Secrets are read only from the environment:",
        "#   OUTREACH_SMTP__PASSWORD, OUTREACH_IMAP__PASSWORD",
    ]
    for section_name, section_field in Settings.model_fields.items():
        section = section_field.annotation
        assert isinstance(section, type)
        assert issubclass(section, BaseModel)
        lines += ["", f"# {(section.__doc__ or '').strip()}", f"[{section_name}]"]
        for key, field in section.model_fields.items():
            if (section_name, key) in SECRET_KEYS:
                lines.append(f"# {key}: {field.description}")
                continue
            lines.append(f"# {field.description}")
            value = (overrides or {}).get((section_name, key), field.default)
            lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def toml_value(value: object) -> str:
    """A default value written as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{toml_value(key)} = {toml_value(item)}" for key, item in value.items())
        return "{ " + ", ".join(pairs) + " }" if value else "{}"
    text = str(value.value if isinstance(value, StrEnum) else value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
