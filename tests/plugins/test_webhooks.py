"""Webhooks end to end: events queue requests, a worker poll POSTs them to a real local HTTP
server, signed with the key published at /.well-known/jwks.json, retried on Postal's schedule."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select, update

from plugins.webhooks import queue
from postal.config import configure
from postal.events import Event
from postal.models import (
    Organization,
    Server,
    Webhook,
    WebhookEvent,
    WebhookRequest,
    WebhookRequestLog,
    utcnow,
)
from postal.unit_of_work import unit_of_work


@pytest.fixture
def worker_settings(app_settings):
    settings = dict(app_settings)
    settings["postal.allowed_request_destinations"] = ["127.0.0.1"]
    return settings


@pytest.fixture
def registry(worker_settings, clean_tables):
    return configure(worker_settings, role="worker").registry


@pytest.fixture
def hooks(registry):
    return registry["postal.plugin_manager"].hook


@pytest.fixture
def server(dbsession):
    organization = Organization(name="Acme", permalink="acme")
    server = Server(organization=organization, name="Main", permalink="main")
    dbsession.add(server)
    dbsession.commit()
    return server


def add_webhook(dbsession, server, url, *, events=(), all_events=False, enabled=True, name="h"):
    webhook = Webhook(
        server_id=server.id, name=name, url=url, all_events=all_events, enabled=enabled
    )
    webhook.events = [WebhookEvent(event=event) for event in events]
    dbsession.add(webhook)
    dbsession.commit()
    return webhook


def fire(registry, name="MessageSent", server_id=None, payload=None):
    event = Event(name=name, server_id=server_id, payload=payload or {"message": {"id": 1}})
    with unit_of_work(registry) as request:
        request.notify(event)
    return event


def pending(dbsession):
    dbsession.commit()  # a fresh snapshot (MariaDB's REPEATABLE READ keeps the old one)
    dbsession.expire_all()
    return list(dbsession.scalars(select(WebhookRequest).order_by(WebhookRequest.id)))


def logs(dbsession):
    dbsession.commit()
    dbsession.expire_all()
    return list(dbsession.scalars(select(WebhookRequestLog).order_by(WebhookRequestLog.id)))


def poll(registry, worker_id="worker-1"):
    """The worker's call of ``postal_worker_poll``, limited to the webhooks plugin (the
    scheduler and other plugins poll too and would add their own counts)."""
    pm = registry["postal.plugin_manager"]
    others = [plugin for name, plugin in pm.list_name_plugin() if name != "webhooks" and plugin]
    hook = pm.subset_hook_caller("postal_worker_poll", remove_plugins=others)
    return sum(hook(registry=registry, worker_id=worker_id))


def test_hook_postal_event(registry, dbsession, server):
    everything = add_webhook(dbsession, server, "http://127.0.0.1:9/all", all_events=True)
    sent_only = add_webhook(dbsession, server, "http://127.0.0.1:9/sent", events=["MessageSent"])
    add_webhook(dbsession, server, "http://127.0.0.1:9/bounced", events=["MessageBounced"])
    add_webhook(dbsession, server, "http://127.0.0.1:9/off", all_events=True, enabled=False)
    other_org = Organization(name="Other", permalink="other")
    other = Server(organization=other_org, name="Other", permalink="other")
    dbsession.add(other)
    dbsession.commit()
    add_webhook(dbsession, other, "http://127.0.0.1:9/other", all_events=True)

    event = fire(registry, "MessageSent", server.id, {"message": {"id": 7}, "status": "Sent"})

    rows = pending(dbsession)
    assert [(r.webhook_id, r.url) for r in rows] == [
        (everything.id, "http://127.0.0.1:9/all"),
        (sent_only.id, "http://127.0.0.1:9/sent"),
    ]
    for row in rows:
        assert row.event == "MessageSent" and row.server_id == server.id and row.attempts == 0
        assert json.loads(row.payload) == {
            "event": "MessageSent",
            "timestamp": event.timestamp,
            "payload": {"message": {"id": 7}, "status": "Sent"},
            "uuid": row.uuid,
        }
    assert rows[0].uuid != rows[1].uuid


def test_events_not_selectable_reach_only_all_events_webhooks(registry, dbsession, server):
    add_webhook(dbsession, server, "http://127.0.0.1:9/all", all_events=True)
    add_webhook(dbsession, server, "http://127.0.0.1:9/sent", events=["MessageSent"])
    fire(registry, "SendLimitExceeded", server.id)
    assert [r.url for r in pending(dbsession)] == ["http://127.0.0.1:9/all"]


def test_an_event_from_a_rolled_back_transaction_queues_nothing(registry, dbsession, server):
    add_webhook(dbsession, server, "http://127.0.0.1:9/all", all_events=True)
    with pytest.raises(RuntimeError):
        with unit_of_work(registry) as request:
            request.notify(Event(name="MessageSent", server_id=server.id, payload={}))
            raise RuntimeError("the delivery could not be recorded")
    assert pending(dbsession) == []


def _public_key(jwk):
    def number(value):
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    return rsa.RSAPublicNumbers(number(jwk["e"]), number(jwk["n"])).public_key()


def test_hook_postal_worker_poll(registry, hooks, dbsession, server, webhook_receiver, testapp):
    webhook = add_webhook(dbsession, server, webhook_receiver.url, all_events=True)
    fire(registry, "MessageSent", server.id, {"message": {"id": 1}})
    fire(registry, "MessageHeld", server.id, {"message": {"id": 2}})
    queued = {r.uuid: r.payload.encode() for r in pending(dbsession)}

    assert poll(registry) == 2
    assert poll(registry) == 0

    jwks = testapp.get("/.well-known/jwks.json").json
    assert len(jwks["keys"]) == 1
    jwk = jwks["keys"][0]
    assert (jwk["kty"], jwk["use"], jwk["alg"]) == ("RSA", "sig", "RS256")
    public_key = _public_key(jwk)
    received = webhook_receiver.requests
    assert [json.loads(r.body)["event"] for r in received] == ["MessageSent", "MessageHeld"]
    for request in received:
        body = json.loads(request.body)
        assert request.path == "/hooks/postal"
        assert request.body == queued[body["uuid"]]
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Postal-Signature-KID"] == jwk["kid"]
        signature = base64.b64decode(request.headers["X-Postal-Signature-256"], validate=True)
        public_key.verify(signature, request.body, padding.PKCS1v15(), hashes.SHA256())
        legacy = base64.b64decode(request.headers["X-Postal-Signature"], validate=True)
        public_key.verify(legacy, request.body, padding.PKCS1v15(), hashes.SHA1())
    # Both requests went over one kept-alive connection.
    assert webhook_receiver.connections == 1

    assert pending(dbsession) == []
    entries = logs(dbsession)
    assert [(e.status_code, e.attempt, e.will_retry, e.error) for e in entries] == [
        (200, 1, False, None),
        (200, 1, False, None),
    ]
    assert entries[0].body == '{"ok":true}'
    assert entries[0].payload == received[0].body.decode()
    assert entries[0].duration_ms is not None and entries[0].duration_ms >= 0
    dbsession.refresh(webhook)
    assert webhook.last_used_at is not None


def _make_due(dbsession):
    dbsession.execute(update(WebhookRequest).values(retry_after=utcnow() - dt.timedelta(seconds=1)))
    dbsession.commit()


def test_failures_follow_postals_retry_schedule_then_give_up(
    registry, hooks, dbsession, server, webhook_receiver
):
    add_webhook(dbsession, server, webhook_receiver.url, events=["MessageSent"])
    webhook_receiver.statuses = [500]
    fire(registry, "MessageSent", server.id)

    for attempt, minutes in enumerate([2, 3, 6, 10, 15], start=1):
        assert poll(registry) == 1
        (row,) = pending(dbsession)
        entry = logs(dbsession)[-1]
        assert (row.attempts, entry.attempt, entry.will_retry) == (attempt, attempt, True)
        assert entry.error == "Couldn't send to URL. Code received was 500"
        assert row.error == entry.error
        assert row.retry_after - entry.created_at == dt.timedelta(minutes=minutes)
        assert poll(registry) == 0  # not due yet
        _make_due(dbsession)

    assert poll(registry) == 1
    assert pending(dbsession) == []
    entries = logs(dbsession)
    assert [e.attempt for e in entries] == [1, 2, 3, 4, 5, 6]
    assert [e.will_retry for e in entries] == [True] * 5 + [False]
    assert len({e.uuid for e in entries}) == 1
    assert len(webhook_receiver.requests) == 6


def test_a_retry_that_succeeds_removes_the_request(
    registry, hooks, dbsession, server, webhook_receiver
):
    add_webhook(dbsession, server, webhook_receiver.url, all_events=True)
    webhook_receiver.statuses = [503, 204]
    fire(registry, "MessageDelayed", server.id)
    assert poll(registry) == 1
    _make_due(dbsession)
    assert poll(registry) == 1
    assert pending(dbsession) == []
    assert [(e.status_code, e.will_retry) for e in logs(dbsession)] == [(503, True), (204, False)]


def test_a_private_destination_is_refused_at_request_time(
    app_settings, clean_tables, dbsession, server, webhook_receiver
):
    # The URL was allowed when saved; the installation no longer allows loopback.
    registry = configure(dict(app_settings), role="worker").registry
    add_webhook(dbsession, server, webhook_receiver.url, all_events=True)
    fire(registry, "MessageSent", server.id)
    assert poll(registry) == 1
    (entry,) = logs(dbsession)
    assert entry.status_code is None and entry.will_retry is True
    assert "127.0.0.1, a loopback address" in entry.error
    assert webhook_receiver.requests == []


def test_a_receiver_that_is_down_is_retried(registry, hooks, dbsession, server, webhook_receiver):
    url = webhook_receiver.url
    webhook_receiver.stop()
    add_webhook(dbsession, server, url, all_events=True)
    fire(registry, "MessageSent", server.id)
    assert poll(registry) == 1
    (entry,) = logs(dbsession)
    assert entry.status_code is None and entry.will_retry
    assert entry.error.startswith("Couldn't send to URL.")


def _queue_rows(dbsession, server, count):
    webhook = add_webhook(dbsession, server, "http://127.0.0.1:9/x", all_events=True)
    for number in range(count):
        dbsession.add(
            WebhookRequest(
                uuid=f"00000000-0000-0000-0000-{number:012d}",
                server_id=server.id,
                webhook_id=webhook.id,
                url=webhook.url,
                event="MessageSent",
                payload="{}",
            )
        )
    dbsession.commit()


def test_claims_never_overlap(dbengine, dbsession, server):
    from sqlalchemy.orm import Session

    _queue_rows(dbsession, server, 3)
    first, second = Session(bind=dbengine), Session(bind=dbengine)
    try:
        taken = queue.claim(first, "w1", 2, 300)
        if dbengine.dialect.name == "sqlite":
            first.commit()  # one writer at a time: the second claim waits for this one
        # On PostgreSQL and MariaDB the first claim is still open: SKIP LOCKED passes it by.
        others = queue.claim(second, "w2", 5, 300)
        second.commit()
        first.commit()
    finally:
        first.close()
        second.close()
    assert len(taken) == 2 and len(others) == 1
    assert not {job.id for job in taken} & {job.id for job in others}


def test_a_stale_claim_is_taken_over(dbsession, server):
    _queue_rows(dbsession, server, 1)
    dbsession.execute(
        update(WebhookRequest).values(
            locked_by="dead-worker", locked_at=utcnow() - dt.timedelta(seconds=600)
        )
    )
    dbsession.commit()
    (job,) = queue.claim(dbsession, "w2", 5, 300)
    dbsession.commit()
    assert job.claim.startswith("w2:")
    assert queue.claim(dbsession, "w3", 5, 300) == []


def test_hook_postal_register_scheduled_tasks(registry, hooks, dbsession, server):
    tasks = {
        task.name: task for result in hooks.postal_register_scheduled_tasks() for task in result
    }
    task = tasks["webhooks.prune_request_logs"]
    assert task.interval == dt.timedelta(hours=1)
    webhook = add_webhook(dbsession, server, "http://127.0.0.1:9/x", all_events=True)
    for age_days in (11, 9, 0):
        dbsession.add(
            WebhookRequestLog(
                uuid=f"log-{age_days}",
                server_id=server.id,
                webhook_id=webhook.id,
                event="MessageSent",
                url=webhook.url,
                payload="{}",
                created_at=utcnow() - dt.timedelta(days=age_days),
            )
        )
    dbsession.commit()
    assert task.run(registry) == 1
    assert sorted(e.uuid for e in logs(dbsession)) == ["log-0", "log-9"]
