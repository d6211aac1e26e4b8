"""Message retention and suppression expiry, run daily by the scheduler.

Per server, as Postal does: raw message bodies older than ``raw_message_retention_days`` are
removed, then the oldest bodies while the server's bodies exceed
``raw_message_retention_size`` MB, then message rows older than ``message_retention_days``
(with their deliveries, clicks, loads and spam checks).  Unlike Postal, nothing that is still
queued or held and not yet expired is ever removed, whatever the limits.  Deletes run in
bounded batches, each its own transaction, so a large backlog never holds long locks.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import and_, delete, exists, func, or_, select

from postal import hookimpl
from postal.models import Message, QueuedMessage, RawMessage, Server, Suppression, utcnow
from postal.types import ScheduledTask
from postal.unit_of_work import unit_of_work


log = logging.getLogger(__name__)

BATCH = 500


def _still_needed(now):
    """Messages whose bytes and row must stay: queued, or held and not yet expired."""
    queued = exists().where(QueuedMessage.message_id == Message.id)
    held = and_(
        Message.held.is_(True), or_(Message.hold_expiry.is_(None), Message.hold_expiry > now)
    )
    return or_(queued, held)


def _raw_in_use(now):
    return exists().where(Message.raw_message_id == RawMessage.id, _still_needed(now))


def _delete_batches(registry, build_ids, model) -> int:
    """Delete rows of ``model`` whose ids ``build_ids(now)`` selects, a batch at a time."""
    total = 0
    while True:
        with unit_of_work(registry) as request:
            ids = request.dbsession.scalars(build_ids(utcnow()).limit(BATCH)).all()
            if ids:
                request.dbsession.execute(delete(model).where(model.id.in_(ids)))
        total += len(ids)
        if len(ids) < BATCH:
            return total


def _end_of_day_cutoff(now: dt.datetime, days: int) -> dt.datetime:
    start_of_today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start_of_today - dt.timedelta(days=days - 1)


def apply_retention(registry, server_id: int) -> dict[str, int]:
    with unit_of_work(registry) as request:
        server = request.dbsession.get(Server, server_id)
        raw_days, raw_mb = server.raw_message_retention_days, server.raw_message_retention_size
        message_days = server.message_retention_days
    counts = {}

    def old_raw(now):
        return select(RawMessage.id).where(
            RawMessage.server_id == server_id,
            RawMessage.created_at < now - dt.timedelta(days=raw_days),
            ~_raw_in_use(now),
        )

    counts["raw_by_age"] = _delete_batches(registry, old_raw, RawMessage)
    counts["raw_by_size"] = _trim_raw_by_size(registry, server_id, raw_mb * 1024 * 1024)

    def old_messages(now):
        return select(Message.id).where(
            Message.server_id == server_id,
            Message.timestamp < _end_of_day_cutoff(now, message_days),
            ~_still_needed(now),
        )

    counts["messages"] = _delete_batches(registry, old_messages, Message)
    return counts


def _trim_raw_by_size(registry, server_id: int, limit_bytes: int) -> int:
    removed = 0
    while True:
        with unit_of_work(registry) as request:
            now = utcnow()
            total = request.dbsession.scalar(
                select(func.coalesce(func.sum(RawMessage.size), 0)).where(
                    RawMessage.server_id == server_id
                )
            )
            excess = int(total) - limit_bytes
            if excess <= 0:
                return removed
            oldest = request.dbsession.execute(
                select(RawMessage.id, RawMessage.size)
                .where(RawMessage.server_id == server_id, ~_raw_in_use(now))
                .order_by(RawMessage.created_at, RawMessage.id)
                .limit(BATCH)
            ).all()
            victims = []
            for raw_id, size in oldest:
                if excess <= 0:
                    break
                victims.append(raw_id)
                excess -= size
            if not victims:
                return removed  # everything left is still needed
            request.dbsession.execute(delete(RawMessage).where(RawMessage.id.in_(victims)))
        removed += len(victims)


def process_message_retention(registry) -> None:
    with unit_of_work(registry) as request:
        server_ids = request.dbsession.scalars(select(Server.id)).all()
    for server_id in server_ids:
        counts = apply_retention(registry, server_id)
        if any(counts.values()):
            log.info("retention for server %s removed %s", server_id, counts)


def prune_suppressions(registry) -> int:
    def expired(now):
        return select(Suppression.id).where(
            Suppression.keep_until.is_not(None), Suppression.keep_until <= now
        )

    return _delete_batches(registry, expired, Suppression)


@hookimpl
def postal_register_scheduled_tasks():
    day = dt.timedelta(days=1)
    return [
        ScheduledTask(
            name="process_message_retention", interval=day, run=process_message_retention
        ),
        ScheduledTask(name="prune_suppression_lists", interval=day, run=prune_suppressions),
    ]
