"""What an operator may do to a message (Postal §4.8), for the management API and the web UI.

* retry — a queued message becomes due now; any other is queued again, ``manual``;
* release — a held message is queued again, ``manual`` (skipping the holds of credentials,
  the suppression list, development mode and routes, as Postal's "Retry/Release" does);
* cancel hold — a held message becomes ``HoldCancelled``, with a delivery saying so;
* remove from queue — only while no worker has it locked.
"""

from __future__ import annotations

from pyramid.threadlocal import get_current_registry
from sqlalchemy import select
from zope.sqlalchemy import mark_changed

from .headers import header_block, header_values
from .ip_pools import allocate
from .messages import FORWARDED, batch_key, recipient_domain
from .models import Delivery, Message, QueuedMessage, RawMessage, utcnow


HOLD_CANCELLED = "The hold on this message has been removed without action."


class MessageActionError(ValueError):
    """The action does not apply to the message as it is now; the message is safe to show."""


def queued_row(dbsession, message: Message) -> QueuedMessage | None:
    return dbsession.scalar(select(QueuedMessage).where(QueuedMessage.message_id == message.id))


def requeue(dbsession, message: Message) -> None:
    """Queue again with ``manual`` set, and clear the hold.  With ``postal.use_ip_pools`` the
    message gets a source address again, as when it was first queued."""
    dbsession.add(
        QueuedMessage(
            server_id=message.server_id,
            message_id=message.id,
            domain=recipient_domain(message.rcpt_to or ""),
            route_id=message.route_id,
            batch_key=batch_key(message),
            manual=True,
            ip_address_id=_source_address(dbsession, message),
        )
    )
    message.held, message.hold_expiry = False, None
    dbsession.flush()


def _source_address(dbsession, message: Message) -> int | None:
    settings = get_current_registry().settings or {}
    sends_out = message.scope == "outgoing" or message.endpoint_type in FORWARDED
    if not settings.get("postal.use_ip_pools") or not sends_out:
        return None
    raw = dbsession.get(RawMessage, message.raw_message_id) if message.raw_message_id else None
    head = header_block(raw.data) if raw is not None else b""
    chosen = allocate(dbsession, message.server_id, header_values(head, "From"), message.rcpt_to)
    return chosen.id if chosen else None


def retry(dbsession, message: Message, transaction_manager=None) -> None:
    queued = queued_row(dbsession, message)
    if queued is None:
        requeue(dbsession, message)
        return
    if queued.locked_at is not None:
        raise MessageActionError("The message is being delivered right now.")
    queued.retry_after = None
    # Clearing a value that was already clear writes nothing; the retry still counts.
    mark_changed(dbsession, transaction_manager=transaction_manager)


def release(dbsession, message: Message) -> None:
    if not message.held:
        raise MessageActionError("Only held messages can be released.")
    if queued_row(dbsession, message) is None:
        requeue(dbsession, message)


def cancel_hold(dbsession, message: Message) -> None:
    if not message.held:
        raise MessageActionError("Only held messages can have their hold cancelled.")
    now = utcnow()
    message.held, message.hold_expiry = False, None
    message.status, message.last_delivery_attempt = "HoldCancelled", now
    dbsession.add(
        Delivery(message_id=message.id, status="HoldCancelled", details=HOLD_CANCELLED,
                 timestamp=now)
    )  # fmt: skip
    dbsession.flush()


def remove_from_queue(dbsession, message: Message) -> None:
    queued = queued_row(dbsession, message)
    if queued is None:
        raise MessageActionError("The message is not in the queue.")
    if queued.locked_at is not None:
        raise MessageActionError("The message is being delivered right now.")
    dbsession.delete(queued)
    dbsession.flush()
