"""Durable accept with group commit.

Every finished SMTP transaction is handed to one writer thread.  The writer takes all that
are waiting, stores them (raw bytes, a row per recipient, queue rows: the rows
:func:`postal.messages.store_many` makes, a batch at a time) in
ONE unit of work, commits, and only then resolves each session's
future, so ``250`` is never sent before the rows are committed, and many concurrent clients
share one commit.  If a batch fails, its transactions are retried one by one so a single bad
message cannot fail the others; a transaction that still fails gets ``451`` and nothing of
it is kept (its unit of work rolled back).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from ..messages import StoreRequest, store_many
from ..warm_connection import IDLE_SECONDS, WarmConnection
from . import metrics


log = logging.getLogger(__name__)

MAX_BATCH = 200
_STOP = object()


@dataclass(frozen=True)
class StoreGroup:
    """Recipients stored with the same row fields (one ``StoreRequest``)."""

    server_id: int
    scope: str
    rcpt_to: tuple[str, ...]
    fields: tuple[tuple[str, object], ...] = ()


@dataclass
class PendingAccept:
    mail_from: str
    raw: bytes
    groups: list[StoreGroup]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    queued_at: float = field(default_factory=time.perf_counter)


class AcceptError(Exception):
    """The message could not be stored; the client gets a ``451``."""


class GroupCommitWriter:
    def __init__(self, registry, max_batch: int = MAX_BATCH):
        self.registry = registry
        self._engine = registry["dbengine"]
        self._connection = WarmConnection(self._engine)
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="smtp-accept", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    async def accept(self, mail_from: str, raw: bytes, groups: list[StoreGroup]):
        """Store and commit; returns the :class:`ReceivedMessage` rows or raises
        :class:`AcceptError`."""
        loop = asyncio.get_running_loop()
        pending = PendingAccept(mail_from, raw, groups, loop, loop.create_future())
        self._queue.put(pending)
        return await pending.future

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                self._connection.release()
                continue
            if first is _STOP:
                self._connection.release()
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                self._connection.release()
                return

    def _commit(self, batch: list[PendingAccept]) -> None:
        try:
            results = self._connection.run(lambda connection: self._store(connection, batch))
        except Exception as exc:
            if len(batch) > 1:
                log.warning("group commit of %d messages failed (%s); retrying one by one",
                            len(batch), exc)  # fmt: skip
                for item in batch:
                    self._commit([item])
                return
            log.exception("could not store a message")
            metrics.EXCEPTIONS.labels(type="data", error=type(exc).__name__).inc()
            _resolve(batch, [AcceptError(str(exc))])
            return
        metrics.GROUP_COMMIT_SIZE.observe(len(batch))
        _resolve(batch, results)

    def _store(self, dbsession, batch: list[PendingAccept]) -> list[list]:
        requests, owners = [], []
        for index, item in enumerate(batch):
            for group in item.groups:
                requests.append(
                    StoreRequest(
                        group.server_id,
                        group.scope,
                        item.mail_from,
                        group.rcpt_to,
                        item.raw,
                        group.fields,
                    )  # fmt: skip
                )
                owners.append(index)
        results: list[list] = [[] for _ in batch]
        use_ip_pools = self.registry.settings["postal.use_ip_pools"]
        stored_all = store_many(dbsession, requests, ip_pools=use_ip_pools)
        for owner, stored in zip(owners, stored_all, strict=True):
            results[owner] += stored
        return results


def _resolve(batch: list[PendingAccept], results: list) -> None:
    """Hand results back to the sessions: one wake-up of each event loop per batch."""
    if len(results) == 1 and len(batch) > 1:
        results = results * len(batch)
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for item, result in zip(batch, results, strict=True):
        by_loop.setdefault(item.loop, []).append((item, result))
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_set_results, pairs)
        except RuntimeError:  # the loop is closed: the server is stopping, the rows are safe
            pass


def _set_results(pairs) -> None:
    now = time.perf_counter()
    for item, result in pairs:
        metrics.ACCEPT_LATENCY.observe(now - item.queued_at)
        if item.future.done():  # the client went away while we were committing
            continue
        if isinstance(result, Exception):
            item.future.set_exception(result)
        else:
            item.future.set_result(result)
