"""Writing a processed batch back in one transaction: Delivery rows in one INSERT, message
statuses and queue retries as executemany UPDATEs, finished queue rows in one DELETE, then
suppressions and events.  Every statement is guarded by the claim token, so a batch whose
claim was taken over (it went stale) cannot clobber the new owner's work.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, delete, insert, select, update
from zope.sqlalchemy import mark_changed

from ..events import Event
from ..models import Delivery, Message, QueuedMessage, Server, Suppression, utcnow
from ..payloads import delivery_payload
from ..tokens import random_bytes, random_string
from .batch import Batch, Job
from .receiving_records import record_receiving
from .retry import retry_delay


EVENT_FOR_STATUS = {
    "Sent": "MessageSent",
    "SoftFail": "MessageDelayed",
    "HardFail": "MessageDeliveryFailed",
    "Held": "MessageHeld",
}
TEXT_LIMIT = 65000

_QUEUE, _MESSAGES = QueuedMessage.__table__, Message.__table__
# Core statements built once (their cache keys are memoised), run as executemany: the ORM's
# bulk paths cost several times as much per row for the same SQL.
_INSERT_DELIVERIES = insert(Delivery.__table__)
_SET_STATUSES = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        held=bindparam("b_held"),
        hold_expiry=bindparam("b_hold_expiry"),
        last_delivery_attempt=bindparam("b_last_delivery_attempt"),
        tag=bindparam("b_tag"),
    )
)
_FINISH = delete(_QUEUE).where(
    _QUEUE.c.id.in_(bindparam("ids", expanding=True)), _QUEUE.c.locked_by == bindparam("token")
)
_RETRY = (
    update(_QUEUE)
    .where(_QUEUE.c.id == bindparam("qid"), _QUEUE.c.locked_by == bindparam("token"))
    .values(
        retry_after=bindparam("retry_after"),
        attempts=bindparam("attempts"),
        locked_by=None,
        locked_at=None,
    )
)


LOG_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# A random byte below 252 (7 x 36) stands for LOG_ID_ALPHABET[byte % 36] and larger ones are
# dropped, so every character is uniform: a batch's ids from one translate() in C.
_LOG_ID_TABLE = bytes(LOG_ID_ALPHABET.encode()[byte % 36] for byte in range(256))
_LOG_ID_DROP = bytes(range(252, 256))


def log_id() -> str:
    return random_string(8, LOG_ID_ALPHABET)


def log_ids(count: int) -> list[str]:
    """``count`` ids like :func:`log_id`'s: 8 characters of ``LOG_ID_ALPHABET``."""
    need = 8 * count
    chars = b""
    while len(chars) < need:
        chars += random_bytes(need + need // 16 + 8).translate(_LOG_ID_TABLE, _LOG_ID_DROP)
    text = chars.decode("ascii")
    return [text[i : i + 8] for i in range(0, need, 8)]


def record_batch(request, batch: Batch, settings) -> None:
    db = request.dbsession
    # Core statements do not tell zope.sqlalchemy the session wrote; this commits them.
    mark_changed(db, transaction_manager=request.tm)
    now = utcnow()
    hold_days = dt.timedelta(days=settings["postal.default_maximum_hold_expiry_days"])
    # First, as adding a suppression or sending a bounce extends the delivery's details.
    _suppressions(db, batch, settings, now)
    record_receiving(request, batch, settings, now, suppress)
    deliveries, statuses, retries, finished = [], [], [], list(batch.orphans)
    fresh_ids = iter(log_ids(len(batch.jobs)))
    for job in batch.jobs:
        outcome, message = job.outcome, job.message
        if outcome is None or outcome.status is None:
            finished.append(job.queued.id)
            continue
        outcome.log_id = outcome.log_id or next(fresh_ids)
        deliveries.append(_delivery_row(job))
        held = outcome.status == "Held"
        statuses.append(
            {
                "b_id": message.id,
                "b_status": outcome.status,
                "b_held": held,
                "b_hold_expiry": now + hold_days if held else None,
                "b_last_delivery_attempt": outcome.timestamp,
                "b_tag": message.tag,
            }
        )
        if outcome.requeue:
            delay = outcome.retry_in
            wait = dt.timedelta(seconds=delay) if delay else retry_delay(job.queued.attempts)
            attempts = job.queued.attempts + 1
            retries.append(
                {
                    "qid": job.queued.id,
                    "token": batch.token,
                    "retry_after": now + wait,
                    "attempts": attempts,
                }
            )
        else:
            finished.append(job.queued.id)
    connection = db.connection()
    if deliveries:
        connection.execute(_INSERT_DELIVERIES, deliveries)
        connection.execute(_SET_STATUSES, statuses)
    _finish_queue(connection, batch.token, finished, retries)
    _servers(db, batch)
    _events(request, batch)


def _delivery_row(job: Job) -> dict:
    o = job.outcome
    return {
        "message_id": job.message.id,
        "status": o.status,
        "details": (o.details or "")[:TEXT_LIMIT],
        "output": (o.output or "")[:TEXT_LIMIT],
        "sent_with_ssl": bool(o.sent_with_ssl),
        "log_id": o.log_id,
        "time": round(o.time, 2) if o.time is not None else None,
        "timestamp": o.timestamp,
    }


def _finish_queue(connection, token: str, finished: list[int], retries: list[dict]) -> None:
    if finished:
        connection.execute(_FINISH, {"ids": finished, "token": token})
    if retries:
        connection.execute(_RETRY, retries)


def _suppressions(db, batch: Batch, settings, now) -> None:
    keep = dt.timedelta(days=settings["postal.default_suppression_list_automatic_removal_days"])
    for job in batch.jobs:
        outcome = job.outcome
        if outcome is None:
            continue
        address = (job.message.rcpt_to or "").lower()
        if outcome.unsuppress and job.suppression is not None:
            db.execute(delete(Suppression).where(Suppression.id == job.suppression.id))
        if outcome.suppress_reason is None:
            continue
        if not outcome.suppress_now and not _hard_failed_recently(db, job, now):
            continue
        suppress(db, job.server.id, address, outcome.suppress_reason, now + keep)
        if outcome.suppress_reason == "too many hard fails":
            outcome.details += " Recipient added to suppression list (too many hard fails)"


def suppress(db, server_id: int, address: str, reason: str, keep_until) -> Suppression:
    """Add ``address``, or refresh its reason and expiry when already listed."""
    row = db.scalar(
        select(Suppression).where(
            Suppression.server_id == server_id,
            Suppression.type == "recipient",
            Suppression.address == address.lower(),
        )
    )
    if row is None:
        row = Suppression(server_id=server_id, type="recipient", address=address.lower())
        db.add(row)
    row.reason, row.keep_until = reason, keep_until
    db.flush()
    return row


def _hard_failed_recently(db, job: Job, now) -> bool:
    """Postal's rule: another message to this recipient hard-failed in the last 24 h."""
    return (
        db.scalar(
            select(Message.id)
            .where(
                Message.server_id == job.server.id,
                Message.rcpt_to == job.message.rcpt_to,
                Message.status == "HardFail",
                Message.id != job.message.id,
                Message.last_delivery_attempt >= now - dt.timedelta(hours=24),
            )
            .limit(1)
        )
        is not None
    )


def _servers(db, batch: Batch) -> None:
    for server in batch.servers_touched.values():
        db.execute(
            update(Server)
            .where(Server.id == server.id)
            .values(
                send_limit_approaching_at=server.send_limit_approaching_at,
                send_limit_approaching_notified_at=server.send_limit_approaching_notified_at,
                send_limit_exceeded_at=server.send_limit_exceeded_at,
                send_limit_exceeded_notified_at=server.send_limit_exceeded_notified_at,
            )
        )


def _events(request, batch: Batch) -> None:
    for event in batch.events:
        request.notify(event)
    for job in batch.jobs:
        outcome = job.outcome
        name = EVENT_FOR_STATUS.get(outcome.status) if outcome else None
        if name:
            payload = delivery_payload(job.message, outcome)
            request.notify(Event(name, job.server.id, payload))
