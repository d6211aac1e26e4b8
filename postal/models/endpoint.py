"""Where routed incoming mail goes: an HTTP URL, an SMTP server or another address."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, LongText, TimestampMixin, UTCDateTime, UUIDMixin


class EndpointMixin(UUIDMixin, TimestampMixin):
    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class HTTPEndpoint(EndpointMixin, Base):
    __tablename__ = "http_endpoints"

    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(LongText)
    encoding: Mapped[str] = mapped_column(String(16), default="BodyAsJSON")
    format: Mapped[str] = mapped_column(String(16), default="Hash")
    strip_replies: Mapped[bool] = mapped_column(Boolean, default=False)
    include_attachments: Mapped[bool] = mapped_column(Boolean, default=True)
    timeout: Mapped[int] = mapped_column(Integer, default=5)
    error: Mapped[str | None] = mapped_column(LongText)
    disabled_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SMTPEndpoint(EndpointMixin, Base):
    __tablename__ = "smtp_endpoints"

    name: Mapped[str] = mapped_column(String(255))
    hostname: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=25)
    ssl_mode: Mapped[str] = mapped_column(String(16), default="Auto")
    error: Mapped[str | None] = mapped_column(LongText)
    disabled_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AddressEndpoint(EndpointMixin, Base):
    __tablename__ = "address_endpoints"

    address: Mapped[str] = mapped_column(String(255))
