"""Signed HTTP POSTs to webhook URLs, with the SSRF guard and connection reuse.

A :class:`Sender` lives for one batch: requests to the same host reuse one keep-alive
connection, and every connection is closed when the batch ends, so nothing stays open
between polls.  Each request re-checks its URL (:mod:`postal.ssrf`) and connects to the
address that passed the check, never to a fresh DNS answer.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import Any

from postal import __version__, deadlines
from postal.signing import SigningKey
from postal.ssrf import Destination, UnsafeURLError, check_url

from .queue import Outcome


TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024


def _pinned(connection: http.client.HTTPConnection, address: str):
    """Make ``connection`` connect to ``address`` while keeping its host for Host and SNI."""

    def create_connection(host_port, timeout, source_address=None):
        return socket.create_connection((address, host_port[1]), timeout, source_address)

    connection._create_connection = create_connection
    return connection


def _cut(connection: http.client.HTTPConnection) -> Callable[[], None]:
    def cut() -> None:
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    return cut


def _key(destination: Destination) -> tuple:
    return (destination.scheme, destination.host, destination.port, destination.address)


class Sender:
    def __init__(
        self,
        settings: Mapping[str, Any],
        signer: SigningKey,
        *,
        timeout: float = TIMEOUT_SECONDS,
        resolver=None,
    ):
        self.settings = settings
        self.signer = signer
        self.timeout = timeout
        self.resolver = resolver
        self._connections: dict[tuple, http.client.HTTPConnection] = {}
        self._tls = ssl.create_default_context()

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def headers(self, body: bytes, content_type: str = "application/json") -> dict[str, str]:
        return {
            "Content-Type": content_type,
            "User-Agent": f"Postal/{__version__}",
            **self.signer.headers(body),
        }

    def request(
        self, destination: Destination, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, str]:
        """POST ``body`` with ``headers`` to an already checked ``destination``: the status
        and (at most 64 KiB of) the response text.  Network errors are raised, for callers
        that classify them their own way (HTTP endpoints)."""
        return self._exchange(destination, body, headers)

    def post(self, url: str, body: bytes) -> Outcome:
        started = time.monotonic()
        try:
            destination = check_url(url, self.settings, self.resolver)
            status, text = self._exchange(destination, body, self.headers(body))
        except UnsafeURLError as exc:
            return self._outcome(started, error=f"Couldn't send to URL. {exc}")
        except TimeoutError:
            return self._outcome(started, error="Couldn't send to URL. Timed out.")
        except (OSError, http.client.HTTPException) as exc:
            reason = str(exc) or type(exc).__name__
            return self._outcome(started, error=f"Couldn't send to URL. {reason}")
        error = None
        if not 200 <= status < 300:
            error = f"Couldn't send to URL. Code received was {status}"
        return self._outcome(started, status=status, body=text, error=error)

    def _outcome(self, started, *, status=None, body=None, error=None) -> Outcome:
        duration_ms = int((time.monotonic() - started) * 1000)
        return Outcome(status_code=status, body=body, error=error, duration_ms=duration_ms)

    def _exchange(self, destination: Destination, body: bytes, headers) -> tuple[int, str]:
        reused = _key(destination) in self._connections
        try:
            return self._request(destination, body, headers)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # A kept-alive connection the server has since closed: try once on a new one.
            if not reused:
                raise
            return self._request(destination, body, headers)

    def _request(self, destination: Destination, body: bytes, headers) -> tuple[int, str]:
        connection = self._connection(destination)
        # The timeout bounds the whole request, not each read: a server that trickles its
        # answer a byte at a time is cut off when the time is up.
        deadline = deadlines.after(self.timeout, _cut(connection))
        try:
            connection.request("POST", destination.path, body=body, headers=dict(headers))
            response = connection.getresponse()
            data = response.read(MAX_RESPONSE_BYTES)
            # Unread bytes would poison the next request on this connection.
            if response.will_close or not response.isclosed():
                self._drop(destination)
        except BaseException as exc:
            self._drop(destination)
            if deadline.passed and not isinstance(exc, TimeoutError):
                raise TimeoutError(f"no complete answer in {self.timeout:g}s") from exc
            raise
        finally:
            deadline.cancel()
        if deadline.passed:  # cut off while reading what looked like a complete answer
            self._drop(destination)
            raise TimeoutError(f"no complete answer in {self.timeout:g}s")
        return response.status, data.decode("utf-8", "replace")

    def _connection(self, destination: Destination) -> http.client.HTTPConnection:
        connection = self._connections.get(_key(destination))
        if connection is None:
            if destination.scheme == "https":
                connection = http.client.HTTPSConnection(
                    destination.host, destination.port, timeout=self.timeout, context=self._tls
                )
            else:
                connection = http.client.HTTPConnection(
                    destination.host, destination.port, timeout=self.timeout
                )
            self._connections[_key(destination)] = _pinned(connection, destination.address)
        return connection

    def _drop(self, destination: Destination) -> None:
        connection = self._connections.pop(_key(destination), None)
        if connection is not None:
            connection.close()
