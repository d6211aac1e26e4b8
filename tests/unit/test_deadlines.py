"""The process's one watchdog thread for network deadlines."""

from __future__ import annotations

import threading

from postal import deadlines


def test_callbacks_run_in_deadline_order_and_cancelled_ones_do_not():
    ran, done = [], threading.Event()
    late = deadlines.after(0.3, lambda: (ran.append("late"), done.set()))
    cancelled = deadlines.after(0.1, lambda: ran.append("cancelled"))
    early = deadlines.after(0.05, lambda: ran.append("early"))
    cancelled.cancel()
    assert done.wait(5)
    assert ran == ["early", "late"]
    assert early.passed and late.passed and not cancelled.passed


def test_a_failing_callback_does_not_stop_the_watchdog():
    done = threading.Event()
    deadlines.after(0.01, lambda: 1 / 0)
    deadlines.after(0.05, done.set)
    assert done.wait(5)
