"""Message volume per hour or per day, counted from the messages table.

One grouped query per chart; the bucket expression differs per engine.  Times are UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Message, MessageStatus, QueuedMessage


FORMATS = {
    "sqlite": {"hour": "%Y-%m-%d %H", "day": "%Y-%m-%d"},
    "mysql": {"hour": "%Y-%m-%d %H", "day": "%Y-%m-%d"},
    "postgresql": {"hour": "YYYY-MM-DD HH24", "day": "YYYY-MM-DD"},
}
STEP = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}
PY_FORMAT = {"hour": "%Y-%m-%d %H", "day": "%Y-%m-%d"}


@dataclass(frozen=True)
class Bucket:
    start: dt.datetime
    incoming: int
    outgoing: int
    bounced: int = 0  # messages (either way) whose status is Bounced
    held: int = 0  # messages whose status is Held


SERIES = ("outgoing", "incoming", "bounced", "held")


def _bucket_expression(dialect: str, period: str):
    fmt = FORMATS["mysql" if dialect in ("mysql", "mariadb") else dialect][period]
    if dialect == "sqlite":
        return func.strftime(fmt, Message.timestamp)
    if dialect == "postgresql":
        return func.to_char(Message.timestamp, fmt)
    return func.date_format(Message.timestamp, fmt)


def volume(dbsession: Session, server_id: int, period: str, count: int, now: dt.datetime):
    """The last ``count`` hours or days, oldest first, including empty ones."""
    if period == "hour":
        end = now.replace(minute=0, second=0, microsecond=0)
    else:
        end = now.replace(hour=0, minute=0, second=0, microsecond=0)
    starts = [end - STEP[period] * n for n in range(count - 1, -1, -1)]
    bucket = _bucket_expression(dbsession.get_bind().dialect.name, period)
    rows = dbsession.execute(
        select(bucket, Message.scope, Message.status, func.count())
        .where(Message.server_id == server_id, Message.timestamp >= starts[0])
        .group_by(bucket, Message.scope, Message.status)
    )
    counts: dict[tuple[str, str], int] = {}
    for key, scope, status, n in rows:
        for series in (scope, {"Bounced": "bounced", "Held": "held"}.get(str(status))):
            if series:
                counts[key, series] = counts.get((key, series), 0) + n
    return [
        Bucket(start, **{series: counts.get((start.strftime(PY_FORMAT[period]), series), 0)
                         for series in SERIES})
        for start in starts
    ]  # fmt: skip


def summary(dbsession: Session, server_id: int, now: dt.datetime) -> dict[str, int]:
    """Counts for the server header: last 24 hours, held and queued now."""
    since = now - dt.timedelta(hours=24)

    def count(*conditions) -> int:
        query = select(func.count()).select_from(Message).where(Message.server_id == server_id)
        return dbsession.scalar(query.where(*conditions)) or 0

    queued = dbsession.scalar(
        select(func.count()).select_from(QueuedMessage).where(QueuedMessage.server_id == server_id)
    )
    return {
        "outgoing": count(Message.scope == "outgoing", Message.timestamp >= since),
        "incoming": count(Message.scope == "incoming", Message.timestamp >= since),
        "bounced": count(Message.status == MessageStatus.BOUNCED, Message.timestamp >= since),
        "held": count(Message.status == MessageStatus.HELD),
        "queued": queued or 0,
    }
