"""Bookkeeping for scheduled tasks and the single-leader lease among workers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, UTCDateTime


class ScheduledTask(Base):
    __tablename__ = "scheduled_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    next_run_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class WorkerRole(Base):
    """A lease: the worker named in ``worker`` holds ``role`` until ``acquired_at`` is stale."""

    __tablename__ = "worker_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(64), unique=True)
    worker: Mapped[str | None] = mapped_column(String(255))
    acquired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
