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
import functools
import logging
import os
import secrets
import socket
import threading

from sqlalchemy import and_, bindparam, or_, select, update
from zope.sqlalchemy import mark_changed

from ..host_addresses import local_ip_ids
from ..models import QueuedMessage, utcnow
from ..unit_of_work import unit_of_work


log = logging.getLogger(__name__)


def new_token(thread_name: str) -> str:
    """Postal's locker name: host, pid, thread and random hex (unique per claim)."""
    host = socket.gethostname()
    return f"host:{host} pid:{os.getpid()} thread:{thread_name} {secrets.token_hex(6)}"


_TABLE = QueuedMessage.__table__


def _due(now, stale_before, ip_ids):
    return and_(
        or_(_TABLE.c.locked_at.is_(None), _TABLE.c.locked_at < stale_before),
        or_(_TABLE.c.retry_after.is_(None), _TABLE.c.retry_after <= now),
        # Only rows this host can send from: no IP pool address, or one of its own.
        or_(_TABLE.c.ip_address_id.is_(None), _TABLE.c.ip_address_id.in_(ip_ids)),
    )


@functools.lru_cache(maxsize=16)
def _statements(dialect: str, size: int) -> tuple:
    """The claim's statements, built once per dialect and batch size (their cache keys are
    memoised): each claim only binds ``now``, the stale time, the IP ids and the token."""
    due = _due(bindparam("now"), bindparam("stale_before"), bindparam("ip_ids", expanding=True))
    candidates = select(_TABLE.c.id).where(due).order_by(_TABLE.c.id).limit(size)
    mark = {"locked_by": bindparam("token"), "locked_at": bindparam("claimed_at")}
    if dialect == "sqlite":
        claim = update(_TABLE).where(_TABLE.c.id.in_(candidates)).values(**mark)
        mine = select(_TABLE.c.id).where(_TABLE.c.locked_by == bindparam("token"))
        return claim, claim.returning(_TABLE.c.id), mine
    for name in ("mysql", "mariadb"):
        # InnoDB locks every row a locking read looks at: through the (locked_at,
        # retry_after) index plus a sort it would lock every due row and leave other
        # workers nothing; walking the primary key in id order stops at the limit.
        candidates = candidates.with_hint(_TABLE, "FORCE INDEX (PRIMARY)", name)
    ids = bindparam("ids", expanding=True)
    claim = update(_TABLE).where(_TABLE.c.id.in_(ids)).values(**mark)
    return candidates.with_for_update(skip_locked=True), claim


def claim_batch(
    dbsession, token: str, size: int, stale_seconds: int, ip_addresses: tuple[str, ...] = ()
) -> list[int]:
    """Mark up to ``size`` due rows (outgoing and incoming) as ours; returns their ids.
    The caller's transaction must commit for the claim to hold (Core statements: the caller
    marks its session changed for zope.sqlalchemy).  ``ip_addresses`` is
    ``worker.ip_addresses`` (empty: this host's, :mod:`postal.host_addresses`)."""
    now = utcnow()
    params = {
        "now": now,
        "stale_before": now - dt.timedelta(seconds=stale_seconds),
        "ip_ids": local_ip_ids(dbsession, ip_addresses),
        "token": token,
        "claimed_at": now,
    }
    dialect = dbsession.get_bind().dialect
    if dialect.name == "sqlite":
        claim, returning, mine = _statements("sqlite", size)
        if dialect.update_returning:  # SQLite 3.35+: the claimed ids in the same statement
            return sorted(dbsession.scalars(returning, params))
        if not dbsession.execute(claim, params).rowcount:
            return []
        return list(dbsession.scalars(mine, {"token": token}))
    candidates, claim = _statements(dialect.name, size)
    ids = list(dbsession.scalars(candidates, params))
    if ids:
        dbsession.execute(claim, {"ids": ids, "token": token, "claimed_at": now})
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
