"""Random identifiers in Postal's formats (reference §16).

Every message needs several (its token, its Message-ID, MIME boundaries), so the random
bytes come from the operating system's CSPRNG 4 KiB at a time, per thread, rather than one
``getrandom`` call each: in a busy web process each of those calls is a GIL hand-off.  A
forked child starts with an empty buffer, so it never repeats its parent's bytes.
"""

from __future__ import annotations

import os
import secrets
import string
import threading
import uuid


ALNUM = string.ascii_letters + string.digits
_CHUNK = 4096


class _Buffer(threading.local):
    data = b""
    offset = 0


_buffer = _Buffer()


def _forget_after_fork() -> None:
    global _buffer
    _buffer = _Buffer()


os.register_at_fork(after_in_child=_forget_after_fork)


def random_bytes(count: int) -> bytes:
    """``count`` bytes from the OS CSPRNG (as ``os.urandom``), drawn from a buffer."""
    buffer = _buffer
    start = buffer.offset
    if start + count > len(buffer.data):
        buffer.data, start = os.urandom(max(_CHUNK, count)), 0
    buffer.offset = start + count
    return buffer.data[start : start + count]


def random_below(limit: int) -> int:
    """A uniform integer in ``[0, limit)`` (as ``secrets.randbelow``)."""
    bits = (limit - 1).bit_length()
    size = (bits + 7) // 8
    mask = (1 << bits) - 1
    while True:
        number = int.from_bytes(random_bytes(size), "big") & mask
        if number < limit:
            return number


def random_hex(count: int) -> str:
    """``count`` random bytes as hex (as ``secrets.token_hex``)."""
    return random_bytes(count).hex()


def random_uuid() -> uuid.UUID:
    """A version 4 UUID (as ``uuid.uuid4``)."""
    return uuid.UUID(bytes=random_bytes(16), version=4)


def random_string(length: int, alphabet: str = ALNUM) -> str:
    """``length`` characters of ``alphabet``, uniformly, from one random number: an order of
    magnitude cheaper than a ``secrets.choice`` per character (tokens are made per message)."""
    base = len(alphabet)
    number = random_below(base**length)
    chars = []
    for _ in range(length):
        number, digit = divmod(number, base)
        chars.append(alphabet[digit])
    return "".join(chars)


def server_token() -> str:
    """Six lower-case letters: the return-path local part and tracking URL prefix."""
    return random_string(6, string.ascii_lowercase)


def route_token() -> str:
    """Eight letters and digits, the first and last a letter."""
    return (
        secrets.choice(string.ascii_letters)
        + random_string(6)
        + secrets.choice(string.ascii_letters)
    )


def credential_key() -> str:
    """24 letters and digits: an API or SMTP credential's key."""
    return random_string(24)


def message_token() -> str:
    """16 letters and digits: message and link tokens."""
    return random_string(16)


def verification_token() -> str:
    """32 letters and digits for the ``postal-verification`` TXT record."""
    return random_string(32)


def dkim_identifier_string() -> str:
    """``XYYYYX``: any-case letter, four upper-case letters, any-case letter."""
    return (
        secrets.choice(string.ascii_letters)
        + random_string(4, string.ascii_uppercase)
        + secrets.choice(string.ascii_letters)
    )


def api_token() -> str:
    """A management API bearer token; only its hash is stored."""
    return "pma_" + secrets.token_urlsafe(32)
