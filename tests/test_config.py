"""The configuration: one TOML file, OUTREACH_* overrides, secrets only from the environment."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from outreach.config import SECRET_KEYS, Security, Settings, load_settings, render_example
from outreach.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "outreach.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_file_the_defaults_apply() -> None:
    settings = load_settings()
    assert settings.database.url == "sqlite:///outreach.db"
    assert settings.smtp.security is Security.STARTTLS


def test_the_example_file_parses_to_the_defaults() -> None:
    assert Settings(**tomllib.loads(EXAMPLE.read_text("utf-8"))) == Settings()


def test_the_example_file_documents_every_setting() -> None:
    data = tomllib.loads(EXAMPLE.read_text("utf-8"))
    text = EXAMPLE.read_text("utf-8")
    for section, field in Settings.model_fields.items():
        assert field.annotation is not None
        for key in field.annotation.model_fields:
            if (section, key) in SECRET_KEYS:
                assert f"OUTREACH_{section.upper()}__{key.upper()}" in text
            else:
                assert key in data[section], f"{section}.{key} missing from config.example.toml"


def test_the_example_file_is_generated_from_the_settings() -> None:
    assert EXAMPLE.read_text("utf-8") == render_example()


def test_the_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path, '[smtp]\nhost = "mail.example.org"\nport = 465\nsecurity = "tls"\n')
    settings = load_settings()
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "mail.example.org",
        465,
        Security.TLS,
    )


def test_outreach_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('[sender]\nname = "Campaign"\n', encoding="utf-8")
    monkeypatch.setenv("OUTREACH_CONFIG", str(other))
    assert load_settings().sender.name == "Campaign"


def test_an_environment_variable_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[smtp]\nhost = "mail.example.org"\nport = 587\n')
    monkeypatch.setenv("OUTREACH_SMTP__PORT", "2525")
    settings = load_settings(path)
    assert (settings.smtp.host, settings.smtp.port) == ("mail.example.org", 2525)


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_SMTP__PASSWORD", "app-password")
    password = load_settings().smtp.password
    assert password is not None
    assert password.get_secret_value() == "app-password"
    assert "app-password" not in repr(load_settings())


def test_a_password_in_the_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\npassword = "hunter2"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value) == (
        f"{path}: smtp.password: secrets are not read from files; remove it and set "
        "OUTREACH_SMTP__PASSWORD in the environment instead"
    )


def test_an_unknown_key_is_named_with_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\nhots = "x"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value) == (
        f"{path}: smtp.hots: unknown key; known keys here: host, port, username, security, timeout, "
        "ca_file, smtputf8"
    )


def test_an_unknown_section_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "[smpt]\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value).startswith(
        f"{path}: smpt: unknown key; known keys here: database, smtp"
    )


def test_a_wrong_type_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\nport = "twenty-five"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value) == (
        f"{path}: smtp.port: Input should be a valid integer, unable to parse string as an "
        "integer, got 'twenty-five'"
    )


def test_a_wrong_value_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTREACH_SMTP__SECURITY", "ssl")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value) == (
        "defaults: smtp.security: Input should be 'starttls', 'tls' or 'none', got 'ssl' "
        "(set by OUTREACH_SMTP__SECURITY)"
    )


def test_a_toml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[smtp]\nhost = "unterminated\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value).startswith(f"{path}: not valid TOML: ")
    assert "line 2" in str(error.value)


def test_a_config_saved_in_a_windows_code_page_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "outreach.toml"
    path.write_bytes('[sender]\nname = "Caf\u00e9 Appeal"\n'.encode("cp1252"))
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value) == (
        f"{path}:2: not UTF-8 (byte 0xe9): save the file as UTF-8 (TOML requires it)"
    )


def test_a_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path / "nope.toml")
    assert str(error.value) == (
        f"{tmp_path / 'nope.toml'}: no such configuration file (create one with `outreach init`)"
    )


def test_a_relative_sqlite_path_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "outreach.toml"
    path.write_text('[database]\nurl = "sqlite:///data/campaign.db"\n', encoding="utf-8")
    assert (
        load_settings(path).database.url
        == f"sqlite:///{tmp_path / 'conf' / 'data' / 'campaign.db'}"
    )


def test_a_password_with_security_none_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTREACH_SMTP__PASSWORD", "hunter2")
    monkeypatch.setenv("OUTREACH_SMTP__SECURITY", "none")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value) == (
        "defaults: smtp: security is none but a password is set: the password would cross the "
        "network in clear; use starttls (port 587) or tls (port 465)"
    )
    assert "hunter2" not in str(error.value)


def test_a_missing_ca_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "outreach.toml"
    path.write_text('[smtp]\nca_file = "certs/private-ca.pem"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert str(error.value) == (
        f"{path}: smtp.ca_file: {tmp_path / 'certs/private-ca.pem'}: no such file; give the "
        "PEM file of the certificate authority to trust, or leave it empty for the system's"
    )


def test_a_relative_ca_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not checked here", encoding="utf-8")
    path = tmp_path / "outreach.toml"
    path.write_text('[imap]\nca_file = "ca.pem"\n', encoding="utf-8")
    assert load_settings(path).imap.ca_file == str(tmp_path / "ca.pem")
