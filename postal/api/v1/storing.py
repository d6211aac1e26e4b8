"""Storing what the API accepts, with group commit.

Each request thread hands its message to one committer thread per web process and waits.
The committer takes every message waiting (up to ``MAX_BATCH``), writes them all in one
transaction (:func:`postal.messages.store_many`: three multi-row INSERTs whatever the
batch size) and wakes the requests, which only then answer with their ids.  Under load
that turns N transactions into one; idle, a batch is a single message and costs what a
direct insert would.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field

from ...messages import StoreRequest, store_many
from ...warm_connection import IDLE_SECONDS, WarmConnection


log = logging.getLogger(__name__)

MAX_BATCH = 200
# What an API message's row says unless the endpoint sets it.
FIELD_DEFAULTS = {
    "domain_id": None,
    "credential_id": None,
    "tag": None,
    "bounce": False,
    "received_with_ssl": True,
}
WAIT_SECONDS = 60


@dataclass(frozen=True)
class Stored:
    id: int
    token: str
    rcpt_to: str
    message_id: str | None


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class Pending:
    """One API request's message: one raw message, one row per recipient."""

    server_id: int
    mail_from: str
    rcpt_to: list[str]
    raw: bytes
    fields: dict
    result: list[Stored] | None = None
    error: BaseException | None = None
    # Held until the committer is done with this message.  A bare lock, not an Event: the
    # committer wakes every request of a batch while holding the GIL, and an Event's
    # condition variable costs several times as much per wake.
    done: threading.Lock = field(default_factory=_held_lock)


def store_batch(connection, batch: list[Pending], *, ip_pools: bool = False) -> None:
    """Write every pending message; fills each one's ``result``."""
    requests = [
        StoreRequest(
            p.server_id,
            "outgoing",
            p.mail_from,
            tuple(p.rcpt_to),
            p.raw,
            tuple({**FIELD_DEFAULTS, **p.fields}.items()),
        )
        for p in batch
    ]
    stored_all = store_many(connection, requests, ip_pools=ip_pools)
    for pending, stored in zip(batch, stored_all, strict=True):
        pending.result = [Stored(m.id, m.token, m.rcpt_to, m.message_id) for m in stored]


class GroupCommitter:
    def __init__(self, registry):
        self.registry = registry
        self._queue: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._connection = WarmConnection(registry["dbengine"])

    def store(self, pending: Pending) -> list[Stored]:
        """Block until ``pending`` is committed; raises what storing it raised."""
        self._start()
        self._queue.put(pending)
        if not pending.done.acquire(timeout=WAIT_SECONDS):
            raise TimeoutError("the message store did not answer in time")
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="api-group-commit", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                self._connection.release()
                continue
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _commit(self, batch: list[Pending]) -> None:
        try:
            self._write(batch)
        except Exception as exc:
            if len(batch) == 1:
                log.exception("could not store a message sent through the API")
                batch[0].error = exc
            else:
                # One bad message must not fail the others: store them one by one.
                for pending in batch:
                    self._commit([pending])
                return
        for pending in batch:
            pending.done.release()

    def _write(self, batch: list[Pending]) -> None:
        # A plain engine transaction rather than a unit of work: this thread only inserts
        # rows (no events, no plugins), and a unit of work's set-up costs as much as the
        # inserts of a small batch.  The connection stays checked out while commits follow
        # each other (:mod:`postal.warm_connection`).
        ip_pools = self.registry.settings["postal.use_ip_pools"]
        self._connection.run(lambda connection: store_batch(connection, batch, ip_pools=ip_pools))


def committer(registry) -> GroupCommitter:
    found = registry.get("postal.api_v1.committer")
    if found is None:
        found = registry.setdefault("postal.api_v1.committer", GroupCommitter(registry))
    return found


def store_outgoing(request, server_id: int, *, mail_from: str, rcpt_to: list[str], raw: bytes,
                   **fields) -> list[Stored]:  # fmt: skip
    """One outgoing message per recipient, queued and committed when this returns."""
    unknown = set(fields) - set(FIELD_DEFAULTS)
    if unknown:
        raise TypeError(f"store_outgoing does not take {sorted(unknown)}")
    pending = Pending(server_id, mail_from, list(rcpt_to), raw, fields)
    return committer(request.registry).store(pending)
