"""Held messages expire: an hourly task turns every hold past its ``hold_expiry`` (set to
``postal.default_maximum_hold_expiry_days`` when the message was held, 7 days by default)
into ``HoldCancelled``, as Postal's hourly task does.  Quarantined spam, messages held by a
route, by development mode or by a send limit all expire the same way; retention may then
remove them.  Bounded batches, each its own transaction.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import insert, select, update
from zope.sqlalchemy import mark_changed

from postal import hookimpl
from postal.message_actions import HOLD_CANCELLED
from postal.models import Delivery, Message, utcnow
from postal.types import ScheduledTask
from postal.unit_of_work import unit_of_work


log = logging.getLogger(__name__)

BATCH = 500


def expire_holds(registry) -> int:
    total = 0
    while True:
        with unit_of_work(registry) as request:
            db, now = request.dbsession, utcnow()
            ids = db.scalars(
                select(Message.id)
                .where(Message.held.is_(True), Message.hold_expiry <= now)
                .order_by(Message.id)
                .limit(BATCH)
            ).all()
            if ids:
                mark_changed(db, transaction_manager=request.tm)
                db.execute(
                    update(Message)
                    .where(Message.id.in_(ids), Message.held.is_(True))
                    .values(held=False, hold_expiry=None, status="HoldCancelled",
                            last_delivery_attempt=now)
                )  # fmt: skip
                rows = [
                    {"message_id": i, "status": "HoldCancelled", "details": HOLD_CANCELLED,
                     "timestamp": now}
                    for i in ids
                ]  # fmt: skip
                db.execute(insert(Delivery), rows)
        total += len(ids)
        if len(ids) < BATCH:
            if total:
                log.info("expired %s held messages", total)
            return total


@hookimpl
def postal_register_scheduled_tasks():
    return [
        ScheduledTask(name="expire_held_messages", interval=dt.timedelta(hours=1), run=expire_holds)
    ]
