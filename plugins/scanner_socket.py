"""One request and its reply over TCP, within a deadline: what the spamd and clamd clients share.

Not a plugin itself (no hooks, no entry point): the ``spamassassin`` and ``clamav`` plugins
use it.  Both daemons read a request, answer once and close; :func:`exchange` sends the
request, shuts the write side (spamd reads to EOF), reads the reply to EOF and gives up when
the whole exchange, not each socket call, has taken longer than ``timeout``.  A daemon that
stops reading half-way (clamd past its ``StreamMaxLength``) has usually said why before
closing, so a failed send still reads what it answered.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterable


# Both daemons answer in a few hundred bytes; more than this is not one of them.
MAX_REPLY = 1024 * 1024


# What a send or the write shutdown raises once the peer has closed or reset the connection
# (ENOTCONN: shutting down a socket the peer has already reset).
_PEER_GONE = (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN)


class ReplyTooLong(OSError):
    """The peer sent more than :data:`MAX_REPLY` bytes: not the daemon we expected."""


class _Deadline:
    def __init__(self, timeout: float):
        self.end = time.monotonic() + timeout

    def arm(self, sock: socket.socket) -> None:
        """Give the next socket call whatever time is left, raising once none is."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        sock.settimeout(left)


def exchange(host: str, port: int, request: Iterable[bytes], *, timeout: float) -> bytes:
    """Send every piece of ``request``, then read the reply until the peer closes.

    Raises :class:`TimeoutError` when ``timeout`` seconds pass first, :class:`OSError` for
    a refused or broken connection with nothing answered.
    """
    deadline = _Deadline(timeout)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            for piece in request:
                deadline.arm(sock)
                sock.sendall(piece)
            sock.shutdown(socket.SHUT_WR)
        except OSError as exc:
            if exc.errno not in _PEER_GONE:
                raise
            reply = _read_what_is_left(sock, deadline)
            if not reply:
                raise
            return reply
        return _read_to_eof(sock, deadline)


def _read_to_eof(sock: socket.socket, deadline: _Deadline) -> bytes:
    chunks, size = [], 0
    while True:
        deadline.arm(sock)
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REPLY:
            raise ReplyTooLong(f"reply longer than {MAX_REPLY} bytes")
        chunks.append(chunk)


def _read_what_is_left(sock: socket.socket, deadline: _Deadline) -> bytes:
    """After a failed send: the reply the peer managed to send, or ``b""``."""
    try:
        return _read_to_eof(sock, deadline)
    except OSError as exc:
        if exc.errno not in _PEER_GONE:
            raise
        return b""
