"""Events are collected during a unit of work and handed to ``postal_event`` after commit."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import transaction


log = logging.getLogger(__name__)

# Postal's webhook event names; plugins may fire others.
EVENT_NAMES = (
    "MessageSent",
    "MessageDelayed",
    "MessageDeliveryFailed",
    "MessageHeld",
    "MessageBounced",
    "MessageLinkClicked",
    "MessageLoaded",
    "DomainDNSError",
    "SendLimitApproaching",
    "SendLimitExceeded",
)


@dataclass(frozen=True)
class Event:
    """``name`` is the event's Postal name, ``payload`` its webhook payload."""

    name: str
    server_id: int | None
    payload: dict[str, Any]
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    timestamp: float = field(default_factory=lambda: dt.datetime.now(dt.UTC).timestamp())


def notify(tm: transaction.TransactionManager, hook, event: Event) -> None:
    """Queue ``event`` for ``hook.postal_event`` once the current transaction commits."""
    txn = tm.get()
    pending = _pending(txn, hook)
    pending.append(event)


def _pending(txn, hook) -> list[Event]:
    # One after-commit hook per transaction, carrying every event of that transaction.
    data = getattr(txn, "_postal_events", None)
    if data is None:
        data = []
        txn._postal_events = data
        txn.addAfterCommitHook(_fire, args=(hook, data))
    return data


def _fire(committed: bool, hook, events: list[Event]) -> None:
    if not committed:
        return
    # Each listener is called on its own so one broken plugin cannot keep an event from
    # the others (pluggy would stop at the first exception).
    listeners = hook.postal_event.get_hookimpls()
    for event in events:
        for impl in listeners:
            try:
                impl.function(event=event)
            except Exception:
                log.exception("postal_event listener failed for %s in %s", event.name,
                              impl.plugin_name)  # fmt: skip


def includeme(config) -> None:
    """``request.notify(event)`` for views."""

    def notify_request(request, event: Event) -> None:
        notify(request.tm, request.hooks, event)

    config.add_request_method(notify_request, "notify")
