from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pluggy
import pytest
import webtest

from postal.config import configure
from postal.plugins import describe_plugins, get_plugin_manager
from postal.settings import load_settings


ROOT = Path(__file__).resolve().parents[2]


def _settings(**raw):
    return load_settings(raw, environ={}, here="/tmp")


def test_built_in_plugins_load_through_entry_points():
    pm = get_plugin_manager(_settings(), "cli")
    names = {row["name"] for row in describe_plugins(pm)}
    assert {"api_tokens", "dns_checks"} <= names
    dns = next(row for row in describe_plugins(pm) if row["name"] == "dns_checks")
    assert dns["distribution"].startswith("postal ")
    assert "postal_check_dns" in dns["hooks"]


def test_disabled_plugins_are_blocked():
    pm = get_plugin_manager(_settings(**{"postal.plugins.disabled": "dns_checks"}), "cli")
    assert pm.is_blocked("dns_checks")
    assert pm.get_plugin("dns_checks") is None
    assert pm.get_plugin("api_tokens") is not None


def test_extra_plugins_load_by_dotted_name():
    pm = get_plugin_manager(
        _settings(**{"postal.plugins.extra": "tests.plugins.example_plugin"}), "cli"
    )
    assert pm.get_plugin("tests.plugins.example_plugin") is not None


def test_an_implementation_without_a_spec_is_refused():
    with pytest.raises(pluggy.PluginValidationError, match="postal_no_such_hook"):
        get_plugin_manager(
            _settings(**{"postal.plugins.extra": "tests.plugins.broken_plugin"}), "cli"
        )


def test_hook_postal_configure():
    from tests.plugins import example_plugin

    example_plugin.configured.clear()
    get_plugin_manager(
        _settings(**{"postal.plugins.extra": "tests.plugins.example_plugin"}), "worker"
    )
    assert example_plugin.configured == ["worker"]


def test_hook_postal_web_configure(app_settings, clean_tables):
    settings = dict(app_settings, **{"postal.plugins.extra": ["tests.plugins.example_plugin"]})
    app = webtest.TestApp(configure(settings, role="web").make_wsgi_app())
    assert app.get("/example/ping").json == {"pong": True}


def test_hook_postal_authenticate_request(app_settings, data):
    settings = dict(app_settings, **{"postal.plugins.extra": ["tests.plugins.example_plugin"]})
    app = webtest.TestApp(configure(settings, role="web").make_wsgi_app())
    user = data.user()
    me = app.get("/api/v2/me", headers={"X-Example-User": user.email_address})
    assert me.json["uuid"] == user.uuid
    # Without the header the built-in bearer-token plugin still decides.
    app.get("/api/v2/me", status=401)
    _user, headers = data.auth()
    assert app.get("/api/v2/me", headers=headers).status_int == 200


def test_third_party_package_is_installed_and_loaded_by_entry_point(tmp_path):
    """pip-install the sample package into a directory, then run the real CLI and app."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT / "tests" / "sample_plugin")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(target), DATABASE_URL=f"sqlite:///{tmp_path}/p.db")
    postal = [sys.executable, "-m", "postal", "-c", str(ROOT / "development.ini")]
    listed = subprocess.run(
        [*postal, "plugins", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert listed.returncode == 0, listed.stderr
    sample = next(row for row in json.loads(listed.stdout) if row["name"] == "sample")
    assert sample["distribution"] == "postal-sample-plugin 1.0.0"
    assert sample["hooks"] == ["postal_configure", "postal_web_configure"]

    script = (
        "import webtest\n"
        "from postal.bootstrap import build_configurator\n"
        f"app = build_configurator({str(ROOT / 'development.ini')!r}, 'web').make_wsgi_app()\n"
        "print(webtest.TestApp(app).get('/sample/hello').body.decode())\n"
    )
    served = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout.strip().splitlines()[-1]) == {"hello": "from a plugin"}
