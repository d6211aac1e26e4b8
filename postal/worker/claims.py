"""Claiming queued messages so that no two workers ever take the same row.

A claim marks rows with ``locked_by`` (a token unique to this claim) and ``locked_at``.
On PostgreSQL and MariaDB the rows are chosen with ``SELECT … FOR UPDATE SKIP LOCKED``, so
concurrent workers pass each other instead of queueing; on SQLite one ``UPDATE … WHERE id
IN (SELECT … LIMIT n)`` does it, atomic under SQLite's single writer.  A claim whose
``locked_at`` is older than the stale time is free again: a worker that died (SIGKILL, a
lost host) leaves nothing stuck.  Live claims are kept fresh by :class:`ClaimKeeper`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading

from sqlalchemy import and_, or_, select, update
from zope.sqlalchemy import mark_changed

from ..host_addresses import local_ip_ids
from ..models import QueuedMessage, utcnow
from ..unit_of_work import unit_of_work


log = logging.getLogger(__name__)


def new_token(thread_name: str) -> str:
    """Postal's locker name: host, pid, thread and random hex (unique per claim)."""
    host = socket.gethostname()
    return f"host:{host} pid:{os.getpid()} thread:{thread_name} {secrets.token_hex(6)}"


def _due(now: dt.datetime, stale_before: dt.datetime, ip_ids: list[int] | tuple = ()):
    return and_(
        or_(QueuedMessage.locked_at.is_(None), QueuedMessage.locked_at < stale_before),
        or_(QueuedMessage.retry_after.is_(None), QueuedMessage.retry_after <= now),
        # Only rows this host can send from: no IP pool address, or one of its own.
        or_(QueuedMessage.ip_address_id.is_(None), QueuedMessage.ip_address_id.in_(ip_ids)),
    )


def claim_batch(
    dbsession, token: str, size: int, stale_seconds: int, ip_addresses: tuple[str, ...] = ()
) -> list[int]:
    """Mark up to ``size`` due rows (outgoing and incoming) as ours; returns their ids.
    The caller's transaction must commit for the claim to hold (Core statements: the caller
    marks its session changed for zope.sqlalchemy).  ``ip_addresses`` is
    ``worker.ip_addresses`` (empty: this host's, :mod:`postal.host_addresses`)."""
    now = utcnow()
    ip_ids = local_ip_ids(dbsession, ip_addresses)
    due = _due(now, now - dt.timedelta(seconds=stale_seconds), ip_ids)
    table = QueuedMessage.__table__
    if dbsession.get_bind().dialect.name == "sqlite":
        chosen = select(table.c.id).where(due).order_by(table.c.id).limit(size)
        result = dbsession.execute(
            update(table).where(table.c.id.in_(chosen)).values(locked_by=token, locked_at=now)
        )
        if not result.rowcount:
            return []
        return list(dbsession.scalars(select(table.c.id).where(table.c.locked_by == token)))
    candidates = select(table.c.id).where(due).order_by(table.c.id).limit(size)
    for dialect in ("mysql", "mariadb"):
        # InnoDB locks every row a locking read looks at: through the (locked_at,
        # retry_after) index plus a sort it would lock every due row and leave other
        # workers nothing; walking the primary key in id order stops at the limit.
        candidates = candidates.with_hint(table, "FORCE INDEX (PRIMARY)", dialect)
    ids = list(dbsession.scalars(candidates.with_for_update(skip_locked=True)))
    if ids:
        dbsession.execute(
            update(table).where(table.c.id.in_(ids)).values(locked_by=token, locked_at=now)
        )
    return ids


def read_committed(dbsession) -> None:
    """MariaDB's default REPEATABLE READ keeps gap locks from the claim's scan, which
    would hold up SMTP and API inserts into the queue; the claim needs none of them."""
    if dbsession.get_bind().dialect.name in ("mysql", "mariadb"):
        dbsession.connection(execution_options={"isolation_level": "READ COMMITTED"})


class ClaimKeeper:
    """Tokens this process is working on, refreshed well before they would go stale, so a
    slow batch (remote servers timing out) is never taken over by another worker."""

    def __init__(self, registry, stale_seconds: int):
        self.registry = registry
        self.interval = max(1.0, stale_seconds / 3)
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="claim-keeper", daemon=True)

    def add(self, token: str) -> None:
        with self._lock:
            self._tokens.add(token)

    def discard(self, token: str) -> None:
        with self._lock:
            self._tokens.discard(token)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def refresh(self) -> None:
        with self._lock:
            tokens = list(self._tokens)
        if not tokens:
            return
        table = QueuedMessage.__table__
        with unit_of_work(self.registry) as request:
            mark_changed(request.dbsession, transaction_manager=request.tm)
            request.dbsession.execute(
                update(table).where(table.c.locked_by.in_(tokens)).values(locked_at=utcnow())
            )

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.refresh()
            except Exception:
                log.exception("could not refresh queue claims")
