from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from plugins.retention import apply_retention, prune_suppressions
from postal.config import configure
from postal.messages import store_message
from postal.models import (
    Delivery,
    Message,
    Organization,
    QueuedMessage,
    RawMessage,
    Server,
    Suppression,
    utcnow,
)  # fmt: skip
from postal.unit_of_work import unit_of_work


@pytest.fixture
def registry(app_settings, clean_tables):
    return configure(app_settings, role="worker").registry


@pytest.fixture
def server_id(registry):
    with unit_of_work(registry) as request:
        server = Server(organization=Organization(name="O", permalink="o"), name="S",
                        permalink="s", message_retention_days=10, raw_message_retention_days=5,
                        raw_message_retention_size=1)  # fmt: skip
        request.dbsession.add(server)
        request.dbsession.flush()
        return server.id


def _message(registry, server_id, *, age_days, size=100, queued=False, held=False):
    with unit_of_work(registry) as request:
        server = request.dbsession.get(Server, server_id)
        raw = b"Subject: hi\r\n\r\n" + b"x" * size
        (message,) = store_message(request.dbsession, server, scope="outgoing", mail_from="a@b.c",
                                   rcpt_to=["d@e.f"], raw=raw, queue=queued, held=held)  # fmt: skip
        when = utcnow() - dt.timedelta(days=age_days)
        message.timestamp = when
        message.raw_message.created_at = when
        request.dbsession.add(Delivery(message=message, status="Sent", details="ok"))
        request.dbsession.flush()
        return message.id


def _count(registry, model):
    with unit_of_work(registry) as request:
        return request.dbsession.scalar(select(func.count()).select_from(model))


def test_retention_by_age_keeps_what_is_still_needed(registry, server_id):
    old = _message(registry, server_id, age_days=20)
    old_queued = _message(registry, server_id, age_days=20, queued=True)
    old_held = _message(registry, server_id, age_days=20, held=True)
    middle = _message(registry, server_id, age_days=7)
    new = _message(registry, server_id, age_days=1)

    counts = apply_retention(registry, server_id)

    with unit_of_work(registry) as request:
        rows = {m.id: m for m in request.dbsession.scalars(select(Message))}
    assert set(rows) == {old_queued, old_held, middle, new}
    assert counts["messages"] == 1
    # Bodies past five days go unless a queued or held message needs them.
    assert rows[middle].raw_message_id is None
    assert rows[old_queued].raw_message_id is not None
    assert rows[old_held].raw_message_id is not None
    assert rows[new].raw_message_id is not None
    assert _count(registry, Delivery) == 4
    assert _count(registry, QueuedMessage) == 1
    assert old not in rows


def test_retention_by_size_removes_the_oldest_bodies_first(registry, server_id):
    first = _message(registry, server_id, age_days=3, size=600_000)
    second = _message(registry, server_id, age_days=2, size=600_000)
    queued = _message(registry, server_id, age_days=4, size=600_000, queued=True)

    counts = apply_retention(registry, server_id)

    with unit_of_work(registry) as request:
        raw = {m.id: m.raw_message_id for m in request.dbsession.scalars(select(Message))}
    assert counts["raw_by_size"] == 2
    assert raw[first] is None and raw[second] is None
    assert raw[queued] is not None  # over the limit, but still queued
    assert _count(registry, RawMessage) == 1


def test_prune_suppressions(registry, server_id):
    now = utcnow()
    with unit_of_work(registry) as request:
        day = dt.timedelta(days=1)
        for address, keep in [("a@x.y", now - day), ("b@x.y", now + day), ("c@x.y", None)]:
            request.dbsession.add(
                Suppression(server_id=server_id, address=address, keep_until=keep)
            )
    assert prune_suppressions(registry) == 1
    with unit_of_work(registry) as request:
        left = set(request.dbsession.scalars(select(Suppression.address)))
    assert left == {"b@x.y", "c@x.y"}
