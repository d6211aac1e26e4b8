"""People: users, their organisation memberships, invitations and API tokens."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib

import bcrypt
from sqlalchemy import Boolean, Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, TimestampMixin, UTCDateTime, UUIDMixin


MIN_PASSWORD_LENGTH = 8


class User(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(255))
    last_name: Mapped[str] = mapped_column(String(255))
    email_address: Mapped[str] = mapped_column(String(255), unique=True)
    password_digest: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    password_reset_token: Mapped[str | None] = mapped_column(String(64))
    password_reset_token_valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    oidc_uid: Mapped[str | None] = mapped_column(String(255))
    oidc_issuer: Mapped[str | None] = mapped_column(String(255))

    memberships: Mapped[list[OrganizationUser]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    api_tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def set_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        # bcrypt reads at most 72 bytes; hash longer passwords first so none is truncated.
        secret = _bcrypt_input(password)
        self.password_digest = bcrypt.hashpw(secret, bcrypt.gensalt()).decode()

    def check_password(self, password: str) -> bool:
        if not self.password_digest:
            return False
        return bcrypt.checkpw(_bcrypt_input(password), self.password_digest.encode())


def _bcrypt_input(password: str) -> bytes:
    raw = password.encode()
    return raw if len(raw) <= 72 else hashlib.sha256(raw).hexdigest().encode()


class MembershipRole(enum.StrEnum):
    """What a user may do in one organisation: owners and admins manage, members use."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class OrganizationUser(TimestampMixin, Base):
    __tablename__ = "organization_users"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[MembershipRole] = mapped_column(
        Enum(
            MembershipRole,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=MembershipRole.MEMBER,
    )

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(back_populates="memberships")  # noqa: F821

    @property
    def can_manage(self) -> bool:
        return self.role in (MembershipRole.OWNER, MembershipRole.ADMIN)


class UserInvite(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "user_invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email_address: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=MembershipRole.MEMBER.value)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ApiToken(UUIDMixin, TimestampMixin, Base):
    """A management API v2 bearer token.  Only a SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="api_tokens")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
