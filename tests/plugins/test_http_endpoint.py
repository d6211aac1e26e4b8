"""HTTP endpoints against a real HTTP server on 127.0.0.1: the exact payloads of every
encoding and format, basic auth, signatures, Postal's outcome for each kind of answer, the
SSRF guard, and broken MIME that must still be delivered."""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import socket
import threading
import time
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from pyramid import testing

from plugins.endpoints import http as http_endpoint
from postal import __version__
from postal.plugins import get_plugin_manager
from postal.settings import load_settings
from postal.signing import signing_key
from postal.types import EndpointInfo, IncomingMessage


PNG = bytes(range(256)) * 3  # binary, every byte value, more than one base64 line
PLAIN = "Hallö there\n\nOn Tue, 1 Dec 2026 at 10:00, Bob <bob@example.org> wrote:\n> earlier\n"
HTML = "<p>Hallö there</p>\n"
RAW = (
    b"X-Postal-Spam: no\r\nX-Postal-Spam-Threshold: 5.0\r\nX-Postal-Spam-Score: 0.0\r\n"
    b"X-Postal-Threat: no\r\n"
    b"From: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <joerg@example.com>\r\n"
    b"To: Inbox <inbox@example.org>\r\nCc: cc@example.org\r\n"
    b"Subject: =?utf-8?b?R3LDvMOfZQ==?= from\r\n the app\r\n"
    b"Date: Wed, 02 Dec 2026 05:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\n"
    b"In-Reply-To: <m0@example.org>\r\nReferences: <a@x>\r\n <m0@example.org>\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"Reply-To: one@example.com\r\nReply-To: two@example.com\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    b'--outer\r\nContent-Type: multipart/alternative; boundary="inner"\r\n\r\n'
    b"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"Hall=C3=B6 there\r\n\r\nOn Tue, 1 Dec 2026 at 10:00, Bob <bob@example.org> wrote:\r\n"
    b"> earlier\r\n\r\n"
    b"--inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p>Hall\xc3\xb6 there</p>\r\n\r\n--inner--\r\n"
    b"--outer\r\nContent-Type: image/png; name=logo.png\r\n"
    b"Content-Disposition: attachment; filename=logo.png\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(PNG).replace(b"\n", b"\r\n")
    + b"--outer\r\nContent-Type: text/plain; name*=utf-8''r%C3%A9sum%C3%A9.txt\r\n"
    b"Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.txt\r\n\r\n"
    b"plain attachment\r\n--outer--\r\n"
)
TIMESTAMP = dt.datetime(2026, 12, 2, 5, 0, 0, 123456)  # stored naive, in UTC

HASH_FIELDS = {
    "id": 42,
    "rcpt_to": "inbox@example.org",
    "mail_from": "joerg@example.com",
    "token": "AbCdEf123456",
    "subject": "Grüße from the app",
    "message_id": "m1@example.com",
    "timestamp": 1796187600.123456,
    "size": str(len(RAW)),
    "spam_status": "NotSpam",
    "bounce": False,
    "received_with_ssl": True,
    "to": "Inbox <inbox@example.org>",
    "cc": "cc@example.org",
    "from": "Jörg Müller <joerg@example.com>",
    "date": "Wed, 02 Dec 2026 05:00:00 +0000",
    "in_reply_to": "<m0@example.org>",
    "references": "<a@x> <m0@example.org>",
    "html_body": HTML,
    "attachment_quantity": 2,
    "auto_submitted": "auto-replied",
    "reply_to": ["one@example.com", "two@example.com"],
    "plain_body": PLAIN,
}


def ruby_base64(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


ATTACHMENTS = [
    {"filename": "logo.png", "content_type": "image/png", "size": len(PNG),
     "data": ruby_base64(PNG)},
    {"filename": "résumé.txt", "content_type": "text/plain", "size": 16,
     "data": ruby_base64(b"plain attachment")},
]  # fmt: skip


def incoming(raw: bytes = RAW, **changes) -> IncomingMessage:
    fields = {
        "id": 42, "token": "AbCdEf123456", "server_id": 1, "server_token": "srvtok",
        "scope": "incoming", "mail_from": "joerg@example.com", "rcpt_to": "inbox@example.org",
        "raw": raw, "timestamp": TIMESTAMP, "route": "inbox@example.org",
        "received_with_ssl": True, "spam_status": "NotSpam",
    }  # fmt: skip
    fields.update(changes)
    return IncomingMessage(**fields)


def endpoint(url: str, **options) -> EndpointInfo:
    defaults = {"encoding": "BodyAsJSON", "format": "Hash", "strip_replies": False,
                "include_attachments": True, "timeout": 5}  # fmt: skip
    return EndpointInfo(
        type="HTTPEndpoint", id=7, uuid="e-uuid", name="app", server_id=1,
        options={**defaults, **options, "url": url},
    )  # fmt: skip


@pytest.fixture
def settings(tmp_path):
    return load_settings(
        {
            "postal.signing_key_path": str(tmp_path / "signing.key"),
            "postal.allowed_request_destinations": "127.0.0.1",
        },
        environ={},
    )


@pytest.fixture
def deliver(settings):
    def deliver(message, info):
        return http_endpoint.deliver(message, info.options, settings)

    return deliver


def only_request(receiver):
    assert len(receiver.requests) == 1
    return receiver.requests[0]


def test_hook_postal_deliver_to_endpoint(settings, endpoint_receiver):
    hooks = get_plugin_manager(settings, "web").hook
    implementations = hooks.postal_deliver_to_endpoint.get_hookimpls()
    assert http_endpoint in [impl.plugin for impl in implementations]  # by entry point
    testing.setUp(settings=settings)
    try:
        result = hooks.postal_deliver_to_endpoint(
            message=incoming(), endpoint=endpoint(endpoint_receiver.url)
        )
    finally:
        testing.tearDown()
    assert (result.status, result.details, result.output) == (
        "Sent", f"Received a 200 from {endpoint_receiver.url}", "OK",
    )  # fmt: skip
    assert result.sent_with_ssl is False and result.time is not None
    request = only_request(endpoint_receiver)
    assert request.path == "/incoming/mail?app=1"
    assert json.loads(request.body)["id"] == 42
    # Other endpoint types are left to their own plugins.
    other = EndpointInfo(type="SMTPEndpoint", id=1, uuid="u", name="n", server_id=1)
    assert http_endpoint.postal_deliver_to_endpoint(incoming(), other) is None


def test_json_hash_payload_is_postals_field_for_field(deliver, endpoint_receiver):
    assert deliver(incoming(), endpoint(endpoint_receiver.url)).status == "Sent"
    request = only_request(endpoint_receiver)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"Postal/{__version__}"
    payload = json.loads(request.body)
    assert list(payload) == [*HASH_FIELDS, "attachments"]
    assert payload == {**HASH_FIELDS, "attachments": ATTACHMENTS}
    assert [base64.b64decode(a["data"]) for a in payload["attachments"]] == [
        PNG, b"plain attachment",
    ]  # fmt: skip


def test_json_raw_message_payload(deliver, endpoint_receiver):
    deliver(incoming(), endpoint(endpoint_receiver.url, format="RawMessage"))
    payload = json.loads(only_request(endpoint_receiver).body)
    assert payload == {
        "id": 42, "rcpt_to": "inbox@example.org", "mail_from": "joerg@example.com",
        "message": ruby_base64(RAW), "base64": True, "size": len(RAW),
    }  # fmt: skip
    assert list(payload) == ["id", "rcpt_to", "mail_from", "message", "base64", "size"]
    assert base64.b64decode(payload["message"]) == RAW


def form_fields(value) -> list[tuple[str, str]]:
    return [(key, str(value)) for key, value in value]


def test_form_data_hash_payload_flattens_as_postal_does(deliver, endpoint_receiver):
    message = incoming(raw=RAW.replace(b"Cc: cc@example.org\r\n", b""))
    deliver(message, endpoint(endpoint_receiver.url, encoding="FormData"))
    request = only_request(endpoint_receiver)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    body = request.body.decode("ascii")
    # null is the bare key, booleans are words, a list repeats its key, [ and ] are escaped.
    assert "&cc&" in body and "&bounce=false&received_with_ssl=true&" in body
    assert "&reply_to=one%40example.com&reply_to=two%40example.com&" in body
    assert "&attachments%5B0%5D%5Bfilename%5D=logo.png&" in body
    expected = {**HASH_FIELDS, "cc": "", "size": str(len(message.raw))}
    expected.pop("reply_to")
    expected_pairs = [(k, _form_text(v)) for k, v in expected.items()]
    expected_pairs.insert(20, ("reply_to", "one@example.com"))
    expected_pairs.insert(21, ("reply_to", "two@example.com"))
    for i, (name, mime_type) in enumerate(
        [("logo.png", "image/png; name=logo.png"), ("résumé.txt", "text/plain; name=résumé.txt")]
    ):
        attachment = ATTACHMENTS[i]
        expected_pairs += [
            (f"attachments[{i}][filename]", name),
            (f"attachments[{i}][content_type]", mime_type),
            (f"attachments[{i}][size]", str(attachment["size"])),
            (f"attachments[{i}][data]", attachment["data"]),
        ]
    assert parse_qsl(body, keep_blank_values=True) == expected_pairs
    assert base64.b64decode(dict(parse_qsl(body))["attachments[0][data]"]) == PNG


def _form_text(value) -> str:
    return {True: "true", False: "false"}.get(value, str(value)) if value is not None else ""


def test_form_data_raw_message_payload(deliver, endpoint_receiver):
    deliver(incoming(), endpoint(endpoint_receiver.url, encoding="FormData", format="RawMessage"))
    pairs = parse_qsl(only_request(endpoint_receiver).body.decode("ascii"), strict_parsing=True)
    assert pairs == [
        ("id", "42"), ("rcpt_to", "inbox@example.org"), ("mail_from", "joerg@example.com"),
        ("message", ruby_base64(RAW)), ("base64", "true"), ("size", str(len(RAW))),
    ]  # fmt: skip


@pytest.mark.parametrize("encoding", ["BodyAsJSON", "FormData"])
def test_without_include_attachments_only_the_count_is_sent(deliver, endpoint_receiver, encoding):
    deliver(incoming(), endpoint(endpoint_receiver.url, encoding=encoding,
                                 include_attachments=False))  # fmt: skip
    body = only_request(endpoint_receiver).body
    if encoding == "BodyAsJSON":
        payload = json.loads(body)
        assert payload == HASH_FIELDS
    else:
        payload = dict(parse_qsl(body.decode("ascii")))
        assert not [key for key in payload if key.startswith("attachments")]
    assert str(payload["attachment_quantity"]) == "2"


@pytest.mark.parametrize("encoding", ["BodyAsJSON", "FormData"])
def test_strip_replies_splits_the_plain_body(deliver, endpoint_receiver, encoding):
    deliver(incoming(), endpoint(endpoint_receiver.url, encoding=encoding, strip_replies=True))
    body = only_request(endpoint_receiver).body
    payload = json.loads(body) if encoding == "BodyAsJSON" else dict(parse_qsl(body.decode()))
    assert payload["plain_body"] == "Hallö there"
    assert payload["replies_from_plain_body"] == (
        "On Tue, 1 Dec 2026 at 10:00, Bob <bob@example.org> wrote:\n> earlier"
    )
    keys = list(payload)
    assert keys.index("replies_from_plain_body") == keys.index("plain_body") + 1


def test_url_user_info_becomes_basic_auth(deliver, endpoint_receiver):
    url = endpoint_receiver.url.replace("http://", "http://app%40user:s%3Acret@")
    result = deliver(incoming(), endpoint(url))
    request = only_request(endpoint_receiver)
    expected = base64.b64encode(b"app@user:s:cret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.path == "/incoming/mail?app=1"
    assert result.details == f"Received a 200 from {endpoint_receiver.url}"
    assert "cret" not in result.details


def test_signature_verifies_with_the_installation_key(settings, deliver, endpoint_receiver):
    deliver(incoming(), endpoint(endpoint_receiver.url))
    request = only_request(endpoint_receiver)
    pem = open(settings["postal.signing_key_path"], "rb").read()
    public_key = serialization.load_pem_private_key(pem, password=None).public_key()
    sha256 = base64.b64decode(request.headers["X-Postal-Signature-256"], validate=True)
    public_key.verify(sha256, request.body, padding.PKCS1v15(), hashes.SHA256())
    sha1 = base64.b64decode(request.headers["X-Postal-Signature"], validate=True)
    public_key.verify(sha1, request.body, padding.PKCS1v15(), hashes.SHA1())
    assert request.headers["X-Postal-Signature-KID"] == signing_key(settings).key_id()


@pytest.mark.parametrize(
    ("status", "outcome", "suppress_bounce"),
    [(200, "Sent", False), (204, "Sent", False), (500, "SoftFail", False),
     (503, "SoftFail", False), (429, "HardFail", True), (404, "HardFail", False),
     (302, "HardFail", False), (400, "HardFail", False)],
)  # fmt: skip
def test_each_answer_gets_postals_outcome(
    deliver, endpoint_receiver, status, outcome, suppress_bounce
):
    endpoint_receiver.statuses = [status]
    endpoint_receiver.response_body = b"  " + b"x" * 600 if status != 204 else b""
    result = deliver(incoming(), endpoint(endpoint_receiver.url))
    assert (result.status, result.suppress_bounce, result.connection_error) == (
        outcome, suppress_bounce, False,
    )  # fmt: skip
    assert result.details == f"Received a {status} from {endpoint_receiver.url}"
    assert result.output == ("x" * 498 if status != 204 else "")
    assert len(endpoint_receiver.requests) == 1  # a redirect is not followed


def test_a_timeout_is_a_soft_connection_failure(deliver, endpoint_receiver):
    endpoint_receiver.hang = True  # the receiver answers only when the test is over
    result = deliver(incoming(), endpoint(endpoint_receiver.url, timeout=0.3))
    assert (result.status, result.connection_error, result.suppress_bounce) == (
        "SoftFail", True, False,
    )  # fmt: skip
    assert result.details == f"Received a -1 from {endpoint_receiver.url}"
    assert result.output == "Timed out after 0.3s"
    assert len(endpoint_receiver.requests) == 1


@pytest.fixture
def trickling_server():
    """Answers 200 with a 200-byte body, one byte every 50 ms (10 s in all), on 127.0.0.1."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve():
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n")
                for _ in range(200):
                    connection.sendall(b"x")
                    time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    listener.close()
    thread.join(15)


def test_the_timeout_bounds_the_whole_request(deliver, trickling_server):
    started = time.monotonic()
    result = deliver(incoming(), endpoint(trickling_server, timeout=0.5))
    assert (result.status, result.connection_error) == ("SoftFail", True)
    assert result.output == "Timed out after 0.5s"
    assert time.monotonic() - started < 5  # not the 10 s the trickle would take


def test_a_refused_connection_is_a_soft_connection_failure(deliver, closed_port):
    url = f"http://127.0.0.1:{closed_port}/hook"
    result = deliver(incoming(), endpoint(url))
    assert (result.status, result.connection_error) == ("SoftFail", True)
    assert result.details == f"Received a -2 from {url}"
    assert "refused" in result.output.lower()


def test_an_untrusted_certificate_is_a_soft_connection_failure(deliver, tls_receiver):
    result = deliver(incoming(), endpoint(tls_receiver.url))
    assert (result.status, result.connection_error, result.sent_with_ssl) == (
        "SoftFail", True, True,
    )  # fmt: skip
    assert result.details == f"Received a -3 from {tls_receiver.url}"
    assert result.output == "Invalid SSL certificate"
    assert tls_receiver.requests == []


def test_a_private_destination_is_refused(tmp_path, endpoint_receiver):
    settings = load_settings({"postal.signing_key_path": str(tmp_path / "k")}, environ={})
    url = endpoint_receiver.url.replace("http://", "http://user:pw@")
    result = http_endpoint.deliver(incoming(), endpoint(url).options, settings)
    assert result.status == "HardFail" and not result.suppress_bounce
    assert result.details.startswith(f"Refused to send to {endpoint_receiver.url}: ")
    assert "127.0.0.1, a loopback address" in result.details
    assert "pw" not in result.details
    assert endpoint_receiver.requests == []


BROKEN_MESSAGES = [
    b"",
    b"no headers at all, just text\r\n",
    b"Subject: =?utf-8?b?!!notbase64?=\r\nFrom: <<<@@@>>>\r\nTo: ,,,;;\r\n\r\nbody\r\n",
    b'Content-Type: multipart/mixed; boundary="never-used"\r\n\r\nno parts here\r\n',
    b"Content-Type: multipart/mixed\r\n\r\n--\r\n--\r\n",
    b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n\xff\xfe odd\r\n",
    b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n%%%not base64%%%\r\n",
    b"Subject: raw 8-bit \xe4\xf6\xfc and \xc3\xa9\r\nFrom: J\xc3\xb6rg <j@example.com>\r\n\r\nx",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: image/png; "
    b"name==?utf-8?q?bad?=\r\nContent-Disposition: attachment; filename*=bogus''%%zz\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n--b",
    b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
    + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 60,
    b"\x00\x01\x02\xff" * 200,
]


@pytest.mark.parametrize("raw", BROKEN_MESSAGES, ids=range(len(BROKEN_MESSAGES)))
def test_broken_mime_still_gets_a_payload(deliver, endpoint_receiver, raw):
    result = deliver(incoming(raw=raw), endpoint(endpoint_receiver.url, strip_replies=True))
    assert result.status == "Sent"
    payload = json.loads(only_request(endpoint_receiver).body)
    assert list(payload) == [*HASH_FIELDS, "replies_from_plain_body", "attachments"]
    assert payload["size"] == str(len(raw))
    assert payload["plain_body"] is None or isinstance(payload["plain_body"], str)
    assert payload["attachment_quantity"] == len(payload["attachments"])
