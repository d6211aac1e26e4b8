from __future__ import annotations

import json
import logging
import socket

import pytest

from postal.logs import GelfUdpHandler, StructuredFormatter, configure_logging


def _record(message, **extra):
    record = logging.LogRecord("postal.worker", logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return record


def test_structured_formatter_appends_context():
    formatter = StructuredFormatter("%(levelname)s %(message)s")
    line = formatter.format(
        _record("delivered", message_token="AbC123", server="acme/main", note="a b")
    )
    assert line == 'INFO delivered message_token=AbC123 note="a b" server=acme/main'
    assert formatter.format(_record("plain")) == "INFO plain"


@pytest.fixture
def udp_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_gelf_over_udp(udp_listener):
    handler = GelfUdpHandler("127.0.0.1", udp_listener.getsockname()[1], facility="mail")
    try:
        handler.emit(_record("sent\nsecond line", message_token="Tok", attempts=2))
        document = json.loads(udp_listener.recv(65536))
    finally:
        handler.close()
    assert document["version"] == "1.1"
    assert document["short_message"] == "sent"
    assert document["full_message"] == "sent\nsecond line"
    assert document["level"] == 6
    assert document["_facility"] == "mail"
    assert document["_message_token"] == "Tok" and document["_attempts"] == 2


def test_huge_messages_still_fit_one_datagram(udp_listener):
    handler = GelfUdpHandler("127.0.0.1", udp_listener.getsockname()[1])
    try:
        handler.emit(_record("x" * 100_000))
        data = udp_listener.recv(65536)
    finally:
        handler.close()
    assert len(data) <= 8192
    assert json.loads(data)["short_message"] == "x" * 250


def test_configure_logging_adds_gelf_once(udp_listener):
    root = logging.getLogger()
    settings = {"gelf.host": "127.0.0.1", "gelf.port": udp_listener.getsockname()[1],
                "gelf.facility": "postal"}  # fmt: skip
    try:
        configure_logging(settings)
        configure_logging(settings)
        assert sum(isinstance(h, GelfUdpHandler) for h in root.handlers) == 1
        logging.getLogger("postal.test").warning("through the root logger")
        assert json.loads(udp_listener.recv(65536))["short_message"] == "through the root logger"
    finally:
        for handler in [h for h in root.handlers if isinstance(h, GelfUdpHandler)]:
            root.removeHandler(handler)
            handler.close()
