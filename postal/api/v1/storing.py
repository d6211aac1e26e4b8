"""Storing what the API accepts, with group commit.

A request hands its message to the web process's committer and waits.  There is no
committer thread: the first request to arrive while nobody is writing becomes the leader,
takes every message waiting (up to ``MAX_BATCH``, its own among them), writes them all in
one transaction (:func:`postal.messages.store_many`: a few multi-row INSERTs whatever the
batch size) and wakes their requests, which only then answer with their ids.  If more
messages arrived meanwhile, it makes the first of their requests the next leader and
answers its own.  Under load N transactions become one, and a batch costs one wake-up per
message but the leader's (a committer thread would add its own wake-up and one more
hand-off of the GIL per message); idle, a batch is a single message written by its own
request, as a direct insert would be.
"""

from __future__ import annotations

import logging
import threading
import time
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


@dataclass(eq=False)
class Pending:
    """One API request's message: one raw message, one row per recipient."""

    server_id: int
    mail_from: str
    rcpt_to: list[str]
    raw: bytes
    fields: dict
    result: list[Stored] | None = None
    error: BaseException | None = None
    # Set when this request is woken to write the next batch rather than with its result.
    lead: bool = False
    # Held until this message is written (or its request must lead).  A bare lock, not an
    # Event: the leader wakes every request of a batch while holding the GIL, and an
    # Event's condition variable costs several times as much per wake.
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
        self._lock = threading.Lock()
        self._waiting: list[Pending] = []
        self._leading = False
        self._connection = WarmConnection(registry["dbengine"])
        self._last_commit = 0.0
        self._reaper: threading.Thread | None = None

    def store(self, pending: Pending) -> list[Stored]:
        """Block until ``pending`` is committed; raises what storing it raised."""
        with self._lock:
            self._waiting.append(pending)
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        else:
            if not pending.done.acquire(timeout=WAIT_SECONDS):
                with self._lock:
                    waiting = any(p is pending for p in self._waiting)
                    if waiting:
                        self._waiting.remove(pending)
                if waiting:
                    raise TimeoutError("the message store did not answer in time")
                # Taken into a batch, or made leader, just now: that wake-up is coming.
                pending.done.acquire()
            if pending.lead:  # woken to write the next batch (its lock is held again)
                pending.lead = False
                self._lead()
        if pending.error is not None:
            raise pending.error
        return pending.result

    def _lead(self) -> None:
        """Write one batch, then hand the lead on (or give it up)."""
        try:
            with self._lock:
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
            try:
                self._commit(batch)
            except BaseException as exc:  # not an error of the data: nobody must wait on
                for pending in batch:
                    if pending.result is None and pending.error is None:
                        pending.error = exc
                        pending.done.release()
                raise
            self._last_commit = time.monotonic()
        finally:
            self._hand_over()
        self._start_reaper()

    def _hand_over(self) -> None:
        with self._lock:
            if not self._waiting:
                self._leading = False
                return
            successor = self._waiting[0]
            successor.lead = True
        successor.done.release()

    def _start_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            with self._lock:
                if self._reaper is None or not self._reaper.is_alive():
                    self._reaper = threading.Thread(
                        target=self._reap, name="api-group-commit-idle", daemon=True
                    )
                    self._reaper.start()

    def _reap(self) -> None:
        """Hand the connection back to the pool once no commit has come for a while, so an
        idle web process holds none; the next commit starts another reaper."""
        while True:
            time.sleep(IDLE_SECONDS)
            with self._lock:
                if self._leading or time.monotonic() - self._last_commit < IDLE_SECONDS:
                    continue
                self._leading = True  # requests arriving meanwhile wait for the hand-over
                self._reaper = None
            try:
                self._connection.release()
            finally:
                self._hand_over()
            return

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
        # A plain engine transaction rather than a unit of work: only rows are inserted (no
        # events, no plugins), and a unit of work's set-up costs as much as the inserts of
        # a small batch.  The connection stays checked out while commits follow each other
        # (:mod:`postal.warm_connection`).
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
