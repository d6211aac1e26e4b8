"""Tracking domains: the host names click and open tracking URLs are built on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, LongText, TimestampMixin, UTCDateTime, UUIDMixin


class TrackDomain(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "track_domains"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255), default="track")
    dns_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dns_status: Mapped[str | None] = mapped_column(String(8))
    dns_error: Mapped[str | None] = mapped_column(String(255))
    ssl_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    track_clicks: Mapped[bool] = mapped_column(Boolean, default=True)
    track_loads: Mapped[bool] = mapped_column(Boolean, default=True)
    excluded_click_domains: Mapped[str | None] = mapped_column(LongText)

    domain: Mapped[Domain] = relationship()  # noqa: F821

    @property
    def full_name(self) -> str:
        return f"{self.name}.{self.domain.name}"
