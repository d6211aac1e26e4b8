"""The SMTP server's batched store makes the same rows as ``store_message``."""

from __future__ import annotations

from sqlalchemy import select

from postal.messages import store_message
from postal.models import Message, QueuedMessage, RawMessage
from postal.smtp.store import StoreRequest, message_token, store_many


RAW = b"Subject: =?utf-8?q?Caf=C3=A9?=\r\n  menu\r\nMessage-ID: <id-1@x.test>\r\n\r\nbody\r\n"
COLUMNS = [c.name for c in Message.__table__.columns if c.name not in ("id", "token",
           "timestamp", "raw_message_id")]  # fmt: skip


def row_values(message):
    return {name: getattr(message, name) for name in COLUMNS}


def test_store_many_matches_store_message(smtp_data, dbsession):
    server = smtp_data.server()
    fields = {"route_id": None, "bounce": True, "endpoint_type": "HTTPEndpoint",
              "endpoint_id": 3, "received_with_ssl": True}  # fmt: skip
    reference = store_message(dbsession, server, scope="incoming", mail_from="a@b.test",
                              rcpt_to=["x@in.test", "y@in.test"], raw=RAW, **fields)  # fmt: skip
    dbsession.commit()
    request = StoreRequest(server.id, "incoming", "a@b.test", ("x@in.test", "y@in.test"), RAW,
                           tuple(fields.items()))  # fmt: skip
    outgoing = StoreRequest(server.id, "outgoing", "a@b.test", ("z@far.test",), b"\r\nhi\r\n",
                            (("credential_id", None), ("received_with_ssl", False)))  # fmt: skip
    results = store_many(dbsession, [request, outgoing])
    dbsession.commit()
    dbsession.expire_all()
    batched = [dbsession.get(Message, m.id) for m in results[0]]
    assert [row_values(m) for m in batched] == [row_values(m) for m in reference]
    assert batched[0].subject == "Café menu" and batched[0].message_id == "id-1@x.test"
    assert batched[0].raw_message_id == batched[1].raw_message_id
    assert dbsession.get(RawMessage, batched[0].raw_message_id).data == RAW
    queue = {q.message_id: q for q in dbsession.scalars(select(QueuedMessage))}
    for new, old in zip(batched, reference, strict=True):
        assert (queue[new.id].domain, queue[new.id].batch_key, queue[new.id].route_id) == (
            queue[old.id].domain, queue[old.id].batch_key, queue[old.id].route_id,
        )  # fmt: skip
    (out,) = results[1]
    assert queue[out.id].batch_key == "outgoing-far.test"
    assert [m.token for m in results[0]] == [m.token for m in batched]


def test_message_token_format():
    tokens = {message_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(len(t) == 16 and t.isalnum() and t.isascii() for t in tokens)
