"""Creating users and API tokens: shared by the CLI, the management API and the web UI."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiToken, User, utcnow
from .models.user import MIN_PASSWORD_LENGTH
from .tokens import api_token


EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """Bad input for a user or token; the message is safe to show."""


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise UserError(f"{email!r} is not a valid e-mail address")
    return email


def create_user(
    dbsession: Session,
    *,
    email: str,
    first_name: str,
    last_name: str,
    password: str | None,
    admin: bool = False,
) -> User:
    email = normalise_email(email)
    if not (first_name or "").strip() or not (last_name or "").strip():
        raise UserError("first name and last name are required")
    if dbsession.scalar(select(User).where(User.email_address == email)):
        raise UserError(f"a user with e-mail address {email} already exists")
    user = User(
        email_address=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        admin=admin,
        email_verified_at=utcnow(),
    )
    if password is not None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise UserError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        user.set_password(password)
    dbsession.add(user)
    dbsession.flush()
    return user


def issue_api_token(
    dbsession: Session, *, email: str | None = None, user: User | None = None, name: str
) -> tuple[ApiToken, str]:
    """Create a token for ``user`` (or the user with ``email``); returns the row and the
    token itself, which is not stored and cannot be shown again."""
    if user is None:
        user = dbsession.scalar(select(User).where(User.email_address == normalise_email(email)))
        if user is None:
            raise UserError(f"no user with e-mail address {email}")
    name = (name or "").strip()
    if not name:
        raise UserError("a token needs a name")
    token = api_token()
    record = ApiToken(
        user=user, name=name[:255], token_hash=ApiToken.hash(token), token_prefix=token[:12]
    )
    dbsession.add(record)
    dbsession.flush()
    return record, token


def user_for_token(dbsession: Session, token: str) -> User | None:
    record = dbsession.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token)))
    if record is None:
        return None
    now = utcnow()
    if record.expires_at is not None and record.expires_at <= now:
        return None
    # Touch last_used_at at most once a minute so a busy client does not write every call.
    if record.last_used_at is None or (now - record.last_used_at).total_seconds() > 60:
        record.last_used_at = now
    return record.user
