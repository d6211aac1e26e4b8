"""When to try a soft-failed message again (Postal's schedule)."""

from __future__ import annotations

import datetime as dt
import re


BASE_DELAY = dt.timedelta(minutes=5)
FACTOR = 1.3

_SECONDS = re.compile(r"(\d+) seconds")
_MINUTES = re.compile(r"(\d+) minutes")


def retry_delay(attempts: int) -> dt.timedelta:
    """5 minutes × 1.3^attempts, ``attempts`` counted before this one is added."""
    return BASE_DELAY * (FACTOR**attempts)


def requested_delay(reply: str | None) -> float | None:
    """Seconds a remote asked us to wait ("try again in 30 seconds" / "in 5 minutes"),
    plus Postal's ten seconds of grace; ``None`` when it did not say."""
    if not reply:
        return None
    if match := _SECONDS.search(reply):
        return int(match[1]) + 10
    if match := _MINUTES.search(reply):
        return int(match[1]) * 60 + 10
    return None
