"""Webhook rules shared by the management API and the web UI (Postal §6.1, §6.4).

A webhook has a URL that must be safe to POST to, and either subscribes to all events or to
an explicit list; choosing all events drops the explicit subscriptions.  Each attempt at a
request is logged by the webhooks plugin; :func:`retry_now` sends a logged request again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select

from .events import EVENT_NAMES
from .models import Webhook, WebhookEvent, WebhookRequest, WebhookRequestLog
from .ssrf import UnsafeURLError, check_url


# The events a user ticks one by one; the send-limit events reach only all-events webhooks.
SELECTABLE_EVENTS = tuple(name for name in EVENT_NAMES if not name.startswith("SendLimit"))


class WebhookError(ValueError):
    """Bad webhook input, or an action that cannot be done now; the message is safe to show.

    ``field`` names the input at fault, when there is one.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def checked_url(url: str, settings: Mapping[str, Any], resolver) -> str:
    """``url`` if it is an http(s) URL the installation may POST to."""
    try:
        check_url(url, settings, resolver)
    except UnsafeURLError as exc:
        raise WebhookError(str(exc), field="url") from None
    return url


def checked_events(events: Iterable[str]) -> list[str]:
    """The event names, sorted and without repeats; unknown names are refused."""
    events = list(events)
    unknown = [e for e in events if e not in EVENT_NAMES]
    if unknown:
        raise WebhookError(
            f"Unknown event {unknown[0]!r}; expected some of {', '.join(EVENT_NAMES)}.",
            field="events",
        )
    return sorted(set(events))


def apply_events(webhook: Webhook, all_events: bool, events: list[str] | None) -> None:
    """Set the subscriptions; ``events=None`` keeps the current explicit ones.

    As in Postal, subscribing to all events drops the explicit subscriptions, and a webhook
    must want something.
    """
    if not all_events and not (events if events is not None else webhook.events):
        raise WebhookError("Choose all events or at least one event.", field="events")
    webhook.all_events = all_events
    if all_events:
        webhook.events = []
    elif events is not None:
        webhook.events = [WebhookEvent(event=name) for name in events]


def retry_now(dbsession, log: WebhookRequestLog) -> str:
    """Send the logged request again as soon as a worker is free.

    A request still waiting for its next scheduled attempt just becomes due now.  One that
    succeeded or gave up is queued once more, with the same body (and so the same uuid and
    signature) to the webhook's current URL, numbered after its last attempt, so the usual
    schedule covers whatever attempts it has left (one that gave up gets this one only).
    Returns ``"due"`` or ``"queued"``.
    """
    pending = dbsession.scalar(select(WebhookRequest).where(WebhookRequest.uuid == log.uuid))
    if pending is not None:
        if pending.locked_at is not None:
            raise WebhookError("This request is being sent right now.")
        pending.retry_after = None
        dbsession.flush()
        return "due"
    webhook = dbsession.get(Webhook, log.webhook_id) if log.webhook_id else None
    if webhook is None:
        raise WebhookError("The webhook of this request has been deleted.")
    attempts = dbsession.scalar(
        select(func.max(WebhookRequestLog.attempt)).where(WebhookRequestLog.uuid == log.uuid)
    )
    dbsession.add(
        WebhookRequest(
            uuid=log.uuid, server_id=log.server_id, webhook_id=webhook.id, url=webhook.url,
            event=log.event, payload=log.payload, attempts=attempts or 0,
        )
    )  # fmt: skip
    dbsession.flush()
    return "queued"
