"""The ``postal`` command, run as a real process against each test database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families


ROOT = Path(__file__).resolve().parents[2]
INI = str(ROOT / "development.ini")


def _runner(database_url, tmp_path):
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        POSTAL_SIGNING_KEY_PATH=str(tmp_path / "signing.key"),
        POSTAL_DKIM_KEY_SIZE="1024",
    )

    def run(*args, check=True, input=None):
        result = subprocess.run(
            [sys.executable, "-m", "postal", "-c", INI, *args],
            env=env, capture_output=True, text=True, timeout=60, input=input,
        )  # fmt: skip
        if check:
            assert result.returncode == 0, result.stderr
        return result

    run.env = env
    return run


@pytest.fixture
def postal(database_url, clean_tables, tmp_path):
    """Runs the CLI against the test database (each of the three engines)."""
    return _runner(database_url, tmp_path)


@pytest.fixture
def cli(tmp_path):
    """Runs the CLI where the database engine does not matter (a throw-away SQLite file)."""
    return _runner(f"sqlite:///{tmp_path}/cli.db", tmp_path)


def test_version(cli):
    from postal import __version__

    assert cli("version").stdout.strip() == __version__


def test_initialize_is_safe_to_run_twice(postal, tmp_path):
    first = postal("initialize")
    second = postal("initialize")
    assert "revision" in first.stdout
    assert "up to date" in second.stdout
    assert (tmp_path / "signing.key").exists()


def test_initialize_creates_an_empty_sqlite_database(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path}/new/postal.db",
               POSTAL_SIGNING_KEY_PATH=str(tmp_path / "k"))  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "postal", "-c", INI, "initialize"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "upgraded from empty" in result.stdout
    assert (tmp_path / "new" / "postal.db").exists()


def test_make_user_then_create_api_token(postal):
    made = postal("make-user", "--email", "Ann@Example.com", "--first-name", "Ann",
                  "--last-name", "Smith", "--password", "correct horse", "--admin")  # fmt: skip
    assert "Created admin user ann@example.com" in made.stdout
    token = postal("create-api-token", "--email", "ann@example.com").stdout.splitlines()[-1]
    assert re.fullmatch(r"pma_[A-Za-z0-9_-]{40,}", token)


def test_make_user_refuses_bad_input_with_one_line(postal):
    short = postal("make-user", "--email", "a@example.com", "--first-name", "A",
                   "--last-name", "B", "--password", "short", check=False)  # fmt: skip
    assert short.returncode == 2
    assert short.stderr.strip() == "postal: password must be at least 8 characters"
    missing = postal("make-user", "--email", "a@example.com", check=False, input="")
    assert missing.returncode == 2
    assert "--first-name is required" in missing.stderr
    postal("make-user", "--email", "b@example.com", "--first-name", "B", "--last-name", "B",
           "--password", "password1")  # fmt: skip
    again = postal("make-user", "--email", "b@example.com", "--first-name", "B",
                   "--last-name", "B", "--password", "password1", check=False)  # fmt: skip
    assert "already exists" in again.stderr


def test_create_api_token_for_unknown_user(postal):
    result = postal("create-api-token", "--email", "nobody@example.com", check=False)
    assert result.returncode == 2
    assert "no user with e-mail address nobody@example.com" in result.stderr


def test_ensure_admin_creates_one_admin_once(postal):
    first = postal("ensure-admin")
    assert "admin@example.com" in first.stdout
    password = re.search(r"password: (\S+)", first.stdout).group(1)
    assert len(password) >= 12
    assert "nothing to do" in postal("ensure-admin").stdout


def test_default_dkim_record(cli):
    record = cli("default-dkim-record").stdout.strip()
    assert re.fullmatch(r"v=DKIM1; t=s; h=sha256; p=[A-Za-z0-9+/=]+;", record)
    assert cli("default-dkim-record").stdout.strip() == record


def test_bad_configuration_value_stops_with_one_line(cli):
    env = dict(cli.env, SMTP_SERVER_DEFAULT_PORT="lots")
    result = subprocess.run(
        [sys.executable, "-m", "postal", "-c", INI, "initialize"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "postal: configuration error: smtp_server.default_port: expected a whole number "
        "(got 'lots' from the environment variable SMTP_SERVER_DEFAULT_PORT)"
    )


def test_unreachable_database_is_one_clear_line(tmp_path):
    env = dict(os.environ, DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:9/none")
    result = subprocess.run(
        [sys.executable, "-m", "postal", "-c", INI, "initialize"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("postal: cannot use the database:")
    assert "Traceback" not in result.stderr


def test_plugins_lists_built_ins(cli):
    listing = cli("plugins").stdout
    assert "dns_checks" in listing and "postal_check_dns" in listing


def test_web_server_serves_and_stops_cleanly_on_sigterm(cli):
    env = dict(cli.env, PORT="0", BIND_ADDRESS="127.0.0.1", HEALTH_SERVER_PORT="0")
    process = subprocess.Popen(
        [sys.executable, "-m", "postal", "-c", INI, "web-server"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        url = health_url = None
        for _ in range(200):
            line = process.stdout.readline()
            if match := re.search(r"health server listening on (http://\S+)", line):
                health_url = match.group(1)
            elif match := re.search(r"web server listening on (http://\S+)", line):
                url = match.group(1)
                break
        assert url and health_url, "the web server never said where it listens"
        with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            assert response.read() == b"OK"
        with urllib.request.urlopen(f"{health_url}/metrics", timeout=10) as response:
            families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
        samples = families["postal_web_requests"].samples
        assert any(
            s.labels == {"route": "health", "method": "GET", "status": "200"} for s in samples
        )
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
        assert process.returncode == 0
        assert "postal stopped" in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
