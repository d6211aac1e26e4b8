"""The webhook request queue in the database: enqueue, claim, record an attempt, prune.

One ``webhook_requests`` row per (event, matching webhook) waits until a worker claims it; each
attempt adds a ``webhook_request_logs`` row.  The row keeps the exact JSON body to send, so
every retry sends (and signs) the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid as uuid_module
from dataclasses import dataclass

from prometheus_client import Counter
from sqlalchemy import and_, delete, exists, or_, select, update

from postal.events import Event
from postal.models import Webhook, WebhookEvent, WebhookRequest, WebhookRequestLog, utcnow


# Postal's schedule: minutes to wait after failed attempt 1, 2, 3, 4 and 5; the 6th gives up.
RETRY_DELAYS_MINUTES = (2, 3, 6, 10, 15)
MAX_ATTEMPTS = len(RETRY_DELAYS_MINUTES) + 1
LOGGED_BODY_CHARS = 4096
PRUNE_BATCH = 1000


@dataclass(frozen=True)
class Job:
    """A claimed request, detached from the session that claimed it."""

    id: int
    uuid: str
    server_id: int
    webhook_id: int | None
    url: str
    event: str
    body: bytes
    attempts: int
    claim: str


@dataclass(frozen=True)
class Outcome:
    """What one HTTP attempt gave: a status and body, or an error before any reply."""

    status_code: int | None
    body: str | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# Served on the worker's /metrics.
OUTCOMES = Counter("postal_webhook_requests", "Webhook request attempts, by outcome.", ["outcome"])


def matching_webhooks(dbsession, server_id: int, event_name: str) -> list[Webhook]:
    subscribed = exists().where(
        WebhookEvent.webhook_id == Webhook.id, WebhookEvent.event == event_name
    )
    query = (
        select(Webhook)
        .where(Webhook.server_id == server_id, Webhook.enabled.is_(True))
        .where(or_(Webhook.all_events.is_(True), subscribed))
        .order_by(Webhook.id)
    )
    return list(dbsession.scalars(query))


def request_body(event: Event, request_uuid: str) -> str:
    """Postal's envelope: ``{"event", "timestamp", "payload", "uuid"}``."""
    envelope = {
        "event": event.name,
        "timestamp": event.timestamp,
        "payload": event.payload,
        "uuid": request_uuid,
    }
    return json.dumps(envelope, separators=(",", ":"), default=str)


def enqueue(dbsession, event: Event) -> int:
    """One pending request per enabled webhook of the event's server that wants it."""
    if event.server_id is None:
        return 0
    webhooks = matching_webhooks(dbsession, event.server_id, event.name)
    created = dt.datetime.fromtimestamp(event.timestamp, dt.UTC).replace(microsecond=0)
    for webhook in webhooks:
        request_uuid = str(uuid_module.uuid4())
        dbsession.add(
            WebhookRequest(
                uuid=request_uuid,
                server_id=event.server_id,
                webhook_id=webhook.id,
                url=webhook.url,
                event=event.name,
                payload=request_body(event, request_uuid),
                created_at=created,
            )
        )
    return len(webhooks)


def _due(now: dt.datetime, stale_before: dt.datetime):
    return and_(
        or_(WebhookRequest.locked_at.is_(None), WebhookRequest.locked_at < stale_before),
        or_(WebhookRequest.retry_after.is_(None), WebhookRequest.retry_after <= now),
    )


def claim(dbsession, worker_id: str, limit: int, stale_seconds: int) -> list[Job]:
    """Lock up to ``limit`` due requests for this worker and return them.

    PostgreSQL and MariaDB skip rows another worker is claiming (``SKIP LOCKED``), so many
    workers claim side by side.  SQLite has one writer at a time, so a single
    ``UPDATE … WHERE id IN (SELECT … LIMIT n)`` is atomic there.  A claim older than
    ``stale_seconds`` (a worker that died) is taken over.
    """
    now = utcnow()
    due = _due(now, now - dt.timedelta(seconds=stale_seconds))
    token = f"{worker_id}:{uuid_module.uuid4().hex[:12]}"[:255]
    candidates = select(WebhookRequest.id).where(due).order_by(WebhookRequest.id).limit(limit)
    dialect = dbsession.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        # InnoDB locks every row a locking read looks at.  Through the (locked_at,
        # retry_after) index plus a sort it would read and lock every due row, and a second
        # worker would skip rows the first never took; walking the primary key in id order
        # stops at the limit.  READ COMMITTED drops the locks on rows that do not match.
        dbsession.connection(execution_options={"isolation_level": "READ COMMITTED"})
        for name in ("mysql", "mariadb"):
            candidates = candidates.with_hint(WebhookRequest, "FORCE INDEX (PRIMARY)", name)
    if dialect in ("postgresql", "mysql", "mariadb"):
        ids = list(dbsession.scalars(candidates.with_for_update(skip_locked=True)))
        if not ids:
            return []
        target = WebhookRequest.id.in_(ids)
    else:
        target = WebhookRequest.id.in_(candidates.scalar_subquery())
    dbsession.execute(
        update(WebhookRequest).where(target).values(locked_by=token, locked_at=now),
        execution_options={"synchronize_session": False},
    )
    rows = dbsession.scalars(select(WebhookRequest).where(WebhookRequest.locked_by == token))
    return [_job(row, token) for row in rows]


def _job(row: WebhookRequest, token: str) -> Job:
    return Job(
        id=row.id,
        uuid=row.uuid,
        server_id=row.server_id,
        webhook_id=row.webhook_id,
        url=row.url,
        event=row.event,
        body=row.payload.encode("utf-8"),
        attempts=row.attempts or 0,
        claim=token,
    )


def release(dbsession, jobs: list[Job]) -> None:
    """Give back claims this worker will not get to, so others need not wait for them."""
    for job in jobs:
        dbsession.execute(
            update(WebhookRequest)
            .where(WebhookRequest.id == job.id, WebhookRequest.locked_by == job.claim)
            .values(locked_by=None, locked_at=None)
        )


def record(dbsession, job: Job, outcome: Outcome) -> bool | None:
    """Log the attempt; delete the request on success or give-up, else schedule a retry.

    Returns whether it will be retried, or ``None`` when the request vanished meanwhile
    (its webhook was deleted, or the claim expired and another worker took it).
    """
    row = dbsession.scalar(
        select(WebhookRequest).where(
            WebhookRequest.id == job.id, WebhookRequest.locked_by == job.claim
        )
    )
    if row is None:
        return None
    now = utcnow()
    attempt = job.attempts + 1
    will_retry = not outcome.ok and attempt < MAX_ATTEMPTS
    dbsession.add(
        WebhookRequestLog(
            uuid=job.uuid,
            server_id=job.server_id,
            webhook_id=job.webhook_id,
            event=job.event,
            url=job.url,
            attempt=attempt,
            payload=row.payload,
            status_code=outcome.status_code,
            body=None if outcome.body is None else outcome.body[:LOGGED_BODY_CHARS],
            error=outcome.error,
            will_retry=will_retry,
            duration_ms=outcome.duration_ms,
            created_at=now,
        )
    )
    OUTCOMES.labels("sent" if outcome.ok else "retrying" if will_retry else "failed").inc()
    if will_retry:
        row.attempts = attempt
        row.error = outcome.error
        row.retry_after = now + dt.timedelta(minutes=RETRY_DELAYS_MINUTES[attempt - 1])
        row.locked_by = row.locked_at = None
    else:
        dbsession.delete(row)
    if outcome.ok and job.webhook_id is not None:
        dbsession.execute(
            update(Webhook).where(Webhook.id == job.webhook_id).values(last_used_at=now)
        )
    return will_retry


def prune_logs(dbsession, days: int, batch_size: int = PRUNE_BATCH) -> int:
    """Delete request logs older than ``days``, in bounded batches; returns how many."""
    cutoff = utcnow() - dt.timedelta(days=days)
    old = (
        select(WebhookRequestLog.id)
        .where(WebhookRequestLog.created_at < cutoff)
        .order_by(WebhookRequestLog.id)
        .limit(batch_size)
    )
    ids = list(dbsession.scalars(old))
    if ids:
        dbsession.execute(delete(WebhookRequestLog).where(WebhookRequestLog.id.in_(ids)))
    return len(ids)
