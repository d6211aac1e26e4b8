"""Routed mail over real SMTP to an HTTP endpoint: the SMTP server, the worker and the
built-in HTTP endpoint plugin posting to a real HTTP receiver on 127.0.0.1, in every
encoding and format, and each kind of answer."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl

import pytest

from tests.fixtures.receiving import SENDER


pytestmark = pytest.mark.functional

HASH_KEYS = [
    "id", "rcpt_to", "mail_from", "token", "subject", "message_id", "timestamp", "size",
    "spam_status", "bounce", "received_with_ssl", "to", "cc", "from", "date", "in_reply_to",
    "references", "html_body", "attachment_quantity", "auto_submitted", "reply_to",
    "plain_body",
]  # fmt: skip

MAIL = (
    f"From: Sender <{SENDER}>\r\nTo: support@in.test\r\nCc: other@in.test\r\n"
    "Subject: =?utf-8?q?Caf=C3=A9?=\r\nMessage-ID: <abc@example.net>\r\n"
    "Reply-To: replies@example.net\r\nMIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
    "--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Thanks, that works.\r\n\r\nOn Mon, 1 Jan 2026 at 10:00, Bob <bob@in.test> wrote:\r\n"
    "> Does it work?\r\n\r\n"
    "--XX\r\nContent-Type: application/octet-stream\r\n"
    'Content-Disposition: attachment; filename="data.bin"\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(b"\x00\x01binary").decode()
    + "\r\n--XX--\r\n"
)  # fmt: skip


@pytest.fixture
def sending_settings(sending_settings):
    """The receiver is on 127.0.0.1, which the SSRF guard refuses unless listed."""
    return {**sending_settings, "postal.allowed_request_destinations": ["127.0.0.1"]}


@pytest.fixture
def routed(receiving, endpoint_receiver):
    def routed(**options):
        endpoint = receiving.http_endpoint(endpoint_receiver.url, **options)
        receiving.route(endpoint=endpoint)
        return endpoint

    return routed


def body_of(request) -> dict:
    if request.headers["Content-Type"] == "application/json":
        return json.loads(request.body)
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


@pytest.mark.parametrize("encoding", ["BodyAsJSON", "FormData"])
def test_hash_payload(receiving, routed, mail_worker, endpoint_receiver, encoding):
    routed(encoding=encoding, strip_replies=True)
    receiving.send("support@in.test", MAIL)
    mail_worker.run_until_idle()
    (message,) = receiving.messages(scope="incoming")
    assert message.status == "Sent"
    (request,) = endpoint_receiver.requests
    assert "X-Postal-Signature-256" in request.headers
    payload = body_of(request)
    if encoding == "BodyAsJSON":
        assert list(payload) == [*HASH_KEYS, "replies_from_plain_body", "attachments"]
        (attachment,) = payload["attachments"]
        assert attachment["filename"] == "data.bin"
        assert base64.b64decode(attachment["data"]) == b"\x00\x01binary"
        assert payload["id"] == message.id and payload["bounce"] is False
        assert payload["reply_to"] == ["replies@example.net"]
        # Postal's size counts the X-Postal-Spam headers it adds to the stored message.
        assert int(payload["size"]) == message.size + 96
    else:
        assert payload["id"] == str(message.id) and payload["bounce"] == "false"
        assert payload["attachments[0][filename]"] == "data.bin"
        data = base64.b64decode(payload["attachments[0][data]"])
        assert data == b"\x00\x01binary"
    assert payload["rcpt_to"] == "support@in.test" and payload["mail_from"] == SENDER
    assert payload["token"] == message.token and payload["subject"] == "Café"
    assert payload["spam_status"] == "NotSpam" and payload["message_id"] == "abc@example.net"
    assert payload["plain_body"].strip() == "Thanks, that works."
    assert "Does it work?" in payload["replies_from_plain_body"]


@pytest.mark.parametrize("encoding", ["BodyAsJSON", "FormData"])
def test_raw_message_payload(receiving, routed, mail_worker, endpoint_receiver, encoding):
    routed(encoding=encoding, format="RawMessage")
    receiving.send("support@in.test", MAIL)
    mail_worker.run_until_idle()
    (message,) = receiving.messages(scope="incoming")
    payload = body_of(endpoint_receiver.requests[0])
    assert sorted(payload) == ["base64", "id", "mail_from", "message", "rcpt_to", "size"]
    raw = base64.b64decode(payload["message"])
    assert raw.startswith(b"X-Postal-Spam: no\r\n") and b"Subject: =?utf-8?q?Caf" in raw
    assert str(payload["size"]) == str(len(raw))
    assert str(payload["id"]) == str(message.id)


@pytest.mark.parametrize(
    "status, outcome, bounced",
    [(500, "SoftFail", False), (429, "HardFail", False), (404, "HardFail", True)],
)
def test_answers(
    receiving, routed, mail_worker, endpoint_receiver, smtp_sink, status, outcome, bounced
):
    endpoint_receiver.statuses = [status]
    routed()
    receiving.send("support@in.test", MAIL)
    mail_worker.run_until_idle()
    (message,) = receiving.messages(scope="incoming")
    (delivery,) = receiving.deliveries(message.id)
    assert delivery.status == outcome
    assert delivery.details.startswith(f"Received a {status} from {endpoint_receiver.url}")
    assert bool(receiving.messages(scope="outgoing")) is bounced
    assert bool(smtp_sink.messages) is bounced
