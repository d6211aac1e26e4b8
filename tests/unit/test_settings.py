from __future__ import annotations

import pytest

from postal.settings import SETTINGS, ConfigError, env_name, load_settings, process_address


def test_defaults_cover_every_key():
    settings = load_settings({}, environ={}, here="/srv/postal")
    for setting in SETTINGS:
        assert setting.key in settings
    assert settings["smtp_server.default_port"] == 25
    assert settings["dns.mx_records"] == ["mx1.postal.example.com", "mx2.postal.example.com"]
    assert settings["postal.dkim_key_size"] == 2048
    assert settings["postal.signing_key_path"] == "/srv/postal/var/signing.key"


def test_environment_overrides_file():
    settings = load_settings(
        {"smtp_server.default_port": "2525", "postal.smtp_relays": "smtp://a:25"},
        environ={"SMTP_SERVER_DEFAULT_PORT": "2600", "DNS_NAMESERVERS": "127.0.0.1:5353, ::1"},
        here="/tmp",
    )
    assert settings["smtp_server.default_port"] == 2600
    assert settings["postal.smtp_relays"] == ["smtp://a:25"]
    assert settings["dns.nameservers"] == [("127.0.0.1", 5353), ("::1", 53)]


def test_empty_environment_value_means_unset():
    settings = load_settings({"spamd.port": "784"}, environ={"SPAMD_PORT": ""}, here="/tmp")
    assert settings["spamd.port"] == 784


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("smtp_server.default_port", "abc", "expected a whole number"),
        ("smtp_server.default_port", "70000", "expected a port number"),
        ("spamd.enabled", "maybe", "expected true or false"),
        ("postal.dkim_key_size", "512", "expected 1024, 2048, 3072 or 4096"),
        ("dns.nameservers", "127.0.0.1:x", "host[:port]"),
    ],
)
def test_bad_value_names_the_key(key, value, expected):
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ={env_name(key): value}, here="/tmp")
    message = str(info.value)
    assert message.startswith(f"{key}: ")
    assert expected in message
    assert env_name(key) in message


def test_env_name():
    assert env_name("postal.smtp_relays") == "POSTAL_SMTP_RELAYS"
    assert env_name("smtp_server.tls-enabled") == "SMTP_SERVER_TLS_ENABLED"


def test_relative_sqlite_path_is_relative_to_the_ini():
    settings = load_settings({"database.url": "sqlite:///var/x.db"}, environ={}, here="/srv/p")
    assert settings["database.url"] == "sqlite:////srv/p/var/x.db"


def test_process_address_honours_port_and_bind_address(monkeypatch):
    settings = load_settings({}, environ={}, here="/tmp")
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("BIND_ADDRESS", "0.0.0.0")
    assert process_address(settings, "web_server") == ("0.0.0.0", 8080)
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ConfigError, match="^PORT: "):
        process_address(settings, "web_server")
