"""Web sign-in with the bcrypt password stored on the local user."""

from __future__ import annotations

import functools
import secrets

from sqlalchemy import select

from postal import hookimpl
from postal.models import User


@hookimpl(trylast=True)
def postal_authenticate_user(request, email, password):
    if not request.registry.settings.get("oidc.local_authentication_enabled", True):
        return None
    address = (email or "").strip().lower()
    if not address or not password:
        return None
    user = request.dbsession.scalar(select(User).where(User.email_address == address))
    if user is None:
        # Spend the same bcrypt time, so response times do not tell which addresses exist.
        _dummy_user().check_password(password)
        return None
    return user if user.check_password(password) else None


@functools.cache
def _dummy_user() -> User:
    user = User()
    user.set_password(secrets.token_urlsafe(16))
    return user
