"""Random identifiers in Postal's formats (reference §16)."""

from __future__ import annotations

import secrets
import string


ALNUM = string.ascii_letters + string.digits


def random_string(length: int, alphabet: str = ALNUM) -> str:
    """``length`` characters of ``alphabet``, uniformly, from one random number: an order of
    magnitude cheaper than a ``secrets.choice`` per character (tokens are made per message)."""
    base = len(alphabet)
    number = secrets.randbelow(base**length)
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
