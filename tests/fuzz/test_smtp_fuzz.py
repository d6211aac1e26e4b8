"""Hostile SMTP clients against the real SMTP process.

Hypothesis builds whole sessions out of plausible commands, random text, raw bytes (NUL,
8-bit), overlong lines, bare LF line ends and message bodies, and sends each either
pipelined in one write or dribbled in random pieces, then a trailer that ends any state the
session can be left in (``CRLF . CRLF`` ends a DATA section or is two refused commands) and
``QUIT``; replies are read to the end of the stream, so no timing guess decides where a reply
ends.  For every session: each reply line follows the SMTP reply grammar and ends in CRLF,
the server answers a fresh client afterwards, and messages are stored for exactly the
transactions the server accepted (none for refused ones).
"""

from __future__ import annotations

import base64
import re
import socket
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from postal.models import Message
from tests.fixtures.smtp_server import LineClient


pytestmark = pytest.mark.functional

# Ends DATA, an AUTH prompt or a line left without its ending; then closes the session.
TRAILER = b"\r\n.\r\nQUIT\r\n"
REPLY_LINE = re.compile(rb"^[2-5][0-9][0-9][ -]")
FUZZ_SETTINGS = settings(
    max_examples=30,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def fuzz_target(smtp_server_factory, smtp_data):
    """A server accepting mail for ``in.test``, and an SMTP credential for AUTH PLAIN."""
    process = smtp_server_factory()
    server = smtp_data.server()
    smtp_data.route(server, "*", smtp_data.domain("in.test", server=server), mode="Accept")
    smtp_data.domain("example.com", server=server)
    credential = smtp_data.credential(server)
    username = f"{server.organization.permalink}/{server.permalink}"
    plain = base64.b64encode(f"\0{username}\0{credential.key}".encode()).decode()
    return process, plain


def _commands(plain_auth: str):
    known = [
        "EHLO fuzz.test",
        "HELO fuzz.test",
        "MAIL FROM:<a@remote.test>",
        "MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME",
        "MAIL FROM:<>",
        "RCPT TO:<x@in.test>",
        "RCPT TO:<victim@far.test>",
        "RCPT TO:<victim%far.test@in.test>",
        "RCPT TO:<@in.test:victim@far.test>",
        "RCPT TO:<victim@far.test@in.test>",
        "RCPT TO:<victim@[127.0.0.1]>",
        "DATA",
        "RSET",
        "NOOP",
        "VRFY root",
        "AUTH LOGIN",
        "AUTH CRAM-MD5",
        "AUTH PLAIN",
        "AUTH PLAIN AGFiYwBkZWY=",
        f"AUTH PLAIN {plain_auth}",
        "AUTH PLAIN !!notbase64!!",
        "*",
        ".",
        "",
    ]
    return st.sampled_from(known).map(str.encode)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80).map(
    lambda value: value.encode("utf-8")
)
_raw = st.binary(max_size=120)
_overlong = st.integers(600, 70_000).map(lambda size: b"X" * size)
_body = st.binary(max_size=400).map(lambda data: data.replace(b"\r\n.\r\n", b"\r\n..\r\n"))
_ending = st.sampled_from([b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b""])


def _line(plain_auth: str):
    content = st.one_of(_commands(plain_auth), _text, _raw, _overlong)
    return st.tuples(content, _ending).map(lambda pair: pair[0] + pair[1])


def _message(plain_auth: str):
    """A well-formed transaction with a random body, so the DATA path is fuzzed too."""
    head = b"EHLO fuzz.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<x@in.test>\r\nDATA\r\n"
    return _body.map(lambda body: head + body + b"\r\n.\r\n")


def sessions(plain_auth: str):
    piece = st.one_of(_line(plain_auth), _message(plain_auth))
    return st.tuples(st.lists(piece, min_size=1, max_size=12), st.booleans(), st.randoms())


def converse(port: int, payload: bytes, dribble: bool, rng) -> bytes:
    """Send ``payload`` (at once, or in random pieces), read to EOF.  The payload ends with
    ``QUIT``: a half-close instead would make aiosmtpd cancel the session (see
    ``test_half_close_after_data_still_gets_its_reply``)."""
    received = bytearray()
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        reader = threading.Thread(target=_read_all, args=(sock, received), daemon=True)
        reader.start()
        try:
            if dribble:
                offset = 0
                while offset < len(payload):
                    size = rng.randint(1, 4096)
                    sock.sendall(payload[offset : offset + size])
                    offset += size
            else:
                sock.sendall(payload)
        except OSError:
            pass  # the server may close first (STARTTLS); its replies are still read
        reader.join(timeout=20)
        assert not reader.is_alive(), "the server never answered QUIT"
    return bytes(received)


def _read_all(sock, received: bytearray) -> None:
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except OSError:
        pass


def reply_lines(received: bytes) -> list[bytes]:
    """Every reply line, after checking each one ends in CRLF and follows the grammar."""
    assert received.endswith(b"\r\n"), f"unterminated reply: {received[-200:]!r}"
    lines = received[:-2].split(b"\r\n")
    for line in lines:
        assert REPLY_LINE.match(line), f"not an SMTP reply line: {line[:200]!r}"
    return lines


def accepted_transactions(lines: list[bytes]) -> int:
    """How many DATA sections the server answered with 2xx (the reply after each 354)."""
    finals = [line for line in lines if line[3:4] == b" "]
    return sum(
        1
        for before, after in zip(finals, finals[1:], strict=False)
        if before.startswith(b"354") and after.startswith(b"2")
    )


def stored_messages(dbengine) -> int:
    with dbengine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Message))


def assert_serves_fresh_client(port: int) -> None:
    client = LineClient(port)
    try:
        assert client.reply().startswith("220 ")
        assert client.cmd("EHLO after.test").startswith("250-")
        assert client.cmd("QUIT") == "221 Closing Connection"
    finally:
        client.close()


def test_hostile_sessions_get_valid_replies_and_store_only_accepted_mail(fuzz_target, dbengine):
    process, plain = fuzz_target

    @FUZZ_SETTINGS
    @given(sessions(plain))
    def session(case):
        pieces, dribble, rng = case
        before = stored_messages(dbengine)
        received = converse(process.port, b"".join(pieces) + TRAILER, dribble, rng)
        lines = reply_lines(received)
        assert lines[0].startswith(b"220 ")
        accepted = accepted_transactions(lines)
        stored = stored_messages(dbengine) - before
        if accepted == 0:
            assert stored == 0, f"{stored} stored for refused transactions: {lines}"
        else:
            assert stored >= accepted
        assert_serves_fresh_client(process.port)

    session()


def test_slow_clients_do_not_hold_up_others(fuzz_target, dbengine):
    """Clients dribbling a byte at a time (in a command, and in DATA) while another client
    runs whole transactions: the fast one is served promptly, the slow ones correctly."""
    process, _plain = fuzz_target
    slow_payloads = [
        b"EHLO slow.test\r\nNOOP\r\n",
        b"EHLO slow.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<x@in.test>\r\nDATA\r\n"
        b"Subject: slow\r\n\r\nbody\r\n.\r\n",
    ]
    results = {}

    def dribble(index, payload):
        with socket.create_connection(("127.0.0.1", process.port), timeout=30) as sock:
            received = bytearray()
            reader = threading.Thread(target=_read_all, args=(sock, received), daemon=True)
            reader.start()
            for byte in payload + b"QUIT\r\n":
                sock.sendall(bytes([byte]))
                time.sleep(0.01)
            reader.join(timeout=20)
            results[index] = bytes(received)

    threads = [
        threading.Thread(target=dribble, args=(i, p), daemon=True)
        for i, p in enumerate(slow_payloads)
    ]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    for _ in range(5):
        message = b"Subject: fast\r\n\r\nhello\r\n"
        head = b"EHLO fast.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<x@in.test>\r\nDATA\r\n"
        payload = head + message + b".\r\nQUIT\r\n"
        lines = reply_lines(converse(process.port, payload, False, None))
        assert accepted_transactions(lines) == 1
    # A bound, not a speed target: a server that served one client at a time would wait
    # for the dribbling clients' whole sessions per fast transaction.
    assert time.monotonic() - started < 30, "fast clients waited on slow ones"
    for thread in threads:
        thread.join(timeout=30)
    assert accepted_transactions(reply_lines(results[1])) == 1
    assert reply_lines(results[0])[-2:] == [b"250 OK", b"221 Closing Connection"]
    assert stored_messages(dbengine) == 6


def test_half_close_after_data_still_gets_its_reply(fuzz_target, dbengine):
    """A client may pipeline a whole transaction and half-close its side (shutdown(SHUT_WR));
    the replies it is owed should still arrive, above all the one for a stored message."""
    process, _plain = fuzz_target
    # The server answers everything it was sent, then closes (no waiting for its timeout).
    with socket.create_connection(("127.0.0.1", process.port), timeout=5) as sock:
        sock.sendall(
            b"EHLO half.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<x@in.test>\r\n"
            b"DATA\r\nSubject: half\r\n\r\nbody\r\n.\r\n"
        )
        sock.shutdown(socket.SHUT_WR)
        received = bytearray()
        _read_all(sock, received)
    assert accepted_transactions(reply_lines(bytes(received))) == 1
