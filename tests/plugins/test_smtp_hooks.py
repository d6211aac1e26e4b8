"""Each SMTP hook exercised through the real SMTP process with a plugin registered."""

from __future__ import annotations

import smtplib
import threading

import pytest

from postal import hookimpl
from postal.types import AuthIdentity, RcptDecision, SmtpReply


pytestmark = pytest.mark.functional


class Recorder:
    def __init__(self):
        self.calls = []
        self.done = threading.Event()


@pytest.fixture
def plugin_server(smtp_server_factory, smtp_data):
    server = smtp_data.server()
    smtp_data.domain("example.com", server=server)
    credential = smtp_data.credential(server)

    def start(plugin):
        process = smtp_server_factory()
        process.registry["postal.plugin_manager"].register(plugin, name="test-plugin")
        process.handler.hooks._inline.cache_clear()
        return process

    return start, server, credential


def test_hook_postal_smtp_connect(plugin_server):
    start, _server, _credential = plugin_server

    class Plugin:
        @hookimpl
        def postal_smtp_connect(self, session):
            if session.client_ip == "127.0.0.1":
                return SmtpReply(554, "Go away")
            return None

    process = start(Plugin())
    with pytest.raises(smtplib.SMTPConnectError) as error:
        smtplib.SMTP("127.0.0.1", process.port, timeout=10)
    assert (error.value.smtp_code, error.value.smtp_error) == (554, b"Go away")


def test_hook_postal_smtp_authenticate(plugin_server):
    start, server, credential = plugin_server
    identity = AuthIdentity(
        credential_id=credential.id, credential_type="SMTP", server_id=server.id,
        server_uuid=server.uuid, permalink="custom/identity",
    )  # fmt: skip
    seen = []

    class Plugin:
        @hookimpl
        def postal_smtp_authenticate(self, session, mechanism, username, password, challenge):
            seen.append((mechanism, username, password, challenge))
            return identity if password == "let-me-in" else None

    process = start(Plugin())
    with smtplib.SMTP("127.0.0.1", process.port, timeout=10) as client:
        assert client.login("bob", "let-me-in") == (235, b"Granted for custom/identity")
    with smtplib.SMTP("127.0.0.1", process.port, timeout=10) as client:
        # The built-in plugin still answers for real keys when ours returns None.
        assert client.login("x", credential.key)[0] == 235
    # smtplib tries CRAM-MD5 first (digest + challenge), then PLAIN (password, no challenge).
    assert seen[0][0] == "CRAM-MD5" and seen[0][3].endswith("@smtp.postal.test>")
    assert ("PLAIN", "bob", "let-me-in", None) in seen


def test_hook_postal_smtp_mail_from(plugin_server):
    start, _server, credential = plugin_server

    class Plugin:
        @hookimpl
        def postal_smtp_mail_from(self, session, envelope, address):
            return SmtpReply(550, "Sender blocked") if address.endswith("@spam.test") else None

    process = start(Plugin())
    with smtplib.SMTP("127.0.0.1", process.port, timeout=10) as client:
        client.ehlo()
        assert client.mail("a@spam.test") == (550, b"Sender blocked")
        assert client.mail("a@example.com") == (250, b"OK")


def test_hook_postal_smtp_rcpt(plugin_server, dbsession):
    start, server, _credential = plugin_server

    class Plugin:
        @hookimpl(tryfirst=True)
        def postal_smtp_rcpt(self, session, envelope, address):
            if address == "special@anywhere.test":
                return RcptDecision(
                    reply=SmtpReply(250, "Special"), kind="incoming", server_id=server.id,
                    address=address,
                )  # fmt: skip
            return None

    process = start(Plugin())
    with smtplib.SMTP("127.0.0.1", process.port, timeout=10) as client:
        client.ehlo()
        client.mail("a@remote.test")
        assert client.rcpt("special@anywhere.test") == (250, b"Special")
        assert client.rcpt("other@anywhere.test") == (530, b"Authentication required")
        assert client.data(b"\r\nhi\r\n")[0] == 250


def test_hook_postal_smtp_data(plugin_server, dbsession):
    start, _server, credential = plugin_server
    seen = []

    class Plugin:
        @hookimpl
        def postal_smtp_data(self, session, envelope):
            seen.append(envelope.content)
            if b"VIRUS" in envelope.content:
                return SmtpReply(554, "Message refused")
            return None

    process = start(Plugin())
    with smtplib.SMTP("127.0.0.1", process.port, timeout=10) as client:
        client.login("x", credential.key)
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail("a@example.com", ["b@far.test"], "From: a@example.com\r\n\r\nVIRUS\r\n")
        assert error.value.smtp_code == 554
        client.sendmail("a@example.com", ["b@far.test"], "From: a@example.com\r\n\r\nfine\r\n")
    assert seen[0].startswith(b"Received: ")


def test_hook_postal_message_received(plugin_server):
    start, server, credential = plugin_server
    received = []

    class Plugin:
        @hookimpl
        def postal_message_received(self, messages, session):
            received.append((messages, session.identity.credential_id))

    process = start(Plugin())
    with smtplib.SMTP("127.0.0.1", process.port, timeout=10) as client:
        client.login("x", credential.key)
        client.sendmail("a@example.com", ["b@far.test", "c@far.test"],
                        "From: a@example.com\r\n\r\nhi\r\n")  # fmt: skip
    ((messages, credential_id),) = received
    assert credential_id == credential.id
    assert [(m.rcpt_to, m.scope, m.server_id) for m in messages] == [
        ("b@far.test", "outgoing", server.id),
        ("c@far.test", "outgoing", server.id),
    ]
    assert all(len(m.token) == 16 and m.id for m in messages)
