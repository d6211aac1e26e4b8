"""Adding addresses to a server's suppression list by hand (API and web UI alike).

The worker lists a recipient after too many failures (:func:`postal.worker.recording.suppress`);
an operator may also add one, with a reason and a number of days to keep it, or remove one.
"""

from __future__ import annotations

import datetime as dt

from .models import Suppression, utcnow
from .worker.recording import suppress


DEFAULT_REASON = "added manually"
MAX_DAYS = 3650


class SuppressionError(ValueError):
    """Bad suppression input; the message is safe to show.  ``field`` names the input."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def add_manually(dbsession, server_id: int, address: str, reason: str | None, days: int):
    """List ``address`` for ``days`` days (or refresh the entry already there)."""
    address = (address or "").strip()
    if "@" not in address or any(c.isspace() for c in address) or len(address) > 255:
        raise SuppressionError("address must be an e-mail address.", field="address")
    if not 1 <= days <= MAX_DAYS:
        raise SuppressionError(f"days must be between 1 and {MAX_DAYS}.", field="days")
    reason = (reason or "").strip()[:255] or DEFAULT_REASON
    keep_until = utcnow() + dt.timedelta(days=days)
    return suppress(dbsession, server_id, address, reason, keep_until)


def is_active(row: Suppression, now: dt.datetime | None = None) -> bool:
    """Expired entries are ignored until the nightly prune deletes them."""
    return row.keep_until is None or row.keep_until > (now or utcnow())
