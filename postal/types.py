"""Plain dataclasses handed to plugins, so hooks never see ORM rows or framework objects
they could change by accident."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DnsCheckResult:
    """The outcome of one DNS check of one domain.

    ``check`` is one of ``spf``, ``dkim``, ``mx``, ``return_path`` (or a plugin's own name);
    ``status`` is ``OK``, ``Missing`` or ``Invalid``; ``error`` is the text shown to users.
    """

    check: str
    status: str
    error: str | None = None


@dataclass(frozen=True)
class DomainInfo:
    """What DNS checkers need to know about a domain."""

    uuid: str
    name: str
    dkim_record_name: str
    dkim_record_value: str
    return_path_name: str


@dataclass(frozen=True)
class ScheduledTask:
    """A job the worker's scheduler runs every ``interval``."""

    name: str
    interval: dt.timedelta
    run: Callable[..., None]
    first_run_delay: dt.timedelta = field(default=dt.timedelta(0))
