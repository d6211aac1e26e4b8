"""Organisations own servers, organisation-wide domains and IP pool assignments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, TimestampMixin, UTCDateTime, UUIDMixin


RESERVED_PERMALINKS = frozenset("new edit remove delete destroy admin mail org server".split())

organization_ip_pools = Table(
    "organization_ip_pools",
    Base.metadata,
    Column("organization_id", ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True),
    Column("ip_pool_id", ForeignKey("ip_pools.id", ondelete="CASCADE"), primary_key=True),
)


class Organization(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    permalink: Mapped[str] = mapped_column(String(64), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ip_pool_id: Mapped[int | None] = mapped_column(ForeignKey("ip_pools.id", ondelete="SET NULL"))
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    suspension_reason: Mapped[str | None] = mapped_column(String(255))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    servers: Mapped[list[Server]] = relationship(back_populates="organization")  # noqa: F821
    memberships: Mapped[list[OrganizationUser]] = relationship(  # noqa: F821
        back_populates="organization", cascade="all, delete-orphan"
    )
    ip_pools: Mapped[list[IPPool]] = relationship(secondary=organization_ip_pools)  # noqa: F821

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None
