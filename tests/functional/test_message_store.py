"""The one message store: raw bytes once, a row per recipient, queue rows, in batches."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from postal.messages import StoreRequest, message_token, store_many, store_message
from postal.models import Message, QueuedMessage, RawMessage


RAW = b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n  menu\r\nMessage-ID: <id-1@x.test>\r\n\r\nbody\r\n"


def test_store_many_writes_postals_rows(smtp_data, dbsession):
    server = smtp_data.server()
    fields = (("bounce", True), ("endpoint_type", "HTTPEndpoint"), ("endpoint_id", 3),
              ("received_with_ssl", True), ("route_id", None))  # fmt: skip
    incoming = StoreRequest(server.id, "incoming", "a@b.test", ("x@in.test", "y@in.test"), RAW,
                            fields)  # fmt: skip
    outgoing = StoreRequest(server.id, "outgoing", "a@b.test", ("z@Far.test",), b"\r\nhi\r\n")
    results = store_many(dbsession, [incoming, outgoing])
    dbsession.commit()

    rows = [dbsession.get(Message, m.id) for m in results[0]]
    assert [m.rcpt_to for m in rows] == ["x@in.test", "y@in.test"]
    assert {(m.subject, m.message_id, m.scope, m.bounce, m.endpoint_id) for m in rows} == {
        ("Café menu", "id-1@x.test", "incoming", True, 3)
    }
    assert rows[0].raw_message_id == rows[1].raw_message_id
    assert dbsession.get(RawMessage, rows[0].raw_message_id).data == RAW
    assert [m.token for m in results[0]] == [m.token for m in rows]
    assert results[0][0].message_id == "id-1@x.test"
    queue = {q.message_id: q for q in dbsession.scalars(select(QueuedMessage))}
    assert queue[rows[0].id].batch_key == "incoming-rt:None-ep:3-HTTPEndpoint"
    (out,) = results[1]
    assert (queue[out.id].domain, queue[out.id].batch_key) == ("far.test", "outgoing-far.test")
    assert dbsession.get(Message, out.id).subject is None


def test_store_message_returns_rows_and_can_skip_the_queue(smtp_data, dbsession):
    server = smtp_data.server()
    held = store_message(
        dbsession,
        server,
        scope="outgoing",
        mail_from="a@b",
        rcpt_to=["p@q.test"],
        raw=RAW,
        queue=False,
        held=True,
        tag="t",
    )
    dbsession.commit()
    assert [(m.held, m.tag, m.status) for m in held] == [(True, "t", "Pending")]
    assert dbsession.scalars(select(QueuedMessage)).all() == []


def test_unknown_fields_are_refused(smtp_data, dbsession):
    server = smtp_data.server()
    with pytest.raises(TypeError, match="spam_score"):
        store_message(dbsession, server, scope="outgoing", mail_from="", rcpt_to=["a@b.c"],
                      raw=RAW, spam_score=3)  # fmt: skip


def test_message_token_format():
    tokens = {message_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) == 16 and t.isalnum() and t.isascii() for t in tokens)


def test_big_groups_are_split_into_several_statements_in_order(smtp_data, dbsession, monkeypatch):
    from postal import bulk_insert

    # Every message is its own statement by size, and at most two rows go in one anyway.
    monkeypatch.setattr(bulk_insert, "MAX_STATEMENT_BYTES", 10)
    monkeypatch.setattr(bulk_insert, "MAX_STATEMENT_ROWS", 2)
    server = smtp_data.server()
    requests = [
        StoreRequest(
            server.id,
            "outgoing",
            "a@b.test",
            (f"r{i}@x.test", f"s{i}@x.test"),
            f"Subject: number {i}\r\n\r\nbody {i}\r\n".encode(),
        )  # fmt: skip
        for i in range(5)
    ]
    results = store_many(dbsession, requests)
    dbsession.commit()
    for i, stored in enumerate(results):
        rows = [dbsession.get(Message, m.id) for m in stored]
        assert [m.rcpt_to for m in rows] == [f"r{i}@x.test", f"s{i}@x.test"]
        assert {m.subject for m in rows} == {f"number {i}"}
        assert dbsession.get(RawMessage, rows[0].raw_message_id).data == requests[i].raw
        assert {(m.status, m.held, m.spam_score) for m in rows} == {("Pending", False, 0.0)}
    queued = dbsession.scalars(select(QueuedMessage)).all()
    assert len(queued) == 10 and {q.attempts for q in queued} == {0}


def test_a_driver_error_is_sqlalchemys_and_the_session_rolls_back(smtp_data, dbsession):
    """Rows go to the DBAPI cursor directly on SQLite and MariaDB; a failing statement still
    raises SQLAlchemy's error (what callers catch), and the transaction can roll back."""
    from sqlalchemy.exc import IntegrityError

    from postal.bulk_insert import insert_rows

    server = smtp_data.server()
    (stored,) = store_many(dbsession, [StoreRequest(server.id, "outgoing", "a@b", ("c@d",), RAW)])
    dbsession.commit()
    duplicate = {"server_id": server.id, "message_id": stored[0].id, "domain": "d"}
    with pytest.raises(IntegrityError):  # one queue row per message
        insert_rows(dbsession, QueuedMessage.__table__, [duplicate], returning=False)
    dbsession.rollback()
    assert len(dbsession.scalars(select(QueuedMessage)).all()) == 1
