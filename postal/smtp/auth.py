"""SMTP AUTH: decoding PLAIN/LOGIN/CRAM-MD5 exchanges, and limiting failed attempts.

Reply texts are Postal's (``app/lib/smtp_server/client.rb``), typos included, because
clients and monitoring match on them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
import time
from collections import deque

from ..types import SmtpReply


MECHANISMS = ("CRAM-MD5", "PLAIN", "LOGIN")

PROTOCOL_ERROR = SmtpReply(535, "Authenticated failed - protocol error")
INVALID_CREDENTIAL = SmtpReply(535, "Invalid credential")
DENIED = SmtpReply(535, "Denied")
ABORTED = SmtpReply(501, "Authentication aborted")
TOO_MANY_FAILURES = SmtpReply(454, "Too many failed authentication attempts, try again later")
TLS_REQUIRED = SmtpReply(538, "Encryption required for requested authentication mechanism")
USERNAME_PROMPT = "334 VXNlcm5hbWU6"  # "Username:"
PASSWORD_PROMPT = "334 UGFzc3dvcmQ6"  # "Password:"


def granted(permalink: str) -> SmtpReply:
    return SmtpReply(235, f"Granted for {permalink}")


def b64_text(value: str) -> str | None:
    """Decode one base64 client response; ``None`` when it is not base64."""
    try:
        return base64.b64decode(value.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def plain_credentials(response: str) -> tuple[str, str] | None:
    """``(username, password)`` from an AUTH PLAIN response: the last two NUL fields."""
    decoded = b64_text(response)
    if decoded is None:
        return None
    fields = decoded.split("\0")
    if len(fields) < 2 or not fields[-1]:
        return None
    return fields[-2], fields[-1]


def cram_md5_challenge(hostname: str) -> str:
    """``<20 hex chars@hostname>``, as Postal builds it."""
    seed = f"{time.time()}{os.urandom(16).hex()}".encode()
    return f"<{hashlib.sha1(seed).hexdigest()[:20]}@{hostname}>"


def cram_md5_response(response: str) -> tuple[str, str] | None:
    """``(username, hex digest)`` from the client's base64 CRAM-MD5 answer."""
    decoded = b64_text(response)
    if decoded is None:
        return None
    username, _, digest = decoded.strip().rpartition(" ")
    if not username or not digest:
        return None
    return username, digest.lower()


def cram_md5_digest(key: str, challenge: str) -> str:
    return hmac.new(key.encode(), challenge.encode(), hashlib.md5).hexdigest()


def split_server_permalink(username: str) -> tuple[str, str] | None:
    """``org/server`` or ``org_server``: split at the first ``/`` or ``_``."""
    for index, char in enumerate(username):
        if char in "/_":
            org, server = username[:index], username[index + 1 :]
            return (org, server) if org and server else None
    return None


class FailureLimiter:
    """Counts failed AUTH attempts per client address in a sliding window."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, address: str) -> bool:
        if self.limit <= 0:
            return False
        with self._lock:
            failures = self._failures.get(address)
            if not failures:
                return False
            self._expire(failures, time.monotonic())
            return len(failures) >= self.limit

    def record(self, address: str) -> None:
        if self.limit <= 0:
            return
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory under a distributed attack
                self._failures.clear()
            failures = self._failures.setdefault(address, deque())
            self._expire(failures, now)
            failures.append(now)

    def forgive(self, address: str) -> None:
        """Take back the latest failure of ``address``."""
        with self._lock:
            failures = self._failures.get(address)
            if failures:
                failures.pop()

    def _expire(self, failures: deque[float], now: float) -> None:
        while failures and failures[0] <= now - self.window:
            failures.popleft()
