"""Signed-cookie sessions whose secret survives restarts.

The secret is ``web.session_secret``; when that is empty one is generated once and kept in
``session.secret`` beside the installation signing key, so every process on the host (and a
restart) reads the same one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from typing import Any

from pyramid.session import JSONSerializer, SignedCookieSessionFactory


COOKIE_NAME = "postal_session"


def session_secret(settings: Mapping[str, Any]) -> str:
    configured = settings.get("web.session_secret") or ""
    if configured:
        return configured
    directory = os.path.dirname(settings["postal.signing_key_path"]) or "."
    return _persisted_secret(os.path.join(directory, "session.secret"))


def _persisted_secret(path: str) -> str:
    try:
        with open(path) as existing:
            secret = existing.read().strip()
        if secret:
            return secret
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when two processes start together, the first one's secret wins.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        with open(path) as existing:
            return existing.read().strip()
    with os.fdopen(fd, "w") as new:
        new.write(secret + "\n")
    return secret


def secure_cookies(settings: Mapping[str, Any]) -> bool:
    return str(settings.get("postal.web_protocol", "https")).lower() == "https"


def includeme(config) -> None:
    settings = config.get_settings()
    timeout = settings.get("web.session_timeout", 28800)
    factory = SignedCookieSessionFactory(
        session_secret(settings),
        cookie_name=COOKIE_NAME,
        secure=secure_cookies(settings),
        httponly=True,
        samesite="Lax",
        timeout=timeout,
        # Re-issue the cookie at most every minute so an active session keeps living.
        reissue_time=min(60, timeout // 10),
        serializer=JSONSerializer(),
    )
    config.set_session_factory(factory)
