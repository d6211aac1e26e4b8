"""The spamassassin plugin against a real spamd (tests/fixtures/scanners.py), and against
peers that refuse, stay silent or talk nonsense."""

from __future__ import annotations

import datetime as dt
import re
import time

import pluggy
import pytest

import plugins.spamassassin
import postal.hookspecs
from plugins.spamassassin import (
    SpamdClient,
    SpamdError,
    excluded_for_outgoing,
    parse_report,
    parse_rule_table,
    truncated,
)
from postal.settings import ConfigError, load_settings
from postal.types import IncomingMessage, SpamCheck, SpamScanResult
from tests.fixtures.scanners import LONG_RULE, LONG_RULE_DESCRIPTION, LONG_RULE_TRIGGER


GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

PERSONAL = (
    "From: Alice Example <alice@example.com>\r\n"
    "To: Bob Example <bob@example.org>\r\n"
    "Subject: Lunch on Thursday\r\n"
    "Date: Wed, 02 Dec 2026 05:00:00 +0000\r\n"
    "Message-ID: <lunch.4711.thursday@example.com>\r\n"
    "\r\n"
    "Hi Bob,\r\n\r\nare we still on for lunch on Thursday? The usual place at noon.\r\n\r\n"
    "Alice\r\n"
)

# A client that said HELO localhost, relayed by an MX: spamd scores HELO_LOCALHOST.
RELAYED = (
    "Received: from localhost (unknown [203.0.113.9])\r\n"
    "\tby mx.example.org (Postfix) with ESMTP id 4ABC\r\n"
    "\tfor <bob@example.org>; Wed, 02 Dec 2026 05:00:00 +0000\r\n" + PERSONAL
)


def message(body: str | bytes, scope: str = "incoming") -> IncomingMessage:
    raw = body.encode() if isinstance(body, str) else body
    return IncomingMessage(
        id=1,
        token="tok123",
        server_id=1,
        server_token="srv",
        scope=scope,
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
        pm.register(plugins.spamassassin)
        pm.hook.postal_configure.call_historic(kwargs={"settings": settings, "role": "worker"})
        return pm.hook

    yield build
    build()  # leave the module unconfigured (spamd.enabled false) for later tests


@pytest.fixture
def scan(configure, spamd):
    """Scan with the real spamd: ``scan(message, **settings)`` -> the one result."""

    def run(msg: IncomingMessage, **raw) -> SpamScanResult:
        hooks = configure(
            spamd__enabled="true", spamd__host=spamd.host, spamd__port=str(spamd.port), **raw
        )
        [result] = hooks.postal_scan_spam(message=msg)
        return result

    return run


def codes(result: SpamScanResult) -> set[str]:
    return {check.code for check in result.checks}


def test_hook_postal_scan_spam(scan):
    result = scan(message(PERSONAL.replace("Alice\r\n", f"{GTUBE}\r\n")))
    assert result.scanner == "spamassassin"
    assert result.score >= 1000
    [gtube] = [check for check in result.checks if check.code == "GTUBE"]
    assert gtube.score == 1000
    assert gtube.description == "BODY: Generic Test for Unsolicited Bulk Email"


def test_plain_personal_message_scores_low(scan):
    result = scan(message(PERSONAL))
    assert result.checks, "spamd's informational rules always show"
    assert "GTUBE" not in codes(result)
    assert result.score < 2


def test_wrapped_description_from_real_spamd_is_joined(scan, spamd):
    raw = PERSONAL.replace("Alice\r\n", f"{LONG_RULE_TRIGGER}\r\n").encode()
    reply = SpamdClient(spamd.host, spamd.port, 15, 0)._report(raw).decode()
    [row] = [line for line in reply.splitlines() if line.split()[1:2] == [LONG_RULE]]
    following = reply.splitlines()[reply.splitlines().index(row) + 1]
    assert following.startswith(" " * 20), "spamd wrapped the description onto a new line"
    result = scan(message(raw))
    [check] = [check for check in result.checks if check.code == LONG_RULE]
    assert check == SpamCheck(LONG_RULE, 0.5, f"BODY: {LONG_RULE_DESCRIPTION}")


TRICKY_TABLE = """\
 pts rule name              description
---- ---------------------- --------------------------------------------------
-0.0 RCVD_IN_MSPIKE_H2      RBL: Average reputation (+2)
                            [185.241.149.195 listed in wl.mailspike.net]
 2.5 FREEMAIL_FORGED_REPLYTO Freemail in Reply-To, but not From
1000 GTUBE                  BODY: Generic Test for Unsolicited Bulk Email
 0.1 URIBL_BLOCKED          ADMINISTRATOR NOTICE: The query to URIBL was blocked.
                            See
                            http://wiki.apache.org/spamassassin/DnsBlocklists#dnsbl-block
                             for more information.
                            [URIs: example.com]
-1.9 BAYES_00               BODY: Bayes spam probability is 0 to 1%
                            1.5 HOURS of spam probability, says a line that wraps
 0.0 TVD_SPACE_RATIO

-5.0 NOT_A_RULE             after the blank line the table is over
"""


def test_rule_table_with_tricky_continuation_lines():
    checks = parse_rule_table(TRICKY_TABLE.splitlines()[2:])
    assert checks == (
        SpamCheck(
            "RCVD_IN_MSPIKE_H2",
            -0.0,
            "RBL: Average reputation (+2) [185.241.149.195 listed in wl.mailspike.net]",
        ),
        SpamCheck("FREEMAIL_FORGED_REPLYTO", 2.5, "Freemail in Reply-To, but not From"),
        SpamCheck("GTUBE", 1000.0, "BODY: Generic Test for Unsolicited Bulk Email"),
        SpamCheck(
            "URIBL_BLOCKED",
            0.1,
            "ADMINISTRATOR NOTICE: The query to URIBL was blocked. See "
            "http://wiki.apache.org/spamassassin/DnsBlocklists#dnsbl-block for more "
            "information. [URIs: example.com]",
        ),
        SpamCheck(
            "BAYES_00",
            -1.9,
            "BODY: Bayes spam probability is 0 to 1% 1.5 HOURS of spam probability, "
            "says a line that wraps",
        ),
        SpamCheck("TVD_SPACE_RATIO", 0.0, ""),
    )


def test_report_parsing_finds_the_table_after_the_dashes():
    reply = (
        "SPAMD/1.1 0 EX_OK\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nContent preview: -- not a table\r\n"
        "--- forwarded message, a preview line that is not the table either\r\n"
        "\r\n" + TRICKY_TABLE.replace("\n", "\r\n")
    ).encode()
    assert [check.code for check in parse_report(reply)][:3] == [
        "RCVD_IN_MSPIKE_H2",
        "FREEMAIL_FORGED_REPLYTO",
        "GTUBE",
    ]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"SPAMD/1.0 76 Bad header line: (Content-length mismatch)\r\n", "76 Bad header line"),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "no SPAMD status line"),
        (b"", "no SPAMD status line"),
        (b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 0.0 / 5.0\r\n\r\nno table\r\n", "no rule table"),
    ],
)
def test_report_that_is_not_one_is_an_error(reply, error):
    with pytest.raises(SpamdError, match=error):
        parse_report(reply)


def test_spamd_down_is_one_error_check(configure, refusing_port):
    hooks = configure(spamd__enabled="true", spamd__port=str(refusing_port))
    [result] = hooks.postal_scan_spam(message=message(PERSONAL))
    [check] = result.checks
    assert (result.scanner, check.code, check.score) == ("spamassassin", "ERROR", 0.0)
    assert check.description == (
        f"Error when scanning for spam: spamd at 127.0.0.1:{refusing_port}: Connection refused"
    )


def test_peer_that_is_not_spamd_is_one_error_check(configure, replying_server):
    server = replying_server(b"220 smtp.example.org ESMTP\r\n")
    hooks = configure(spamd__enabled="true", spamd__port=str(server.port))
    [result] = hooks.postal_scan_spam(message=message(PERSONAL))
    [check] = result.checks
    assert (check.code, check.score) == ("ERROR", 0.0)
    assert "no SPAMD status line" in check.description
    [request] = server.requests
    assert request.startswith(b"REPORT SPAMC/1.2\r\nContent-length: %d\r\n\r\n" % len(PERSONAL))
    assert request.endswith(PERSONAL.encode())


def test_silent_spamd_times_out(configure, silent_server):
    hooks = configure(
        spamd__enabled="true", spamd__port=str(silent_server.port), spamd__timeout="0.5"
    )
    started = time.monotonic()
    [result] = hooks.postal_scan_spam(message=message(PERSONAL))
    assert time.monotonic() - started < 5
    assert result.checks == (SpamCheck("TIMEOUT", 0.0, "Timed out when scanning for spam"),)


def test_disabled_scans_nothing(configure, spamd):
    hooks = configure(spamd__host=spamd.host, spamd__port=str(spamd.port))
    assert hooks.postal_scan_spam(message=message(GTUBE)) == []


def test_outgoing_drops_checks_about_how_mail_arrived(scan):
    incoming = scan(message(RELAYED))
    outgoing = scan(message(RELAYED, scope="outgoing"))
    assert {"HELO_LOCALHOST", "RDNS_NONE"} <= codes(incoming)
    assert "HELO_LOCALHOST" not in codes(outgoing)
    assert codes(outgoing) == {code for code in codes(incoming) if not code.startswith("HELO_")}
    plain_in, plain_out = scan(message(PERSONAL)), scan(message(PERSONAL, scope="outgoing"))
    assert {"NO_RECEIVED", "NO_RELAYS"} <= codes(plain_in)
    assert not {"NO_RECEIVED", "NO_RELAYS"} & codes(plain_out)
    gtube_out = scan(message(PERSONAL.replace("Alice\r\n", GTUBE), scope="outgoing"))
    assert gtube_out.score >= 1000


@pytest.mark.parametrize(
    ("code", "excluded"),
    [
        ("NO_RECEIVED", True),
        ("CK_HELO_GENERIC", True),
        ("RDNS_DYNAMIC", True),
        ("SPF_FAIL", True),
        ("HELO_DYNAMIC_IPADDR", True),
        ("DKIM_INVALID", True),
        ("RCVD_IN_DNSWL_HI", True),
        ("RDNS_NONE", False),
        ("RCVD_HELO_IP_MISMATCH", False),
        ("T_DKIM_INVALID", False),
        ("GTUBE", False),
    ],
)
def test_outgoing_exclusions(code, excluded):
    assert excluded_for_outgoing(code) is excluded


FILLER = "The quarterly figures are attached as discussed.\r\n" * 12_000  # ~600 KB


def test_big_message_is_scanned_truncated(scan):
    result = scan(message(PERSONAL.replace("Alice\r\n", f"{GTUBE}\r\n{FILLER}")))
    assert "GTUBE" in codes(result), "spamd read the first part, Content-length matching"
    [note] = [check for check in result.checks if check.code == "TRUNCATED"]
    assert note.score == 0
    size, sent = map(int, re.findall(r"\d+", note.description)[:2])
    assert size > 512000 >= sent > 500000
    assert note.description.endswith("(spamd.max_size is 512000)")


@pytest.mark.parametrize(("max_size", "whole"), [("512000", False), ("0", True)])
def test_what_is_sent_of_a_big_message(configure, replying_server, spamd, max_size, whole):
    reply = SpamdClient(spamd.host, spamd.port, 15, 0)._report(PERSONAL.encode())
    server = replying_server(reply)
    hooks = configure(spamd__enabled="true", spamd__port=str(server.port), spamd__max_size=max_size)
    raw = PERSONAL.replace("Alice\r\n", FILLER).encode()
    [result] = hooks.postal_scan_spam(message=message(raw))
    [request] = server.requests
    head, _, body = request.partition(b"\r\n\r\n")
    assert head == b"REPORT SPAMC/1.2\r\nContent-length: %d" % len(body)
    assert (body == raw) is whole
    assert raw.startswith(body) and body.endswith(b"\r\n")
    assert ("TRUNCATED" in codes(result)) is not whole


def test_truncation_cuts_after_a_whole_line():
    raw = b"Subject: x\r\n\r\n" + b"0123456789\r\n" * 10
    assert truncated(raw, 0) == raw
    assert truncated(raw, len(raw)) == raw
    assert truncated(raw, 30) == b"Subject: x\r\n\r\n0123456789\r\n"
    assert truncated(b"x" * 50, 20) == b"x" * 20


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        ("spamd.timeout", "0", "greater than 0"),
        ("spamd.timeout", "soon", "expected a number"),
        ("spamd.max_size", "-1", "0 or more"),
    ],
)
def test_bad_settings_are_refused(key, value, error):
    with pytest.raises(ConfigError, match=error):
        load_settings({key: value}, environ={})


def test_settings_defaults():
    settings = load_settings({}, environ={})
    assert settings["spamd.timeout"] == 15
    assert settings["spamd.max_size"] == 512000
