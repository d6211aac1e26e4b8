"""The worker process: ``worker.threads`` loops that claim a batch of queued messages,
run each through the outgoing pipeline (deliveries to different domains in parallel on a
shared pool), record the batch, and give plugins (webhooks, …) their turn.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from zope.sqlalchemy import mark_changed

from ..health import HealthServer
from ..models import utcnow
from ..settings import ConfigError, health_address
from ..types import DeliveryResult
from ..unit_of_work import unit_of_work
from . import metrics
from .batch import Batch, load_batch
from .claims import ClaimKeeper, claim_batch, new_token, read_committed
from .incoming import IncomingPipeline
from .incoming_loading import incoming_message, load_incoming
from .outgoing import OutgoingPipeline
from .recording import record_batch


log = logging.getLogger(__name__)

GROUP_SIZE = 10


class Worker:
    def __init__(self, registry):
        settings = registry.settings
        self.registry = registry
        self.hooks = registry["postal.plugin_manager"].hook
        self.pipeline = OutgoingPipeline(settings, self.hooks)
        self.incoming = IncomingPipeline(settings, self.hooks)
        self.threads = max(1, settings["worker.threads"])
        self.batch_size = max(1, settings["worker.batch_size"])
        self.poll_interval = settings["worker.poll_interval"]
        self.stale_seconds = settings["worker.claim_stale_seconds"]
        self.keeper = ClaimKeeper(registry, self.stale_seconds)
        self.pool = ThreadPoolExecutor(
            max(1, settings["worker.delivery_threads"]),
            thread_name_prefix="deliver",
            initializer=_use_registry,
            initargs=(registry,),
        )
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- one turn ----------------------------------------------------------------------

    def process_batch(self, thread_name: str = "main") -> int:
        """Claim, deliver and record one batch; returns how many messages it held."""
        token = new_token(thread_name)
        self.keeper.add(token)
        started = time.monotonic()
        try:
            with unit_of_work(self.registry) as request:
                read_committed(request.dbsession)
                # Core statements do not tell zope.sqlalchemy that the session wrote.
                mark_changed(request.dbsession, transaction_manager=request.tm)
                ids = claim_batch(
                    request.dbsession, token, self.batch_size, self.stale_seconds,
                    tuple(self.registry.settings["worker.ip_addresses"]),
                )  # fmt: skip
                batch = load_batch(request.dbsession, token, ids) if ids else None
                if batch is not None:
                    load_incoming(request.dbsession, batch, self.hooks)
            if batch is None:
                return 0
            metrics.CLAIMED.inc(len(ids))
            self.deliver(batch)
            with unit_of_work(self.registry) as request:
                record_batch(request, batch, self.registry.settings)
            self.after_delivery(batch)
            metrics.JOB_RUNTIME.labels("outgoing").observe(time.monotonic() - started)
            return len(ids)
        finally:
            self.keeper.discard(token)

    def deliver(self, batch: Batch) -> None:
        """Messages to one domain go in runs of ``GROUP_SIZE`` one after another (sharing a
        connection); runs and domains go in parallel, so one slow remote does not hold up
        the rest of the batch and a big batch to one domain uses a few connections."""
        groups = defaultdict(list)
        for job in batch.jobs:
            groups[job.queued.domain].append(job)
        runs = [
            jobs[i : i + GROUP_SIZE]
            for jobs in groups.values()
            for i in range(0, len(jobs), GROUP_SIZE)
        ]
        futures = [self.pool.submit(self._deliver_group, batch, jobs) for jobs in runs]
        for future in futures:
            future.result()

    def _deliver_group(self, batch: Batch, jobs) -> None:
        for job in jobs:
            started = time.monotonic()
            metrics.QUEUE_LATENCY.observe((utcnow() - job.queued.created_at).total_seconds())
            pipeline = self.incoming if job.message.scope == "incoming" else self.pipeline
            job.outcome = pipeline.run(batch, job)
            metrics.DELIVERY_TIME.observe(time.monotonic() - started)

    def after_delivery(self, batch: Batch) -> None:
        """``postal_after_delivery`` for every recorded attempt, once it is committed."""
        logs = log.isEnabledFor(logging.INFO)
        for job in batch.jobs:
            outcome = job.outcome
            if outcome is None or not outcome.status:
                continue
            metrics.DELIVERIES.labels(outcome.status).inc()
            if logs:  # the extra fields are not built for a disabled log
                log.info(
                    "%s %s: %s", job.message.scope, outcome.status, outcome.details,
                    extra={"message_token": job.message.token, "message_id": job.message.id,
                           "server_id": job.server.id, "status": outcome.status,
                           "log_id": outcome.log_id, "attempt": job.queued.attempts + 1},
                )  # fmt: skip
            result = DeliveryResult(
                outcome.status, outcome.details, outcome.output, outcome.sent_with_ssl,
                outcome.log_id, outcome.time, outcome.retry_in,
            )  # fmt: skip
            if job.message.scope == "incoming":
                message = incoming_message(job, job.raw or b"")
            else:
                message = job.outgoing or self.pipeline.outgoing_message(job)
            try:
                self.hooks.postal_after_delivery(message=message, result=result)
            except Exception:
                log.exception("postal_after_delivery failed for message %s", job.message.id)

    def poll_plugins(self, worker_id: str) -> int:
        results = self.hooks.postal_worker_poll(registry=self.registry, worker_id=worker_id)
        return sum(r or 0 for r in results)

    def run_until_idle(self, limit: int = 1000) -> int:
        """Process batches until none is due (tests, ``postal worker --once``)."""
        total = 0
        for _ in range(limit):
            done = self.process_batch() + self.poll_plugins(_worker_id("main"))
            if not done:
                break
            total += done
        return total

    # --- the long-running loops ----------------------------------------------------------

    def start(self) -> None:
        self.keeper.start()
        for number in range(self.threads):
            name = f"worker-{number + 1}"
            thread = threading.Thread(target=self._loop, args=(name,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        threading.Thread(target=self._housekeeping, name="worker-metrics", daemon=True).start()

    def stop(self, timeout: float = 30) -> None:
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        self.keeper.stop()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self, name: str) -> None:
        worker_id = _worker_id(name)
        while not self._stopping.is_set():
            done = 0
            for step in (lambda: self.process_batch(name), lambda: self.poll_plugins(worker_id)):
                try:
                    done += step()
                except Exception as exc:
                    metrics.ERRORS.labels(type(exc).__name__).inc()
                    log.exception("worker turn failed; trying again shortly")
            if not done:
                self._stopping.wait(self.poll_interval)

    def _housekeeping(self) -> None:
        while not self._stopping.wait(15):
            try:
                with unit_of_work(self.registry) as request:
                    metrics.update_queue_depth(request.dbsession)
            except Exception:
                log.exception("could not read the queue depth")


def _use_registry(registry) -> None:
    """Plugins called from delivery threads (tracking opens its own unit of work) find the
    worker's registry through Pyramid's thread-local, as they would in a request."""
    from pyramid.threadlocal import manager

    manager.push({"registry": registry, "request": None})


def _worker_id(thread_name: str) -> str:
    return f"host:{socket.gethostname()} pid:{os.getpid()} thread:{thread_name}"


class WorkerProcess:
    """``postal worker``: the loops plus the health server (``/health``, ``/metrics``)."""

    name = "worker"

    def __init__(self, config_file: str):
        from ..bootstrap import build_configurator, fail

        registry = build_configurator(config_file, "worker").registry
        try:
            host, port = health_address(registry.settings, "worker")
        except ConfigError as exc:
            fail(f"configuration error: {exc}")
        self.worker = Worker(registry)
        self.health = HealthServer("worker", host, port)

    def start(self) -> None:
        self.health.start()
        self.worker.start()
        threads = self.worker.threads
        log.info("worker started with %s threads", threads)
        print(f"postal worker started ({threads} threads)", flush=True)

    def stop(self) -> None:
        self.worker.stop()
        self.health.stop()


def worker_process(config_file: str) -> WorkerProcess:
    return WorkerProcess(config_file)
