"""Webhooks: events become signed HTTP POSTs, retried on Postal's schedule.

* ``postal_event`` runs after the event's transaction committed and inserts one
  ``webhook_requests`` row per matching webhook, in a unit of work of its own.  The hook gets
  only the event, so the registry comes from Pyramid's thread-local stack, which every unit
  of work and web request pushes for its duration (after-commit hooks run inside it).
* ``postal_worker_poll`` claims due rows in batches, POSTs them (:mod:`.delivery`) and records
  each attempt (:mod:`.queue`).
* A scheduled task prunes request logs older than ``webhooks.log_retention_days``.
"""

from __future__ import annotations

import datetime as dt
import logging

from pyramid.threadlocal import get_current_registry

from postal import hookimpl
from postal.signing import signing_key
from postal.ssrf import request_resolver
from postal.types import ScheduledTask
from postal.unit_of_work import unit_of_work

from . import queue
from .delivery import Sender


log = logging.getLogger(__name__)


@hookimpl(trylast=True)
def postal_event(event):
    if event.server_id is None:
        return
    registry = get_current_registry()
    if registry.get("dbsession_factory") is None:
        log.error("webhooks: no application registry active; %s not queued", event.name)
        return
    with unit_of_work(registry) as request:
        queue.enqueue(request.dbsession, event)


@hookimpl(trylast=True)
def postal_worker_poll(registry, worker_id):
    settings = registry.settings
    stale_seconds = settings.get("worker.claim_stale_seconds", 300)
    with unit_of_work(registry) as request:
        jobs = queue.claim(
            request.dbsession, worker_id, settings.get("webhooks.batch_size", 20), stale_seconds
        )
        resolver = request_resolver(request)
    if not jobs:
        return 0
    return deliver(registry, jobs, budget_seconds=stale_seconds / 2, resolver=resolver)


def deliver(registry, jobs: list[queue.Job], *, budget_seconds: float, resolver=None) -> int:
    """POST each job and record it; stop early (and release the rest) when the batch has
    taken half the claim lifetime, so no claim expires while it is being worked on."""
    started = dt.datetime.now(dt.UTC)
    done = 0
    signer = signing_key(registry.settings)
    with Sender(registry.settings, signer, resolver=resolver) as sender:
        for job in jobs:
            if (dt.datetime.now(dt.UTC) - started).total_seconds() > budget_seconds:
                break
            outcome = sender.post(job.url, job.body)
            with unit_of_work(registry) as request:
                queue.record(request.dbsession, job, outcome)
            done += 1
    if done < len(jobs):
        with unit_of_work(registry) as request:
            queue.release(request.dbsession, jobs[done:])
    return done


def prune_request_logs(registry) -> int:
    """Delete request logs older than ``webhooks.log_retention_days`` (Postal: 10 days)."""
    days = registry.settings.get("webhooks.log_retention_days", 10)
    total = 0
    while True:
        with unit_of_work(registry) as request:
            deleted = queue.prune_logs(request.dbsession, days)
        total += deleted
        if deleted < queue.PRUNE_BATCH:
            return total


@hookimpl
def postal_register_scheduled_tasks():
    return [
        ScheduledTask(
            name="webhooks.prune_request_logs",
            interval=dt.timedelta(hours=1),
            run=prune_request_logs,
        )
    ]
