"""The installation signing key: webhook signatures, key id and the JWKS."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from postal import dkim_keys
from postal.signing import SigningKey, signing_key, thumbprint


@pytest.fixture(scope="module")
def key():
    return SigningKey(dkim_keys.generate_private_key(1024))


def _uint(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def test_the_thumbprint_matches_rfc_7638s_example():
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
        "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR"
        "0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFT"
        "WhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    expected = base64.urlsafe_b64decode("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=").hex()
    assert thumbprint("AQAB", n) == expected


def test_jwks_describes_the_public_key(key):
    (jwk,) = key.jwks()["keys"]
    assert set(jwk) == {"kty", "n", "e", "use", "alg", "kid"}
    assert (jwk["kty"], jwk["use"], jwk["alg"], jwk["e"]) == ("RSA", "sig", "RS256", "AQAB")
    assert jwk["kid"] == key.key_id() == thumbprint(jwk["e"], jwk["n"])
    assert len(key.key_id()) == 64 and int(key.key_id(), 16) >= 0
    assert "=" not in jwk["n"]


def test_signatures_verify_with_the_published_key(key):
    (jwk,) = key.jwks()["keys"]
    public = rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"])).public_key()
    body = b'{"event":"MessageSent","payload":{}}'
    for signature, algorithm in (
        (key.sign_sha256(body), hashes.SHA256()),
        (key.sign_sha1(body), hashes.SHA1()),
    ):
        assert "\n" not in signature
        public.verify(
            base64.b64decode(signature, validate=True), body, padding.PKCS1v15(), algorithm
        )
    headers = key.headers(body)
    assert headers["X-Postal-Signature-KID"] == key.key_id()
    assert headers["X-Postal-Signature-256"] == key.sign_sha256(body)


def test_the_key_is_created_on_first_use_and_then_reused(tmp_path):
    settings = {"postal.signing_key_path": str(tmp_path / "keys" / "signing.key")}
    first = signing_key(settings)
    assert os.path.exists(settings["postal.signing_key_path"])
    assert signing_key(settings) is first


def test_an_ed25519_file_is_refused():
    with pytest.raises(ValueError, match="must be an RSA key"):
        SigningKey(dkim_keys.generate_private_key(algorithm="ed25519"))
