"""The counting behind ``make chaos`` / ``make soak``: a real SMTP client delivering tagged
messages to the tag sink, and the tally that decides whether anything was lost."""

from __future__ import annotations

import smtplib
import time

import pytest

from bench import load


@pytest.fixture
def sink():
    sink = load.TagSink().start()
    yield sink
    sink.stop()


def deliver(sink: load.TagSink, *tags: str) -> None:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        for tag in tags:
            client.sendmail("a@example.com", ["b@example.net"], load.smtp_message(tag))


def test_tally_counts_lost_duplicated_and_uncertain(sink):
    ledger = load.Ledger()
    now = time.monotonic()
    for tag in ("a", "b", "c"):
        ledger.accept(tag, "smtp", now)
    ledger.accept("d", "api", now)
    ledger.lose_track("u1")
    ledger.lose_track("u2")
    ledger.refuse("smtp 451")
    deliver(sink, "a", "b", "b", "b", "d", "u1", "stranger")

    figures = load.tally(ledger, sink)

    assert figures == {
        "accepted": 4, "via_smtp": 3, "via_api": 1, "delivered": 3, "lost": 1,
        "duplicated": 2, "uncertain": 2, "uncertain_delivered": 1, "refused": 1,
        "unknown_at_sink": 1,
    }  # fmt: skip


def test_latencies_run_from_submission_to_first_arrival(sink):
    ledger = load.Ledger()
    ledger.accept("early", "smtp", time.monotonic() - 2)
    ledger.accept("never", "smtp", time.monotonic())
    deliver(sink, "early", "early")

    (latency,) = load.latencies(ledger, sink)
    assert 2 <= latency < 10
    assert load.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 3.0


def test_untagged_mail_is_counted_apart(sink):
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as client:
        client.sendmail("a@example.com", ["b@example.net"], b"Subject: no tag\r\n\r\nHi\r\n")
    assert sink.untagged == 1
    assert load.tally(load.Ledger(), sink)["unknown_at_sink"] == 1
