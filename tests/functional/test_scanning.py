"""Scanning for real: mail into the SMTP server, the worker asking the real spamd and clamd
(tests/fixtures/scanners.py), and what is stored and what reaches the endpoint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import plugins.clamav
import plugins.spamassassin
from postal.models import SpamCheck
from tests.fixtures.receiving import mail
from tests.fixtures.scanners import eicar


pytestmark = pytest.mark.functional

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"


@pytest.fixture
def sending_settings(sending_settings, spamd, clamd):
    """The worker's settings with both scanners on, pointing at the test daemons."""
    settings = dict(sending_settings)
    settings.update({"spamd.enabled": True, "spamd.host": spamd.host, "spamd.port": spamd.port})
    settings.update({"clamav.enabled": True, "clamav.host": clamd.host, "clamav.port": clamd.port})
    yield settings
    for plugin in (plugins.spamassassin, plugins.clamav):
        plugin.postal_configure(settings={}, role="worker")


def only_incoming(receiving):
    (message,) = receiving.messages(scope="incoming")
    return message


def checks_of(receiving, message) -> dict[str, float]:
    query = select(SpamCheck).where(SpamCheck.message_id == message.id)
    return {check.code: check.score for check in receiving.db.scalars(query)}


def test_gtube_fails_on_the_spam_failure_threshold(receiving, mail_worker):
    receiving.route(mode="Accept")
    receiving.send("support@in.test", mail(body=f"{GTUBE}\r\n"))
    mail_worker.run_until_idle()
    message = only_incoming(receiving)
    assert message.status == "HardFail"
    assert message.spam and message.spam_score >= 1000
    assert checks_of(receiving, message)["GTUBE"] == 1000
    assert (message.threat, message.threat_details) == (False, "No threats found")


def test_a_virus_is_marked_and_still_delivered(receiving, mail_worker, smtp_sink):
    receiving.route(endpoint=receiving.smtp_endpoint())
    receiving.send("support@in.test", mail(body=eicar().decode() + "\r\n"))
    mail_worker.run_until_idle()
    message = only_incoming(receiving)
    assert message.status == "Sent"
    assert (message.threat, message.threat_details) == (
        True,
        "Eicar-Test-Signature.NDB.UNOFFICIAL",
    )
    assert message.spam_score < 5 and not message.spam
    (received,) = smtp_sink.messages
    head = received.data.split(b"\r\n\r\n")[0]
    assert b"X-Postal-Spam: no\r\n" in head
    assert b"X-Postal-Threat: yes\r\n" in head


def test_scanners_down_hold_nothing_up(receiving, mail_worker, sending_settings, refusing_port):
    settings = dict(sending_settings, **{"spamd.port": refusing_port})
    settings["clamav.port"] = refusing_port
    for plugin in (plugins.spamassassin, plugins.clamav):
        plugin.postal_configure(settings=settings, role="worker")
    receiving.route(mode="Accept")
    receiving.send("support@in.test", mail())
    mail_worker.run_until_idle()
    message = only_incoming(receiving)
    assert message.status == "Processed"
    assert (message.spam_score, message.spam, message.threat) == (0, False, False)
    assert message.threat_details == "Error when scanning for threats"
    assert checks_of(receiving, message) == {"ERROR": 0}


@pytest.mark.parametrize(
    "spam_mode, status", [("Mark", "Sent"), ("Quarantine", "Held"), ("Fail", "HardFail")]
)
def test_gtube_follows_the_route_spam_mode(receiving, mail_worker, smtp_sink, spam_mode, status):
    # Above GTUBE's 1000 points, so the route's spam mode decides, not the failure threshold.
    receiving.server.spam_failure_threshold = 5000
    receiving.db.commit()
    receiving.route(endpoint=receiving.smtp_endpoint(), spam_mode=spam_mode)
    receiving.send("support@in.test", mail(body=f"{GTUBE}\r\n"))
    mail_worker.run_until_idle()
    message = only_incoming(receiving)
    assert (message.status, message.spam) == (status, True)
    if spam_mode == "Mark":
        (received,) = smtp_sink.messages
        assert b"X-Postal-Spam: yes\r\n" in received.data.split(b"\r\n\r\n")[0]
    else:
        assert smtp_sink.messages == []
