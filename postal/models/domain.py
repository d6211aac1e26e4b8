"""Sending and receiving domains, with their DKIM keys and DNS check results."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..tokens import dkim_identifier_string, verification_token
from .meta import Base, LongText, TimestampMixin, UTCDateTime, UUIDMixin


class VerificationMethod(enum.StrEnum):
    DNS = "DNS"
    EMAIL = "Email"


class DnsStatus(enum.StrEnum):
    OK = "OK"
    MISSING = "Missing"
    INVALID = "Invalid"


CHECKS = ("spf", "dkim", "mx", "return_path")


class Domain(UUIDMixin, TimestampMixin, Base):
    """A domain owned by one server, or by an organisation for all its servers."""

    __tablename__ = "domains"
    __table_args__ = (
        UniqueConstraint("server_id", "name"),
        UniqueConstraint("organization_id", "name"),
        CheckConstraint("(server_id IS NULL) <> (organization_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int | None] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), index=True)
    verification_method: Mapped[str] = mapped_column(String(8), default=VerificationMethod.DNS)
    verification_token: Mapped[str] = mapped_column(String(64), default=verification_token)
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dkim_private_key: Mapped[str] = mapped_column(LongText)
    dkim_identifier_string: Mapped[str] = mapped_column(String(16), default=dkim_identifier_string)
    dns_checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    spf_status: Mapped[str | None] = mapped_column(String(8))
    spf_error: Mapped[str | None] = mapped_column(String(255))
    dkim_status: Mapped[str | None] = mapped_column(String(8))
    dkim_error: Mapped[str | None] = mapped_column(String(255))
    mx_status: Mapped[str | None] = mapped_column(String(8))
    mx_error: Mapped[str | None] = mapped_column(String(255))
    return_path_status: Mapped[str | None] = mapped_column(String(8))
    return_path_error: Mapped[str | None] = mapped_column(String(255))
    outgoing: Mapped[bool] = mapped_column(Boolean, default=True)
    incoming: Mapped[bool] = mapped_column(Boolean, default=True)
    use_for_any: Mapped[bool] = mapped_column(Boolean, default=False)

    server: Mapped[Server | None] = relationship()  # noqa: F821
    organization: Mapped[Organization | None] = relationship()  # noqa: F821

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    @property
    def dns_ok(self) -> bool:
        return (
            self.spf_status == DnsStatus.OK
            and self.dkim_status == DnsStatus.OK
            and self.mx_status in (DnsStatus.OK, DnsStatus.MISSING)
            and self.return_path_status in (DnsStatus.OK, DnsStatus.MISSING)
        )
