"""Two workers claiming at the same moment get disjoint, non-empty batches."""

from __future__ import annotations

from sqlalchemy.orm import Session

from postal.messages import store_message
from postal.models import Server
from postal.worker.claims import claim_batch, read_committed


def _queue(dbsession, server_id, count):
    server = dbsession.get(Server, server_id)
    for number in range(count):
        store_message(
            dbsession,
            server,
            scope="outgoing",
            mail_from="a@example.com",
            rcpt_to=[f"r{number}@example.net"],
            raw=b"Subject: x\r\n\r\nbody\r\n",
        )
    dbsession.commit()


def test_concurrent_claims_are_disjoint(dbengine, dbsession, mail_server):
    _queue(dbsession, mail_server.id, 20)
    first, second = Session(bind=dbengine), Session(bind=dbengine)
    try:
        read_committed(first)
        read_committed(second)
        a = claim_batch(first, "worker-a", 8, stale_seconds=300)
        if dbengine.dialect.name == "sqlite":
            first.commit()  # SQLite has one writer: the second claim waits for the first
        b = claim_batch(second, "worker-b", 8, stale_seconds=300)
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
    assert len(a) == 8 and len(b) == 8
    assert not set(a) & set(b)
