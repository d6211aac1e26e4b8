"""AUTH through the real SMTP process: swaks with PLAIN, LOGIN and CRAM-MD5, with and
without STARTTLS; wrong keys; the failure limit; TLS requirements; implicit TLS."""

from __future__ import annotations

import base64
import smtplib
import ssl
import subprocess

import pytest


pytestmark = pytest.mark.functional


@pytest.fixture
def credential(smtp_data):
    server = smtp_data.server()
    smtp_data.domain("example.com", server=server)
    return server, smtp_data.credential(server)


def run_swaks(swaks, port, *args):
    command = [swaks, "--server", f"127.0.0.1:{port}", "--from", "me@example.com",
               "--to", "you@dest.test", "--timeout", "10", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
@pytest.mark.parametrize("tls", [False, True], ids=["plain-text", "starttls"])
def test_swaks_authenticates(swaks, smtp_server, credential, mechanism, tls, dbsession):
    server, key = credential
    username = f"{server.organization.permalink}/{server.permalink}"
    args = ["--auth", mechanism, "--auth-user", username, "--auth-password", key.key]
    result = run_swaks(swaks, smtp_server.port, *args, *(["--tls"] if tls else []))
    assert result.returncode == 0, result.stdout + result.stderr
    arrow = "<~" if tls else "<-"
    assert f"{arrow}  235 Granted for {username}" in result.stdout
    assert ("<-  220 Ready to start TLS" in result.stdout) is tls
    assert f"{arrow}  250 OK" in result.stdout.split("-> .")[-1]


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_swaks_wrong_key_gets_535(swaks, smtp_server, credential, mechanism):
    server, _key = credential
    username = f"{server.organization.permalink}_{server.permalink}"
    args = ["--auth", mechanism, "--auth-user", username, "--auth-password", "wrong-key"]
    result = run_swaks(swaks, smtp_server.port, *args)
    assert result.returncode == 28, result.stdout
    expected = "535 Denied" if mechanism == "CRAM-MD5" else "535 Invalid credential"
    assert expected in result.stdout


def test_exact_auth_exchanges(line_client, credential):
    _server, key = credential
    client = line_client()
    client.reply()
    assert client.cmd("AUTH LOGIN") == "334 VXNlcm5hbWU6"
    assert client.cmd(base64.b64encode(b"anyone").decode()) == "334 UGFzc3dvcmQ6"
    assert client.cmd(base64.b64encode(key.key.encode()).decode()).startswith("235 Granted for ")
    assert client.cmd("AUTH PLAIN") == "334 "  # RFC 4954: an empty challenge keeps its space
    assert client.cmd(base64.b64encode(b"no-nul-here").decode()) == (
        "535 Authenticated failed - protocol error"
    )
    inline = base64.b64encode(b"\0x\0" + key.key.encode()).decode()
    assert client.cmd(f"AUTH PLAIN {inline}").startswith("235 Granted for ")
    assert client.cmd("AUTH CRAM-MD5").startswith("334 ")
    assert client.cmd("*") == "501 Authentication aborted"


def test_failed_attempts_are_limited_per_client(smtp_server_factory, line_client, credential):
    process = smtp_server_factory(smtp_server__auth_failure_limit=3)
    _server, key = credential
    client = line_client(process.port)
    client.reply()
    bad = base64.b64encode(b"\0x\0wrong").decode()
    for _ in range(3):
        assert client.cmd(f"AUTH PLAIN {bad}") == "535 Invalid credential"
    good = base64.b64encode(b"\0x\0" + key.key.encode()).decode()
    assert client.cmd(f"AUTH PLAIN {good}") == (
        "454 Too many failed authentication attempts, try again later"
    )


def test_smtplib_login_fallback_is_not_counted_as_an_attack(smtp_server_factory, credential):
    """smtplib's login() tries CRAM-MD5 first (with a user name that is not org/server) and
    falls back to PLAIN; many such logins must not lock the client out."""
    process = smtp_server_factory(smtp_server__auth_failure_limit=3)
    _server, key = credential
    for _ in range(5):
        with smtplib.SMTP("127.0.0.1", process.port, timeout=10) as client:
            code, _text = client.login("app", key.key)
            assert code == 235


def test_auth_can_require_tls(smtp_server_factory, credential):
    process = smtp_server_factory(smtp_server__require_tls_for_auth=True)
    _server, key = credential
    with smtplib.SMTP("127.0.0.1", process.port, timeout=10) as client:
        code, text = client.ehlo()
        assert b"AUTH" not in text and b"STARTTLS" in text
        assert client.docmd("AUTH PLAIN", base64.b64encode(b"\0x\0k").decode()) == (
            538,
            b"Encryption required for requested authentication mechanism",
        )
        client.starttls(context=ssl._create_unverified_context())
        code, text = client.ehlo()
        assert b"AUTH CRAM-MD5 PLAIN LOGIN" in text and b"STARTTLS" not in text
        assert client.login("x", key.key)[0] == 235


def test_starttls_resets_the_session(smtp_server, credential):
    _server, key = credential
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.login("x", key.key)
        client.mail("me@example.com")
        client.starttls(context=ssl._create_unverified_context())
        # RFC 3207: the transaction and the authentication are gone; EHLO again first.
        assert client.docmd("MAIL FROM:<me@example.com>") == (503, b"EHLO/HELO first please")
        client.ehlo()
        client.mail("me@example.com")
        assert client.rcpt("you@dest.test") == (530, b"Authentication required")
        assert client.docmd("STARTTLS") == (502, b"TLS not available")


def test_implicit_tls_listener(smtp_server_factory, credential, dbsession):
    process = smtp_server_factory(smtp_server__tls_port=0)
    assert process.tls_port is None  # 0 means off
    from postal.settings import ConfigError

    with pytest.raises(ConfigError, match="tls_port needs"):
        smtp_server_factory(smtp_server__tls_port=1, smtp_server__tls_enabled=False)


def test_implicit_tls_submission(smtp_server_factory, credential, unused_port):
    process = smtp_server_factory(smtp_server__tls_port=unused_port)
    _server, key = credential
    context = ssl._create_unverified_context()
    with smtplib.SMTP_SSL("127.0.0.1", process.tls_port, timeout=10, context=context) as client:
        code, text = client.ehlo()
        assert b"STARTTLS" not in text
        client.login("x", key.key)
        client.sendmail("me@example.com", ["you@dest.test"], "From: me@example.com\r\n\r\nhi\r\n")
