"""Cutting off slow network exchanges: one watchdog thread for the whole process.

A socket timeout bounds each read, not a whole exchange: a server that answers a byte every
few seconds keeps a request alive for ever.  :func:`after` runs a callback (typically a
socket shutdown) once a deadline passes unless the handle is cancelled first.  One thread
serves every deadline, so arming one costs a heap push, not a thread.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable


log = logging.getLogger(__name__)


class Deadline:
    def __init__(self, when: float, callback: Callable[[], None]):
        self.when = when
        self.callback = callback
        self.cancelled = False
        self.passed = False

    def cancel(self) -> None:
        self.cancelled = True


class _Watchdog:
    def __init__(self):
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def after(self, seconds: float, callback: Callable[[], None]) -> Deadline:
        deadline = Deadline(time.monotonic() + seconds, callback)
        with self._changed:
            heapq.heappush(self._heap, (deadline.when, next(self._order), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is deadline:
                self._changed.notify()
        return deadline

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._heap and self._heap[0][2].cancelled:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._changed.wait(60)
                    continue
                when, _order, deadline = self._heap[0]
                wait = when - time.monotonic()
                if wait > 0:
                    self._changed.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if deadline.cancelled:
                continue
            deadline.passed = True
            try:
                deadline.callback()
            except Exception:
                log.exception("a deadline's callback failed")


_watchdog = _Watchdog()


def after(seconds: float, callback: Callable[[], None]) -> Deadline:
    """Call ``callback`` in the watchdog thread ``seconds`` from now, unless the returned
    deadline is cancelled first; its ``passed`` says whether it ran."""
    return _watchdog.after(seconds, callback)
