"""API v1's group commit: many request threads at once, each answered with its own rows,
one bad message failing alone, and a leader that hands the lead on."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from postal.api.v1 import storing
from postal.api.v1.storing import GroupCommitter, Pending
from postal.models import Message, QueuedMessage, RawMessage


class _Registry(dict):
    def __init__(self, dbengine):
        super().__init__(dbengine=dbengine)
        self.settings = {"postal.use_ip_pools": False}


def _store_from_threads(committer, server_id, count):
    results, errors = {}, {}

    def send(i):
        pending = Pending(server_id, "a@b.test", [f"r{i}@x.test"], f"raw {i}".encode(), {})
        try:
            results[i] = committer.store(pending)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            errors[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    return results, errors


def test_every_request_gets_its_own_rows(dbengine, smtp_data, dbsession, monkeypatch):
    server = smtp_data.server()
    committer = GroupCommitter(_Registry(dbengine))
    batches = []
    write = committer._write
    monkeypatch.setattr(committer, "_write", lambda batch: (batches.append(len(batch)),
                                                           write(batch))[1])  # fmt: skip
    results, errors = _store_from_threads(committer, server.id, 40)
    assert errors == {} and len(results) == 40
    for i, (stored,) in results.items():
        message = dbsession.get(Message, stored.id)
        assert (message.rcpt_to, message.token) == (f"r{i}@x.test", stored.token)
        assert dbsession.get(RawMessage, message.raw_message_id).data == f"raw {i}".encode()
    assert len(dbsession.scalars(select(QueuedMessage)).all()) == 40
    assert sum(batches) == 40
    assert not committer._leading and committer._waiting == []


def test_a_bad_message_fails_alone(dbengine, smtp_data, dbsession, monkeypatch):
    server = smtp_data.server()
    committer = GroupCommitter(_Registry(dbengine))
    real = storing.store_batch

    def store_batch(connection, batch, **kwargs):
        if any(p.raw == b"raw 3" for p in batch):
            raise ValueError("this one cannot be stored")
        return real(connection, batch, **kwargs)

    monkeypatch.setattr(storing, "store_batch", store_batch)
    results, errors = _store_from_threads(committer, server.id, 12)
    assert set(errors) == {3} and isinstance(errors[3], ValueError)
    assert len(results) == 11
    assert len(dbsession.scalars(select(Message)).all()) == 11
    assert not committer._leading


def test_a_follower_that_gives_up_is_not_stored_and_does_not_stall_others(
    dbengine, smtp_data, dbsession, monkeypatch
):
    server = smtp_data.server()
    committer = GroupCommitter(_Registry(dbengine))
    monkeypatch.setattr(storing, "WAIT_SECONDS", 0.2)
    # Somebody else leads and is slow: the follower's wait runs out.
    committer._leading = True
    results, errors = _store_from_threads(committer, server.id, 1)
    assert isinstance(errors[0], TimeoutError) and committer._waiting == []
    committer._leading = False
    monkeypatch.setattr(storing, "WAIT_SECONDS", 30)
    results, errors = _store_from_threads(committer, server.id, 5)
    assert errors == {} and len(results) == 5
    assert len(dbsession.scalars(select(Message)).all()) == 5


def test_an_idle_committer_returns_its_connection_and_its_reaper_ends(
    dbengine, smtp_data, monkeypatch
):
    server = smtp_data.server()
    monkeypatch.setattr(storing, "IDLE_SECONDS", 0.05)
    committer = GroupCommitter(_Registry(dbengine))
    for _round in range(2):  # and the next commit starts a new reaper
        results, errors = _store_from_threads(committer, server.id, 3)
        assert errors == {} and len(results) == 3
        deadline = time.monotonic() + 10
        while committer._reaper is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert committer._reaper is None and committer._connection._connection is None
        assert not committer._leading
