"""Hostile MIME through the incoming pipeline, and through every MIME-reading function.

Hypothesis builds messages out of headers of every sort (encoded words with unknown charsets,
8-bit and NUL bytes, folded and overlong lines), nested multiparts with missing, wrong or
duplicated boundaries, bad base64 and quoted-printable, odd attachment names, and plain
garbage.  End to end, each goes over real SMTP to a route with an HTTP endpoint (a real
receiver on 127.0.0.1) and the worker runs to idle: every stored message must end Sent (or
Held/HardFail/Bounced with a reason), never stay queued, never carry the internal-error
text of a crashed job, and the worker logs no exception.  The pure readers (header lookup,
the UI's parser and attachments, the header summary, the endpoint payload parser, the
tracking rewrite) get more examples directly: each returns or refuses cleanly.
"""

from __future__ import annotations

import logging
import smtplib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.endpoints.mime import parse as endpoint_parse
from plugins.tracking.rewrite import Tracker, rewrite_message
from postal.headers import header_values, last_header
from postal.messages import summarise_headers
from postal.web.mail_view import attachment, parse_mail
from postal.worker.outgoing import INTERNAL_ERROR
from tests.fixtures.receiving import SENDER


pytestmark = pytest.mark.functional

UNSHARED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
FINAL = {"Sent", "Held", "HardFail", "Bounced"}
_ascii = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
_any_bytes = st.binary(max_size=60)
_header_value = st.one_of(
    _ascii.map(str.encode),
    _any_bytes.map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.tuples(st.sampled_from(["utf-8", "x-unknown", "iso-8859-1", "", "utf-7"]),
              st.sampled_from(["q", "b", "Q", "x"]), _ascii).map(
        lambda t: f"=?{t[0]}?{t[1]}?{t[2]}?=".encode()),
    st.integers(990, 5000).map(lambda n: b"a" * n),
    st.just(b"value\r\n folded\r\n\tagain"),
)  # fmt: skip
_header_name = st.sampled_from(
    [b"Subject", b"From", b"To", b"Cc", b"Reply-To", b"Date", b"Message-ID", b"In-Reply-To",
     b"References", b"Content-Type", b"Content-Transfer-Encoding", b"Content-Disposition",
     b"Auto-Submitted", b"X-Postal-MsgID", b"X-Odd"]
)  # fmt: skip
_headers = st.lists(st.tuples(_header_name, _header_value), max_size=8).map(
    lambda pairs: b"".join(name + b": " + value + b"\r\n" for name, value in pairs)
)
_content_type = st.sampled_from(
    [b"text/plain", b"text/plain; charset=x-unknown", b"text/html; charset=utf-8",
     b"application/octet-stream; name=\"..\\\\x.exe\"", b"message/rfc822", b"text/html",
     b"multipart/alternative", b"image/png", b""]
)  # fmt: skip
_encoding = st.sampled_from([b"base64", b"quoted-printable", b"7bit", b"8bit", b"x-uue", b""])
_body = st.one_of(
    _any_bytes,
    _ascii.map(str.encode),
    st.just(b'<html><a href="http://example.com/x">x</a><img src="http://e.com/i.png">'),
    st.just(b"=ZZ=\r\n=\r\n==3D"),
    st.just(b"!!!not base64!!!"),
)


def _part(depth: int):
    leaf = st.tuples(_content_type, _encoding, _body, st.booleans()).map(
        lambda t: b"Content-Type: " + t[0] + b"\r\nContent-Transfer-Encoding: " + t[1]
        + (b'\r\nContent-Disposition: attachment; filename="=?x?q?a?=/../b"' if t[3] else b"")
        + b"\r\n\r\n" + t[2]
    )  # fmt: skip
    if depth == 0:
        return leaf
    return st.one_of(leaf, _multipart(depth - 1))


def _multipart(depth: int):
    def join(args):
        boundary, parts, closed, declared = args
        lines = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
        end = b"--" + boundary + b"--\r\n" if closed else b""
        header = b'Content-Type: multipart/mixed; boundary="' + declared + b'"\r\n\r\n'
        return header + b"preamble\r\n" + lines + end

    boundary = st.sampled_from([b"XX", b"a b", b"", b"--", b"=_x" * 30])
    return st.tuples(boundary, st.lists(_part(depth), max_size=4), st.booleans(), boundary).map(
        join
    )


messages = st.one_of(
    st.tuples(_headers, _part(2)).map(lambda t: t[0] + t[1]),
    st.tuples(_headers, _body).map(lambda t: t[0] + b"\r\n" + t[1]),
    st.binary(max_size=300),
)


def for_smtp(raw: bytes) -> bytes:
    """A message the SMTP server will take: CRLF line ends, a From, and no line that ends
    DATA early (smtplib dot-stuffs; a lone CR or LF would be rewritten by it anyway)."""
    raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
    return f"From: <{SENDER}>\r\nTo: support@in.test\r\n".encode() + raw


@pytest.fixture
def sending_settings(sending_settings):
    """The receiver is on 127.0.0.1, which the SSRF guard refuses unless listed."""
    return {**sending_settings, "postal.allowed_request_destinations": ["127.0.0.1"]}


def test_every_hostile_message_ends_processed_or_failed(receiving, endpoint_receiver, mail_worker,
                                                        caplog):  # fmt: skip
    endpoint = receiving.http_endpoint(endpoint_receiver.url)
    receiving.route(endpoint=endpoint)
    seen = set()

    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=UNSHARED)
    @given(raw=messages)
    def deliver(raw):
        caplog.clear()
        try:
            receiving.send("support@in.test", for_smtp(raw))
        except smtplib.SMTPException:
            return  # refused at the door: nothing stored (tests/fuzz/test_smtp_fuzz.py)
        mail_worker.run_until_idle()
        for message in receiving.messages(scope="incoming"):
            if message.id in seen:
                continue
            seen.add(message.id)
            assert message.status in FINAL, f"message {message.id} left {message.status}"
            deliveries = receiving.deliveries(message.id)
            assert deliveries, f"message {message.id} has no delivery record"
            for delivery in deliveries:
                assert delivery.details, "a delivery without a reason"
                assert INTERNAL_ERROR not in delivery.details, "the job crashed"
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert not errors, [r.getMessage() for r in errors]

    deliver()
    assert seen, "no message got through to the pipeline: the fuzz proved nothing"


@settings(max_examples=200, deadline=None, database=None)
@given(raw=messages, index=st.integers(0, 5))
def test_mime_readers_never_crash(raw, index):
    for name in (b"Subject", "From", b"Content-Type"):
        header_values(raw, name)
        last_header(raw, name)
    summarise_headers(raw)
    parsed = parse_mail(raw)
    assert parsed is not None
    found = attachment(raw, index)
    assert found is None or isinstance(found[1], bytes)
    endpoint_parse(raw)
    tracker = Tracker(
        base_url="https://track.example",
        server_token="srv",
        message_token="msg",
        link_token=lambda url: "tok",
    )
    rewritten = rewrite_message(raw, tracker)
    assert rewritten is None or isinstance(rewritten, bytes)
