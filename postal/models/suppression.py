"""Addresses a server will not send to until ``keep_until``."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, TimestampMixin, UTCDateTime, UUIDMixin


class Suppression(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("server_id", "type", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16), default="recipient")
    address: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(String(255))
    keep_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
