"""The group-commit writers' kept connection, and a batch written in one statement per table
whatever its size (arrays on PostgreSQL)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from postal import warm_connection
from postal.messages import StoreRequest, store_many
from postal.models import Message, QueuedMessage, RawMessage
from postal.warm_connection import WarmConnection


def test_kept_between_close_commits_and_released_when_idle(dbengine, smtp_data, monkeypatch):
    server = smtp_data.server()
    warm = WarmConnection(dbengine)
    with warm.begin() as first:
        store_many(first, [StoreRequest(server.id, "outgoing", "a@b.test", ("x@c.test",), b"1")])
    with warm.begin() as second:
        assert second is first
    monkeypatch.setattr(warm_connection, "IDLE_SECONDS", 0.05)
    time.sleep(0.1)
    with warm.begin() as third:
        assert third is not first  # idle too long: back to the pool, a fresh (pinged) one
    warm.release()
    assert third.closed


def test_dropped_after_an_error_and_the_transaction_rolled_back(dbengine, smtp_data, dbsession):
    server = smtp_data.server()
    warm = WarmConnection(dbengine)
    with pytest.raises(RuntimeError), warm.begin() as connection:
        store_many(connection, [StoreRequest(server.id, "outgoing", "a@b.test", ("x@c.test",),
                                             b"lost")])  # fmt: skip
        raise RuntimeError("the batch failed")
    assert connection.closed
    assert dbsession.scalars(select(RawMessage)).all() == []
    with warm.begin() as fresh:
        assert fresh is not connection


def test_a_kept_connection_the_server_dropped_is_replaced(dbengine, smtp_data, dbsession):
    """A database restart between two commits: the kept connection is dead, and the commit
    goes through on a fresh one instead of failing the message."""
    server = smtp_data.server()
    warm = WarmConnection(dbengine)
    first = warm.run(lambda connection: connection)
    first.connection.dbapi_connection.close()  # what a restart does to it
    request = StoreRequest(server.id, "outgoing", "a@b.test", ("x@c.test",), b"kept")
    (stored,) = warm.run(lambda connection: store_many(connection, [request]))
    assert warm._connection is not first
    dbsession.commit()
    assert dbsession.get(Message, stored[0].id) is not None
    warm.release()


@pytest.mark.parametrize("size", [1, 7, 250])
def test_every_batch_size_keeps_rows_in_order(dbengine, smtp_data, dbsession, size):
    server = smtp_data.server()
    raws = [f"Subject: n{i}\r\n\r\nbody {i}\r\n".encode() for i in range(size)]
    requests = [
        StoreRequest(
            server.id,
            "outgoing",
            f"s{i}@a.test",
            (f"r{i}@d{i}.test", f"q{i}@e.test"),
            raw,
            (("tag", f"t{i}"),),
            queue=i % 2 == 0,
        )  # fmt: skip
        for i, raw in enumerate(raws)
    ]
    warm = WarmConnection(dbengine)
    with warm.begin() as connection:
        results = store_many(connection, requests)
    warm.release()
    for i, stored in enumerate(results):
        rows = [dbsession.get(Message, m.id) for m in stored]
        assert [(m.rcpt_to, m.mail_from, m.tag, m.subject) for m in rows] == [
            (f"r{i}@d{i}.test", f"s{i}@a.test", f"t{i}", f"n{i}"),
            (f"q{i}@e.test", f"s{i}@a.test", f"t{i}", f"n{i}"),
        ]
        assert dbsession.get(RawMessage, rows[0].raw_message_id).data == raws[i]
    queued = {q.message_id: q.domain for q in dbsession.scalars(select(QueuedMessage))}
    expected = {m.id: m.rcpt_to.split("@")[1] for s in results[::2] for m in s}
    assert queued == expected
