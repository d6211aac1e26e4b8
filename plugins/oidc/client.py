"""A small OpenID Connect relying party: discovery, code exchange, ID token checks."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


TIMEOUT = 10
CLOCK_SKEW = 120
DISCOVERY_TTL = 3600


class OIDCError(Exception):
    """The provider refused or answered something we cannot trust; safe to show."""


def b64url_decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def _http_json(url: str, data: dict | None = None, headers: dict | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(
        url, data=body, headers={"Accept": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise OIDCError(f"the provider answered {exc.code} from {url}: {detail}") from None
    except (OSError, ValueError) as exc:
        raise OIDCError(f"could not reach {url}: {exc}") from None


@dataclass(frozen=True)
class Endpoints:
    authorization: str
    token: str
    userinfo: str | None
    jwks: str


class OIDCClient:
    def __init__(self, settings: Mapping[str, Any]):
        self.settings = settings
        self.issuer = settings["oidc.issuer"].rstrip("/")
        self.client_id = settings["oidc.identifier"]
        self._lock = threading.Lock()
        self._endpoints: tuple[float, Endpoints] | None = None
        self._jwks: tuple[float, dict] | None = None

    def endpoints(self) -> Endpoints:
        s = self.settings
        if not s["oidc.discovery"]:
            return Endpoints(s["oidc.authorization_endpoint"], s["oidc.token_endpoint"],
                             s["oidc.userinfo_endpoint"] or None, s["oidc.jwks_uri"])  # fmt: skip
        with self._lock:
            if self._endpoints and self._endpoints[0] > time.monotonic():
                return self._endpoints[1]
        document = _http_json(f"{self.issuer}/.well-known/openid-configuration")
        if str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise OIDCError("the discovery document names another issuer")
        endpoints = Endpoints(document["authorization_endpoint"], document["token_endpoint"],
                              document.get("userinfo_endpoint"), document["jwks_uri"])  # fmt: skip
        with self._lock:
            self._endpoints = (time.monotonic() + DISCOVERY_TTL, endpoints)
        return endpoints

    def authorization_url(self, redirect_uri: str, state: str, nonce: str, challenge: str) -> str:
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": " ".join(self.settings["oidc.scopes"]), "state": state, "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256",
        })  # fmt: skip
        base = self.endpoints().authorization
        return f"{base}{'&' if '?' in base else '?'}{query}"

    def exchange(self, code: str, redirect_uri: str, verifier: str) -> dict:
        """Trade the code for tokens (client_secret_basic)."""
        pair = f"{urllib.parse.quote(self.client_id, safe='')}:" + urllib.parse.quote(
            self.settings["oidc.secret"], safe=""
        )
        basic = base64.b64encode(pair.encode()).decode()
        return _http_json(
            self.endpoints().token,
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
             "code_verifier": verifier},
            {"Authorization": f"Basic {basic}"},
        )  # fmt: skip

    def userinfo(self, access_token: str) -> dict:
        url = self.endpoints().userinfo
        if not url:
            return {}
        return _http_json(url, headers={"Authorization": f"Bearer {access_token}"})

    def _keys(self, refresh: bool = False) -> dict:
        with self._lock:
            if self._jwks and not refresh and self._jwks[0] > time.monotonic():
                return self._jwks[1]
        keys = _http_json(self.endpoints().jwks).get("keys", [])
        by_kid = {key.get("kid"): key for key in keys if key.get("kty") == "RSA"}
        with self._lock:
            self._jwks = (time.monotonic() + DISCOVERY_TTL, by_kid)
        return by_kid

    def _signing_key(self, kid: str | None) -> dict:
        keys = self._keys()
        if kid not in keys:
            keys = self._keys(refresh=True)  # the provider may have rotated its keys
        if kid is None and len(keys) == 1:
            return next(iter(keys.values()))
        if kid not in keys:
            raise OIDCError("the ID token's signing key is unknown")
        return keys[kid]

    def verify_id_token(self, token: str, nonce: str) -> dict:
        try:
            header_b64, payload_b64, signature_b64 = token.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(payload_b64))
            signature = b64url_decode(signature_b64)
        except ValueError:
            raise OIDCError("the ID token is malformed") from None
        if header.get("alg") != "RS256":
            raise OIDCError(f"ID tokens signed with {header.get('alg')!r} are not accepted")
        key = self._signing_key(header.get("kid"))
        public = rsa.RSAPublicNumbers(
            int.from_bytes(b64url_decode(key["e"]), "big"),
            int.from_bytes(b64url_decode(key["n"]), "big"),
        ).public_key()
        try:
            public.verify(signature, f"{header_b64}.{payload_b64}".encode(),
                          padding.PKCS1v15(), hashes.SHA256())  # fmt: skip
        except InvalidSignature:
            raise OIDCError("the ID token's signature is not valid") from None
        self._check_claims(claims, nonce)
        return claims

    def _check_claims(self, claims: dict, nonce: str) -> None:
        now = time.time()
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(claims.get("iss", "")).rstrip("/") != self.issuer:
            raise OIDCError("the ID token comes from another issuer")
        if self.client_id not in audiences:
            raise OIDCError("the ID token is for another client")
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - CLOCK_SKEW:
            raise OIDCError("the ID token has expired")
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OIDCError("the ID token's nonce does not match this sign-in")
