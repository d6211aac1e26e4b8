"""The built-in SMTP sender with IP pool addresses: bound source, EHLO name, IPv6 targets
skipped without an IPv6 source, connections pooled per source."""

from __future__ import annotations

from plugins.mx_delivery.sender import MXSender
from plugins.mx_delivery.targets import Host
from postal.settings import load_settings
from postal.types import OutgoingMessage


def _message(**source) -> OutgoingMessage:
    raw = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: x\r\n\r\nHello\r\n"
    return OutgoingMessage(
        id=1,
        token="t",
        server_id=1,
        server_token="s",
        mail_from="a@example.com",
        rcpt_to="b@example.net",
        raw=raw,
        **source,
    )


def _sender() -> MXSender:
    settings = load_settings(
        {"postal.use_resent_sender_header": "false", "smtp_client.open_timeout": "5"}, environ={}
    )
    return MXSender(settings, resolver=None)


def test_ipv6_targets_are_skipped_without_an_ipv6_source(smtp_sink):
    sender = _sender()
    try:
        result = sender.deliver_to(_message(source_ipv4="127.0.0.2"), [Host("::1", 1)], "x")
        assert result.status == "SoftFail"
        assert result.details == "No SMTP servers were available for x. No hosts to try."
        # Without pool addresses the same target is tried (and fails: nothing listens).
        plain = sender.deliver_to(_message(), [Host("::1", 1)], "x")
        assert "Tried ::1:1." in plain.details
    finally:
        sender.close()


def test_each_source_gets_its_own_connection(smtp_sink):
    sender = _sender()
    host = Host("127.0.0.1", smtp_sink.port, ssl_mode="None")
    try:
        for source, name in (
            ("127.0.0.2", "a.test"),
            ("127.0.0.3", "b.test"),
            ("127.0.0.2", "a.test"),
        ):
            message = _message(source_ipv4=source, helo_hostname=name)
            result = sender.deliver_to(message, [host], "sink")
            assert result.status == "Sent", result
            assert result.details.endswith(f"(from {source})")
        assert [(m.peer, m.helo) for m in smtp_sink.messages] == [
            ("127.0.0.2", "a.test"),
            ("127.0.0.3", "b.test"),
            ("127.0.0.2", "a.test"),
        ]
        assert smtp_sink.sessions == 2  # the third message reused the first connection
        default = sender.deliver_to(_message(), [host], "sink")
        assert default.status == "Sent" and "(from" not in default.details
        assert smtp_sink.messages[-1].peer == "127.0.0.1"
        assert smtp_sink.messages[-1].helo == sender.pool.helo
    finally:
        sender.close()
