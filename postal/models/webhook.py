"""Webhooks, the events each subscribes to, and the queue and log of their requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, LongText, TimestampMixin, UTCDateTime, UUIDMixin, new_uuid, utcnow


class Webhook(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(LongText)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    all_events: Mapped[bool] = mapped_column(Boolean, default=False)
    sign: Mapped[bool] = mapped_column(Boolean, default=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[WebhookEvent]] = relationship(cascade="all, delete-orphan")


class WebhookEvent(Base):
    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))


class WebhookRequest(Base):
    """A request still to be made: the worker claims these like queued messages."""

    __tablename__ = "webhook_requests"
    __table_args__ = (Index("ix_webhook_requests_due", "locked_at", "retry_after"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(LongText)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(LongText)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(LongText)
    locked_by: Mapped[str | None] = mapped_column(String(255))
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookRequestLog(Base):
    """One attempt at a webhook request: what was sent and what came back."""

    __tablename__ = "webhook_request_logs"
    __table_args__ = (Index("ix_webhook_request_logs_server_time", "server_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), index=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    webhook_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(LongText)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[str] = mapped_column(LongText)
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(LongText)
    error: Mapped[str | None] = mapped_column(LongText)
    will_retry: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
