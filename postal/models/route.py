"""Routes send incoming mail for an address (or ``*``) on a domain to an endpoint."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..tokens import route_token
from .meta import Base, TimestampMixin, UUIDMixin


class RouteMode(enum.StrEnum):
    ENDPOINT = "Endpoint"
    ACCEPT = "Accept"
    HOLD = "Hold"
    BOUNCE = "Bounce"
    REJECT = "Reject"


class SpamMode(enum.StrEnum):
    MARK = "Mark"
    QUARANTINE = "Quarantine"
    FAIL = "Fail"


class Route(UUIDMixin, TimestampMixin, Base):
    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("server_id", "domain_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"), index=True)
    domain_id: Mapped[int | None] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    token: Mapped[str] = mapped_column(String(16), unique=True, default=route_token)
    mode: Mapped[str] = mapped_column(String(16), default=RouteMode.ENDPOINT)
    spam_mode: Mapped[str] = mapped_column(String(16), default=SpamMode.MARK)
    # Polymorphic target, as Postal: HTTPEndpoint, SMTPEndpoint or AddressEndpoint.
    endpoint_type: Mapped[str | None] = mapped_column(String(32))
    endpoint_id: Mapped[int | None] = mapped_column(Integer)

    server: Mapped[Server] = relationship()  # noqa: F821
    domain: Mapped[Domain | None] = relationship()  # noqa: F821
    additional_endpoints: Mapped[list[AdditionalRouteEndpoint]] = relationship(
        cascade="all, delete-orphan"
    )


class AdditionalRouteEndpoint(Base):
    __tablename__ = "additional_route_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"), index=True)
    endpoint_type: Mapped[str] = mapped_column(String(32))
    endpoint_id: Mapped[int] = mapped_column(Integer)
