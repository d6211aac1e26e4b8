"""The DATA reader and address parsing, on a real asyncio stream."""

from __future__ import annotations

import asyncio

import pytest

from postal.smtp.addresses import parse_mail_from, parse_rcpt_to
from postal.smtp.data import read_message


def read(chunks, max_size=1000):
    async def run():
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        message = await read_message(reader, max_size)
        return message, await reader.read()

    return asyncio.run(run())


@pytest.mark.parametrize(
    "chunks, message",
    [
        ([b".\r\n"], b""),
        ([b"\r\n.\r\n"], b"\r\n"),
        ([b"a\r\n.\r\n"], b"a\r\n"),
        ([b"a\r", b"\n.", b"\r", b"\n"], b"a\r\n"),
        ([b"..x\r\n..\r\n.\r\n"], b".x\r\n.\r\n"),
        ([b"a\n.\nb\r\n.\r\n"], b"a\n.\nb\r\n"),
    ],
)
def test_read_message(chunks, message):
    assert read(chunks) == (message, b"")


def test_leftover_goes_back_to_the_stream():
    assert read([b"a\r\n.\r\nQUIT\r\n"]) == (b"a\r\n", b"QUIT\r\n")


def test_too_large_is_read_to_the_end():
    assert read([b"x" * 600, b"y" * 600, b"\r\n.\r\nNOOP\r\n"], max_size=1000) == (
        None,
        b"NOOP\r\n",
    )


def test_connection_closed_during_data():
    with pytest.raises(ConnectionResetError):
        read([b"partial"])


def test_addresses():
    assert parse_mail_from("MAIL FROM:<a@b.test> SIZE=10 AUTH=<x>") == ("a@b.test", {"SIZE": "10"})
    assert parse_mail_from("MAIL FROM: <>") == ("", {})
    assert parse_mail_from("mail from:bare@b.test") == ("bare@b.test", {})
    assert parse_rcpt_to("RCPT TO:<A@Example.TEST>") == ("A@example.test", True)
    assert parse_rcpt_to("RCPT TO:<@hop.test:a@b.test>") == ("a@b.test", True)
    assert parse_rcpt_to('RCPT TO:<"a@far.test"@b.test>') == ('"a@far.test"@b.test', True)
    assert parse_rcpt_to("RCPT TO:<a@[127.0.0.1]>")[1] is False
    assert parse_rcpt_to("RCPT TO:<>") == ("", False)
