"""Postal's retry schedule, reply delays and relay URLs."""

from __future__ import annotations

import datetime as dt

import pytest

from plugins.mx_delivery.targets import Host, parse_relay
from postal.worker.retry import requested_delay, retry_delay


def test_retry_schedule_is_five_minutes_times_one_point_three_to_the_attempts():
    waits = [retry_delay(n).total_seconds() / 60 for n in range(4)]
    assert waits == pytest.approx([5.0, 6.5, 8.45, 10.985])
    # 18 waits: the last attempt (then HardFail) is about 31 hours after the first.
    total = sum((retry_delay(n) for n in range(18)), dt.timedelta())
    assert 30.5 < total.total_seconds() / 3600 < 31.5


@pytest.mark.parametrize(
    ("reply", "seconds"),
    [
        ("451 Greylisted, try again in 30 seconds", 40),
        ("421 Too busy; come back in 5 minutes", 310),
        ("450 Mailbox busy", None),
        ("", None),
    ],
)
def test_requested_delay(reply, seconds):
    assert requested_delay(reply) == seconds


def test_relay_urls():
    assert parse_relay("smtp://relay.test") == Host("relay.test", 25, "Auto")
    assert parse_relay("smtp://u%40x:p%3Aw@relay.test:2525?ssl_mode=STARTLS") == Host(
        "relay.test", 2525, "STARTTLS", "u@x", "p:w"
    )
    assert parse_relay("smtp://relay.test:465?ssl_mode=tls").ssl_mode == "TLS"
    with pytest.raises(ValueError, match="ssl_mode"):
        parse_relay("smtp://relay.test?ssl_mode=Maybe")
    with pytest.raises(ValueError, match="smtp://"):
        parse_relay("http://relay.test")
