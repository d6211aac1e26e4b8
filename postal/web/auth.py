"""Signing in and out of the web UI, and who the session belongs to."""

from __future__ import annotations

import hashlib
import hmac

from pyramid.csrf import new_csrf_token
from sqlalchemy import select

from ..models import User, utcnow


SESSION_USER = "auth.user"
SESSION_FINGERPRINT = "auth.fp"


def fingerprint(user: User) -> str:
    """Changes when the password or e-mail changes, which ends the user's other sessions."""
    material = f"{user.uuid}|{user.email_address}|{user.password_digest or ''}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def login(request, user: User) -> None:
    """Start a fresh session for ``user`` (a new one, so a planted session id is useless)."""
    request.session.invalidate()
    request.session[SESSION_USER] = user.uuid
    request.session[SESSION_FINGERPRINT] = fingerprint(user)
    request.session["auth.at"] = int(utcnow().timestamp())
    new_csrf_token(request)
    request.environ.pop("postal.identity", None)


def logout(request) -> None:
    request.session.invalidate()
    request.environ.pop("postal.identity", None)


def session_user(request) -> User | None:
    uuid = request.session.get(SESSION_USER)
    if not uuid:
        return None
    user = request.dbsession.scalar(select(User).where(User.uuid == uuid))
    if user is None or not hmac.compare_digest(
        request.session.get(SESSION_FINGERPRINT, ""), fingerprint(user)
    ):
        return None
    return user


def client_ip(request) -> str:
    return request.remote_addr or "unknown"


def safe_next(request, target: str | None) -> str:
    """Only same-site paths are followed after sign-in (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return request.route_url("home")
