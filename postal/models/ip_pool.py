"""IP pools: sets of source addresses, and rules choosing a pool by sender or recipient."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base, LongText, TimestampMixin, UUIDMixin


class IPPool(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "ip_pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    default: Mapped[bool] = mapped_column(Boolean, default=False)

    ip_addresses: Mapped[list[IPAddress]] = relationship(
        back_populates="ip_pool", cascade="all, delete-orphan"
    )


class IPAddress(TimestampMixin, Base):
    __tablename__ = "ip_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip_pool_id: Mapped[int] = mapped_column(ForeignKey("ip_pools.id", ondelete="CASCADE"))
    ipv4: Mapped[str] = mapped_column(String(45), unique=True)
    ipv6: Mapped[str | None] = mapped_column(String(45), unique=True)
    hostname: Mapped[str] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=100)

    ip_pool: Mapped[IPPool] = relationship(back_populates="ip_addresses")


class IPPoolRule(UUIDMixin, TimestampMixin, Base):
    """Send through ``ip_pool`` when the sender matches ``from_text`` or the recipient
    ``to_text``; owned by a server or by an organisation."""

    __tablename__ = "ip_pool_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int | None] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    ip_pool_id: Mapped[int] = mapped_column(ForeignKey("ip_pools.id", ondelete="CASCADE"))
    from_text: Mapped[str | None] = mapped_column(LongText)
    to_text: Mapped[str | None] = mapped_column(LongText)
