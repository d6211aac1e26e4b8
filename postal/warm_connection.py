"""A group-commit writer's database connection, kept while commits follow each other.

``engine.begin()`` per commit checks a connection out of the pool, pings it
(``pool_pre_ping``: one more round trip) and returns it: under load that is a fifth of a
small commit's cost.  The writer thread keeps its connection between commits instead, and
hands it back to the pool once it has been idle for :data:`IDLE_SECONDS` (so an idle
process holds none, and the next commit after a pause is pinged again).  After an error
the connection is dropped, so a retry gets a fresh, pinged one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError


T = TypeVar("T")


IDLE_SECONDS = 1.0


class WarmConnection:
    """Only for the one thread that writes; :meth:`release` when the queue is idle."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._connection: Connection | None = None
        self._last_used = 0.0

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction, committed when the block ends without an exception."""
        if self._connection is not None and time.monotonic() - self._last_used > IDLE_SECONDS:
            self.release()
        if self._connection is None:
            self._connection = self.engine.connect()
        try:
            with self._connection.begin():
                yield self._connection
        except BaseException:
            self.release()
            raise
        finally:
            self._last_used = time.monotonic()

    def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in one transaction.  A kept connection the server dropped
        meanwhile (a database restart) is not pinged before use: when it turns out dead, the
        work is done once more on a fresh, pinged connection rather than failing."""
        if self._connection is not None and time.monotonic() - self._last_used > IDLE_SECONDS:
            self.release()
        kept = self._connection is not None
        try:
            with self.begin() as connection:
                return work(connection)
        except DBAPIError as exc:
            if not (kept and exc.connection_invalidated):
                raise
        with self.begin() as connection:
            return work(connection)

    def release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with contextlib.suppress(Exception):
                connection.close()
