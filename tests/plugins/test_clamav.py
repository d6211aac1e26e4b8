"""The clamav plugin against a real clamd with an EICAR-only database
(tests/fixtures/scanners.py), and against peers that refuse, stay silent or talk nonsense."""

from __future__ import annotations

import base64
import datetime as dt
import struct
import time

import pluggy
import pytest

import plugins.clamav
import plugins.spamassassin
import postal.hookspecs
from plugins.clamav import instream_request, parse_reply
from postal.plugins import get_plugin_manager
from postal.settings import ConfigError, load_settings
from postal.types import IncomingMessage, ThreatScanResult
from tests.fixtures.scanners import CLAMD_STREAM_MAX, eicar


EICAR_NAME = "Eicar-Test-Signature.NDB.UNOFFICIAL"

CLEAN = (
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob Example <bob@example.org>\r\n"
    b"Subject: Minutes\r\n"
    b"Message-ID: <minutes.1@example.com>\r\n"
    b"\r\n"
    b"Hi Bob, the minutes of today's meeting are below.\r\n"
)


def with_attachment(payload: bytes) -> bytes:
    """A MIME message carrying ``payload`` as a base64 attachment (clamd decodes mail)."""
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    return (
        b"From: Alice Example <alice@example.com>\r\n"
        b"To: bob@example.org\r\n"
        b"Subject: The file\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n'
        b"\r\n"
        b"--b1\r\n"
        b"Content-Type: text/plain\r\n\r\nSee attached.\r\n"
        b"--b1\r\n"
        b'Content-Type: application/octet-stream; name="tool.com"\r\n'
        b"Content-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="tool.com"\r\n\r\n' + encoded + b"--b1--\r\n"
    )


def message(raw: bytes) -> IncomingMessage:
    return IncomingMessage(
        id=1,
        token="tok123",
        server_id=1,
        server_token="srv",
        scope="incoming",
        mail_from="alice@example.com",
        rcpt_to="bob@example.org",
        raw=raw,
        timestamp=dt.datetime(2026, 12, 2, 5, 0),
    )


@pytest.fixture
def configure():
    """``configure(**settings)`` -> the hooks of a manager holding only this plugin."""

    def build(**raw) -> pluggy.HookRelay:
        settings = load_settings({k.replace("__", "."): v for k, v in raw.items()}, environ={})
        pm = pluggy.PluginManager("postal")
        pm.add_hookspecs(postal.hookspecs)
        pm.register(plugins.clamav)
        pm.hook.postal_configure.call_historic(kwargs={"settings": settings, "role": "worker"})
        return pm.hook

    yield build
    build()  # leave the module unconfigured (clamav.enabled false) for later tests


def scan_with(hooks, raw: bytes) -> ThreatScanResult:
    [result] = hooks.postal_scan_virus(message=message(raw))
    assert result.scanner == "clamav"
    return result


@pytest.fixture
def scan(configure, clamd):
    hooks = configure(clamav__enabled="true", clamav__host=clamd.host, clamav__port=str(clamd.port))
    return lambda raw: scan_with(hooks, raw)


def test_hook_postal_scan_virus(scan):
    result = scan(CLEAN + eicar() + b"\r\n")
    assert (result.threat, result.details) == (True, EICAR_NAME)


def test_threat_in_a_base64_attachment(scan):
    assert scan(with_attachment(eicar())).details == EICAR_NAME


def test_clean_message(scan):
    result = scan(CLEAN)
    assert (result.threat, result.details) == (False, "No threats found")
    assert scan(with_attachment(b"just some bytes\r\n" * 10_000)).details == "No threats found"


def test_message_past_streammaxlength_could_not_be_scanned(scan):
    result = scan(CLEAN + b"A" * (CLAMD_STREAM_MAX + 1024))
    assert (result.threat, result.details) == (False, "Could not scan message")


def test_clamd_down(configure, refusing_port):
    hooks = configure(clamav__enabled="true", clamav__port=str(refusing_port))
    result = scan_with(hooks, CLEAN)
    assert (result.threat, result.details) == (False, "Error when scanning for threats")


def test_silent_clamd_times_out(configure, silent_server):
    hooks = configure(
        clamav__enabled="true", clamav__port=str(silent_server.port), clamav__timeout="0.5"
    )
    started = time.monotonic()
    result = scan_with(hooks, CLEAN)
    assert time.monotonic() - started < 5
    assert (result.threat, result.details) == (False, "Timed out scanning for threats")


def test_peer_that_is_not_clamd(configure, replying_server):
    server = replying_server(b"SPAMD/1.5 76 Bad header line\r\n")
    hooks = configure(clamav__enabled="true", clamav__port=str(server.port))
    result = scan_with(hooks, CLEAN)
    assert (result.threat, result.details) == (False, "Could not scan message")
    [request] = server.requests
    assert request == b"zINSTREAM\0" + struct.pack(">I", len(CLEAN)) + CLEAN + b"\0\0\0\0"


def test_disabled_scans_nothing(configure, clamd):
    hooks = configure(clamav__host=clamd.host, clamav__port=str(clamd.port))
    assert hooks.postal_scan_virus(message=message(CLEAN + eicar())) == []


def test_instream_chunks():
    pieces = list(instream_request(b"abcdefghij", chunk=4))
    assert pieces == [
        b"zINSTREAM\0",
        b"\0\0\0\4abcd",
        b"\0\0\0\4efgh",
        b"\0\0\0\2ij",
        b"\0\0\0\0",
    ]
    assert list(instream_request(b"")) == [b"zINSTREAM\0", b"\0\0\0\0"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"stream: OK\0", (False, "No threats found")),
        (b"stream: Win.Test.EICAR_HDB-1 FOUND\0", (True, "Win.Test.EICAR_HDB-1")),
        (b"stream: A FOUND\0stream: B FOUND\0", (True, "A, B")),
        (b"INSTREAM size limit exceeded. ERROR\0", (False, "Could not scan message")),
        (b"stream: Can't allocate memory ERROR\0", (False, "Could not scan message")),
        (b"", (False, "Could not scan message")),
    ],
)
def test_reply_parsing(reply, expected):
    assert parse_reply(reply) == expected


def test_timeout_setting():
    assert load_settings({}, environ={})["clamav.timeout"] == 10
    with pytest.raises(ConfigError, match="clamav.timeout"):
        load_settings({}, environ={"CLAMAV_TIMEOUT": "-3"})


def test_both_scanners_load_from_their_entry_points(configure, clamd, spamd):
    settings = load_settings(
        {
            "clamav.enabled": "true",
            "clamav.port": str(clamd.port),
            "spamd.enabled": "true",
            "spamd.port": str(spamd.port),
        },
        environ={},
    )
    pm = get_plugin_manager(settings, "cli")
    try:
        [threat] = pm.hook.postal_scan_virus(message=message(CLEAN + eicar()))
        [spam] = pm.hook.postal_scan_spam(message=message(CLEAN))
        assert (threat.scanner, threat.details) == ("clamav", EICAR_NAME)
        assert spam.scanner == "spamassassin" and spam.checks
    finally:
        plugins.spamassassin.postal_configure(settings={}, role="cli")
