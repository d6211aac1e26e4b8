"""Messages, their raw bytes (kept in their own table) and their delivery log."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..tokens import message_token
from .meta import Base, LongBinary, LongText, UTCDateTime, utcnow


BigId = BigInteger().with_variant(Integer, "sqlite")


class MessageStatus(enum.StrEnum):
    PENDING = "Pending"
    SENT = "Sent"
    SOFT_FAIL = "SoftFail"
    HARD_FAIL = "HardFail"
    HELD = "Held"
    BOUNCED = "Bounced"


class Scope(enum.StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class Message(Base):
    """One message to one recipient (Postal stores a row per recipient)."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_server_scope_time", "server_id", "scope", "timestamp"),
        Index("ix_messages_server_token", "server_id", "token"),
        Index("ix_messages_server_message_id", "server_id", "message_id"),
        Index("ix_messages_server_status", "server_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(16), default=message_token)
    scope: Mapped[str] = mapped_column(String(8))
    rcpt_to: Mapped[str | None] = mapped_column(String(255))
    mail_from: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(String(255))
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("routes.id", ondelete="SET NULL"))
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="SET NULL"))
    credential_id: Mapped[int | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    raw_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_messages.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.PENDING)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int | None] = mapped_column(Integer)
    last_delivery_attempt: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    inspected: Mapped[bool] = mapped_column(Boolean, default=False)
    spam: Mapped[bool] = mapped_column(Boolean, default=False)
    spam_score: Mapped[float] = mapped_column(Float, default=0.0)
    threat: Mapped[bool] = mapped_column(Boolean, default=False)
    threat_details: Mapped[str | None] = mapped_column(String(255))
    bounce: Mapped[bool] = mapped_column(Boolean, default=False)
    bounce_for_id: Mapped[int | None] = mapped_column(BigId)
    tag: Mapped[str | None] = mapped_column(String(255))
    loaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_with_ssl: Mapped[bool | None] = mapped_column(Boolean)
    hold_expiry: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    tracked_links: Mapped[int] = mapped_column(Integer, default=0)
    tracked_images: Mapped[int] = mapped_column(Integer, default=0)
    parsed: Mapped[bool] = mapped_column(Boolean, default=False)
    endpoint_type: Mapped[str | None] = mapped_column(String(32))
    endpoint_id: Mapped[int | None] = mapped_column(Integer)

    raw_message: Mapped[RawMessage | None] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="Delivery.id"
    )


class RawMessage(Base):
    """The bytes of a message, shared by every recipient's row.  Kept apart so that metadata
    queries never read message bodies."""

    __tablename__ = "raw_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    data: Mapped[bytes] = mapped_column(LongBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Delivery(Base):
    """One attempt to deliver a message, as shown in its delivery log."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    code: Mapped[int | None] = mapped_column(Integer)
    output: Mapped[str | None] = mapped_column(LongText)
    details: Mapped[str | None] = mapped_column(LongText)
    sent_with_ssl: Mapped[bool] = mapped_column(Boolean, default=False)
    log_id: Mapped[str | None] = mapped_column(String(16))
    time: Mapped[float | None] = mapped_column(Float)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[Message] = relationship(back_populates="deliveries")


class SpamCheck(Base):
    """One rule that matched when a message was scanned for spam."""

    __tablename__ = "spam_checks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(Float)
    code: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(LongText)
