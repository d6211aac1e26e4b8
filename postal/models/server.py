"""A mail server: the unit that sends, receives and holds credentials."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Enum, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..tokens import server_token
from .meta import Base, TimestampMixin, UTCDateTime, UUIDMixin


RESERVED_PERMALINKS = frozenset("new all search stats edit manage delete destroy remove".split())


class ServerMode(enum.StrEnum):
    LIVE = "Live"
    DEVELOPMENT = "Development"


class Server(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "servers"
    __table_args__ = (UniqueConstraint("organization_id", "permalink"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    permalink: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(String(16), unique=True, default=server_token)
    mode: Mapped[ServerMode] = mapped_column(
        Enum(
            ServerMode,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=ServerMode.LIVE,
    )
    ip_pool_id: Mapped[int | None] = mapped_column(ForeignKey("ip_pools.id", ondelete="SET NULL"))
    send_limit: Mapped[int | None] = mapped_column(Integer)
    send_limit_approaching_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    send_limit_approaching_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    send_limit_exceeded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    send_limit_exceeded_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    message_retention_days: Mapped[int] = mapped_column(Integer, default=60)
    raw_message_retention_days: Mapped[int] = mapped_column(Integer, default=30)
    raw_message_retention_size: Mapped[int] = mapped_column(Integer, default=2048)
    allow_sender: Mapped[bool] = mapped_column(Boolean, default=False)
    spam_threshold: Mapped[float] = mapped_column(Float, default=5.0)
    spam_failure_threshold: Mapped[float] = mapped_column(Float, default=20.0)
    outbound_spam_threshold: Mapped[float | None] = mapped_column(Float)
    postmaster_address: Mapped[str | None] = mapped_column(String(255))
    privacy_mode: Mapped[bool] = mapped_column(Boolean, default=False)
    log_smtp_data: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    suspension_reason: Mapped[str | None] = mapped_column(String(255))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(back_populates="servers")  # noqa: F821
    ip_pool: Mapped[IPPool | None] = relationship()  # noqa: F821

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None or self.organization.suspended

    @property
    def full_permalink(self) -> str:
        return f"{self.organization.permalink}/{self.permalink}"
