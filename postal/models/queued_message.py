"""The delivery queue: one row per message still to be processed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .message import BigId
from .meta import Base, UTCDateTime, utcnow


class QueuedMessage(Base):
    __tablename__ = "queued_messages"
    # Workers claim "unlocked and due" rows; this index serves exactly that query.
    __table_args__ = (Index("ix_queued_messages_due", "locked_at", "retry_after"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    domain: Mapped[str | None] = mapped_column(String(255))
    locked_by: Mapped[str | None] = mapped_column(String(255))
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retry_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ip_address_id: Mapped[int | None] = mapped_column(
        ForeignKey("ip_addresses.id", ondelete="SET NULL")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("routes.id", ondelete="SET NULL"))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    batch_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[Message] = relationship()  # noqa: F821
