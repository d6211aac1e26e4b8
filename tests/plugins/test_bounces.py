"""The built-in bounce detector on the shapes bounces come in."""

from __future__ import annotations

import datetime as dt

import pytest

from plugins.bounces import postal_detect_bounce, read_report
from postal.types import IncomingMessage


def message(raw: bytes) -> IncomingMessage:
    return IncomingMessage(
        id=1, token="t" * 16, server_id=1, server_token="abcdef", scope="incoming",
        mail_from="", rcpt_to="abcdef@rp.test", raw=raw, timestamp=dt.datetime.now(dt.UTC),
        bounce=True,
    )  # fmt: skip


EXIM = (
    b"From: Mail Delivery System <Mailer-Daemon@mx.other.test>\r\n"
    b"Subject: Mail delivery failed: returning message to sender\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=1234-X\r\n\r\n"
    b"--1234-X\r\nContent-type: text/plain; charset=us-ascii\r\n\r\n"
    b"This message was created automatically by mail delivery software.\r\n\r\n"
    b"--1234-X\r\nContent-type: message/delivery-status\r\n\r\n"
    b"Reporting-MTA: dns; mx.other.test\r\n\r\n"
    b"Action: failed\r\nFinal-Recipient: rfc822;Carol@Other.test\r\nStatus: 5.0.0\r\n"
    b"Remote-MTA: dns; inbox.other.test\r\n"
    b"Diagnostic-Code: smtp; 550 mailbox unavailable\r\n\r\n"
    b"--1234-X\r\nContent-type: message/rfc822\r\n\r\n"
    b"X-Postal-MsgID: AbCdEfGh12345678\r\nMessage-ID: <orig-1@example.com>\r\n"
    b"From: alice@example.com\r\nTo: Carol@Other.test\r\nSubject: Hi\r\n\r\nHello\r\n"
    b"--1234-X--\r\n"
)


def test_hook_postal_detect_bounce():
    info = postal_detect_bounce(message(EXIM))
    assert info.tokens == ("AbCdEfGh12345678",)
    assert info.message_ids == ("orig-1@example.com",)
    assert (info.recipient, info.status, info.hard) == ("Carol@Other.test", "5.0.0", True)
    assert info.diagnostic == "550 mailbox unavailable"


def test_a_text_bounce_quoting_the_header_is_found_by_token():
    raw = (
        b"From: postmaster@old.test\r\nSubject: failure notice\r\n\r\n"
        b"Hi. This is the qmail-send program. Sorry, no mailbox here by that name.\r\n\r\n"
        b"--- Below this line is a copy of the message.\r\n\r\n"
        b"x-postal-msgid:   ZZZZyyyyXXXXwwww\r\nSubject: Hi\r\n"
    )
    info = postal_detect_bounce(message(raw))
    assert info.tokens == ("ZZZZyyyyXXXXwwww",) and info.hard
    assert info.recipient is None and info.message_ids == ()


def test_an_auto_reply_is_not_a_bounce():
    raw = (
        b"From: bob@example.net\r\nSubject: Out of office\r\n"
        b"Auto-Submitted: auto-replied\r\n\r\nAway.\r\n"
    )
    assert postal_detect_bounce(message(raw)) is None


@pytest.mark.parametrize(
    "action, status, hard", [("failed", "5.1.1", True), ("delayed", "4.4.7", False),
                             ("failed", None, True), ("", "4.2.2", False)],
)  # fmt: skip
def test_hard_or_soft(action, status, hard):
    lines = [b"Final-Recipient: rfc822; x@y.test"]
    if action:
        lines.append(b"Action: " + action.encode())
    if status:
        lines.append(b"Status: " + status.encode())
    raw = (
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; m\r\n\r\n"
        + b"\r\n".join(lines) + b"\r\n\r\n--b--\r\n"
    )  # fmt: skip
    assert read_report(raw)["hard"] is hard


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"Content-Type: multipart/report; boundary=\r\n\r\n--\r\n",
        b'Content-Type: multipart/report; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: message/delivery-status\r\n\r\n\r\n--b--",
        b'Content-Type: multipart/report; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!!\r\n--b--",
    ],
)
def test_broken_reports_are_not_errors(raw):
    assert postal_detect_bounce(message(raw)) is None
