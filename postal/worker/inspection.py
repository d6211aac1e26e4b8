"""Spam and virus inspection: every scanner plugin runs, core adds up the scores (Postal §4.10).

A message is inspected once: the result is stored on the message (``inspected``,
``spam_score``, ``threat``…) with one ``spam_checks`` row per rule, and copies that share the
same raw bytes (one per endpoint) are scanned once per batch.  Postal's four headers are put
in front of what endpoints receive; the stored raw message is left as it arrived.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from ..types import IncomingMessage, SpamCheck


log = logging.getLogger(__name__)


@dataclass
class Inspection:
    score: float = 0.0
    threat: bool = False
    threat_details: str | None = None
    checks: list[SpamCheck] = field(default_factory=list)
    # Set by the pipeline from the server's threshold.
    spam: bool = False
    # False for a message inspected on an earlier pass: nothing new to store.
    new: bool = True

    def headers(self, threshold: float) -> bytes:
        lines = (
            f"X-Postal-Spam: {'yes' if self.spam else 'no'}",
            f"X-Postal-Spam-Threshold: {_number(threshold)}",
            f"X-Postal-Spam-Score: {_number(self.score)}",
            f"X-Postal-Threat: {'yes' if self.threat else 'no'}",
        )
        return "".join(line + "\r\n" for line in lines).encode()


def _number(value: float) -> str:
    """Postal prints floats as Ruby does: ``5.0``, ``1000.4``."""
    return repr(round(float(value), 2))


def stored_inspection(message) -> Inspection:
    """The inspection recorded on an already-inspected message row."""
    return Inspection(
        score=message.spam_score or 0.0,
        threat=bool(message.threat),
        threat_details=message.threat_details,
        spam=bool(message.spam),
        new=False,
    )


class Inspector:
    """Runs the scanner hooks, once per raw message and batch."""

    def __init__(self, hooks):
        self.hooks = hooks
        self._lock = threading.Lock()

    def inspect(self, batch, raw_id: int | None, message: IncomingMessage, virus: bool = True):
        cache = batch.inspections if raw_id is not None else {}
        key = (raw_id, message.scope)
        with self._lock:
            event = cache.get(key)
            owner = event is None
            if owner:
                event = cache[key] = _Pending()
        if not owner:
            event.done.wait()
            return event.result
        try:
            event.result = self._scan(message, virus)
        finally:
            event.done.set()
        return event.result

    def _scan(self, message: IncomingMessage, virus: bool) -> Inspection:
        inspection = Inspection()
        for result in self._call(self.hooks.postal_scan_spam, message):
            inspection.checks.extend(result.checks)
        inspection.score = round(sum(check.score for check in inspection.checks), 2)
        if virus:
            threats = self._call(self.hooks.postal_scan_virus, message)
            inspection.threat = any(result.threat for result in threats)
            details = [result.details for result in threats if result.details]
            found = [result.details for result in threats if result.threat]
            inspection.threat_details = "; ".join(found or details)[:255] or None
        return inspection

    @staticmethod
    def _call(hook, message) -> list:
        try:
            return [result for result in hook(message=message) if result is not None]
        except Exception:
            # A broken scanner plugin must not hold mail up; the message goes on unscanned.
            log.exception("a scanner failed on message %s", message.id)
            return []


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    result: Inspection | None = None
