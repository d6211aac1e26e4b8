"""The worker's Prometheus metrics (served on its health server's ``/metrics``).

Defined once per process: prometheus_client refuses a second metric of the same name.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import func, select

from ..models import QueuedMessage, utcnow


QUEUE_DEPTH = Gauge("postal_queued_messages", "Messages waiting in the queue (all scopes).")
QUEUE_AGE = Gauge(
    "postal_queue_oldest_message_age_seconds", "Age of the oldest message in the queue."
)
CLAIMED = Counter("postal_worker_messages_claimed", "Queued messages claimed by this worker.")
DELIVERIES = Counter(
    "postal_worker_deliveries", "Delivery attempts recorded, by status.", ["status"]
)
DELIVERY_TIME = Histogram(
    "postal_delivery_duration_seconds",
    "Seconds one outgoing message spent in the pipeline (checks, signing, SMTP).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
QUEUE_LATENCY = Histogram(
    "postal_message_queue_latency",
    "Seconds from a message being queued to this attempt at it (Postal's metric).",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600, 86400),
)
JOB_RUNTIME = Histogram(
    "postal_worker_job_runtime", "Seconds one claimed batch took, claim to commit.", ["job"]
)
ERRORS = Counter("postal_worker_errors", "Errors in the worker loop, by exception.", ["error"])


def update_queue_depth(dbsession) -> None:
    depth, oldest = dbsession.execute(
        select(func.count(), func.min(QueuedMessage.created_at))
    ).one()
    QUEUE_DEPTH.set(depth)
    QUEUE_AGE.set(max(0.0, (utcnow() - oldest).total_seconds()) if oldest else 0)
