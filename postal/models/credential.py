"""Credentials a server's clients authenticate with: API keys, SMTP keys, SMTP-IP networks."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, LongText, TimestampMixin, UTCDateTime, UUIDMixin


class CredentialType(enum.StrEnum):
    API = "API"
    SMTP = "SMTP"
    SMTP_IP = "SMTP-IP"


class Credential(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "credentials"
    __table_args__ = (UniqueConstraint("type", "key", "server_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(255))
    # API/SMTP keys are looked up on every request; the index keeps that one probe.
    key: Mapped[str] = mapped_column(String(64), index=True)
    hold: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[str | None] = mapped_column(LongText)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    server: Mapped[Server] = relationship()  # noqa: F821
