"""The installation's RSA signing key: webhook and HTTP-endpoint signatures, and its JWKS.

Every outgoing webhook carries ``X-Postal-Signature`` (RSA SHA-1, Postal's legacy header),
``X-Postal-Signature-256`` (RSA SHA-256) and ``X-Postal-Signature-KID`` (the RFC 7638 JWK
thumbprint of the key).  Receivers fetch the public key from ``/.well-known/jwks.json``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .dkim_keys import load_or_create_signing_key, load_private_key


def _b64url_uint(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def thumbprint(e: str, n: str) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of an RSA key, as 64 hex characters: the required
    members only, in lexicographic order, no whitespace."""
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


class SigningKey:
    """An RSA private key with the signatures and key description webhooks need."""

    def __init__(self, private_pem: str):
        key = load_private_key(private_pem)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the installation signing key must be an RSA key")
        self._key = key
        numbers = key.public_key().public_numbers()
        self._n = _b64url_uint(numbers.n)
        self._e = _b64url_uint(numbers.e)
        self._kid = thumbprint(self._e, self._n)

    def _sign(self, body: bytes, algorithm: hashes.HashAlgorithm) -> str:
        signature = self._key.sign(body, padding.PKCS1v15(), algorithm)
        return base64.b64encode(signature).decode("ascii")

    def sign_sha1(self, body: bytes) -> str:
        """Base64 (strict, one line) RSA SHA-1 signature: ``X-Postal-Signature``."""
        return self._sign(body, hashes.SHA1())  # noqa: S303 - Postal's legacy header

    def sign_sha256(self, body: bytes) -> str:
        """Base64 RSA SHA-256 signature: ``X-Postal-Signature-256``."""
        return self._sign(body, hashes.SHA256())

    def key_id(self) -> str:
        """The JWK thumbprint (RFC 7638, SHA-256) as 64 hex characters."""
        return self._kid

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "RSA",
            "n": self._n,
            "e": self._e,
            "use": "sig",
            "alg": "RS256",
            "kid": self._kid,
        }

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWK set published at ``/.well-known/jwks.json``."""
        return {"keys": [self.jwk()]}

    def headers(self, body: bytes) -> dict[str, str]:
        """The three signature headers for a request with this raw ``body``."""
        return {
            "X-Postal-Signature": self.sign_sha1(body),
            "X-Postal-Signature-256": self.sign_sha256(body),
            "X-Postal-Signature-KID": self._kid,
        }


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> SigningKey:
    return SigningKey(load_or_create_signing_key(path))


def signing_key(settings: Mapping[str, Any]) -> SigningKey:
    """The installation key at ``postal.signing_key_path``, created on first use.

    Parsed once per process; a key file replaced on disk (new mtime) is read again.
    """
    path = os.path.abspath(settings["postal.signing_key_path"])
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except FileNotFoundError:
        load_or_create_signing_key(path)
        mtime_ns = os.stat(path).st_mtime_ns
    return _load(path, mtime_ns)
