"""The spamd/clamd exchange when the daemon answers and closes before the request is done."""

from __future__ import annotations

import errno
import socket
import threading

import pytest

from plugins import scanner_socket


@pytest.fixture
def answers_then_closes():
    """A peer on 127.0.0.1 that reads one chunk, answers and closes (as clamd does past its
    StreamMaxLength)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"INSTREAM size limit exceeded. ERROR\0")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    thread.join(10)
    listener.close()


def test_the_answer_is_read_when_the_write_shutdown_finds_the_peer_gone(
    answers_then_closes, monkeypatch
):
    def shutdown(self, how):  # what Linux raises once the peer has reset the connection
        raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")

    monkeypatch.setattr(socket.socket, "shutdown", shutdown)
    reply = scanner_socket.exchange("127.0.0.1", answers_then_closes, [b"zINSTREAM\0"], timeout=5)
    assert reply == b"INSTREAM size limit exceeded. ERROR\0"


def test_other_socket_errors_still_raise(answers_then_closes, monkeypatch):
    def shutdown(self, how):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(socket.socket, "shutdown", shutdown)
    with pytest.raises(OSError, match="Bad file descriptor"):
        scanner_socket.exchange("127.0.0.1", answers_then_closes, [b"zINSTREAM\0"], timeout=5)
