"""Tracked links and the clicks and loads (opens) recorded against messages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .message import BigId
from .meta import Base, LongText, UTCDateTime, utcnow


class Link(Base):
    __tablename__ = "links"
    __table_args__ = (Index("ix_links_message_token", "message_id", "token"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(16), index=True)
    hash: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(LongText)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Click(Base):
    __tablename__ = "clicks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    link_id: Mapped[int] = mapped_column(ForeignKey("links.id", ondelete="CASCADE"))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(LongText)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Load(Base):
    __tablename__ = "loads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(LongText)
    timestamp: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
