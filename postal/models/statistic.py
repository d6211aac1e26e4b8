"""Per-server message counts in hourly and daily buckets, for graphs and rates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime


class Statistic(Base):
    __tablename__ = "statistics"
    __table_args__ = (UniqueConstraint("server_id", "period", "time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(8))  # "hour" or "day"
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    incoming: Mapped[int] = mapped_column(Integer, default=0)
    outgoing: Mapped[int] = mapped_column(Integer, default=0)
    spam: Mapped[int] = mapped_column(Integer, default=0)
    bounces: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
