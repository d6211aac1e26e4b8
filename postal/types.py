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


# --- Sending (worker) ----------------------------------------------------------------------


@dataclass
class OutgoingMessage:
    """A message on its way out.  ``raw`` is the bytes to send; ``postal_before_send`` plugins
    replace it (tracking rewrites links, DKIM prepends its signature).

    ``dkim_*`` name the key to sign with, chosen by core as Postal does: the sender domain's
    own key when its DKIM record checks out, otherwise the installation key with
    ``d=<dns.return_path_domain>`` and ``s=<dns.dkim_identifier>``.
    """

    id: int
    token: str
    server_id: int
    server_token: str
    mail_from: str
    rcpt_to: str
    raw: bytes
    sender_domain: str | None = None
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key: str | None = None
    tag: str | None = None
    notes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one delivery attempt.

    ``status`` is Postal's: ``Sent``, ``SoftFail`` (retry later), ``HardFail`` (give up),
    ``Held`` or ``Bounced``.  ``details`` is the human sentence for the delivery log,
    ``output`` the remote server's reply; ``retry_after`` (seconds) overrides the retry
    schedule when the remote asked for a specific delay.
    """

    status: str
    details: str
    output: str = ""
    sent_with_ssl: bool = False
    log_id: str | None = None
    time: float | None = None
    retry_after: float | None = None


# --- SMTP server ---------------------------------------------------------------------------
