"""Web UI webhooks: the form, the request log ("View History"), a request's page, retry now."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

import plugins.webhooks as webhooks_plugin
from postal.events import Event
from postal.models import Webhook, WebhookRequest, WebhookRequestLog, utcnow
from postal.unit_of_work import unit_of_work
from tests.fixtures.web_server import refused_without_token


@pytest.fixture
def app_settings(app_settings):
    # The receiver listens on loopback, which the SSRF guard refuses unless listed.
    return {**app_settings, "postal.allowed_request_destinations": ["127.0.0.1"]}


def fresh(dbsession, model, *conditions):
    dbsession.rollback()  # see the application's commits (MariaDB: repeatable read)
    return list(dbsession.scalars(select(model).where(*conditions)))


def test_create_edit_and_delete(server_owner, dbsession):
    web, base = server_owner, server_owner.base
    assert "No webhooks yet" in web.app.get(base + "/webhooks").text
    form = web.app.get(base + "/webhooks/new").text
    assert 'name="all_events" value="1" checked' in form  # new webhooks default to all events
    assert 'value="MessageLoaded"' in form and 'value="SendLimitExceeded"' not in form
    fields = {"name": "Shop", "url": "http://127.0.0.1:9/hook", "enabled": "1",
              "events": ["MessageSent", "MessageBounced"]}  # fmt: skip
    web.post(base + "/webhooks/new", fields, token_from=base + "/webhooks/new")
    (webhook,) = fresh(dbsession, Webhook)
    assert (webhook.name, webhook.enabled, webhook.all_events) == ("Shop", True, False)
    assert sorted(e.event for e in webhook.events) == ["MessageBounced", "MessageSent"]
    page = web.app.get(base + "/webhooks").text
    assert "MessageBounced, MessageSent" in page and "http://127.0.0.1:9/hook" in page

    path = f"{base}/webhooks/{webhook.uuid}"
    web.post(path, {"name": "Shop 2", "url": "https://127.0.0.1/x", "all_events": "1",
                    "events": ["MessageSent"]})  # fmt: skip
    # All events drops the chosen ones; an unticked "enabled" disables.
    (webhook,) = fresh(dbsession, Webhook)
    assert (webhook.name, webhook.enabled, webhook.all_events, webhook.events) == (
        "Shop 2", False, True, []
    )  # fmt: skip
    for bad, words in (
        ({"name": "x", "url": "ftp://example.com/"}, "http"),
        ({"name": "x", "url": "http://127.0.0.1:9/"}, "at least one event"),
        ({"name": "x", "url": "http://127.0.0.1:9/", "events": ["Nope"]}, "Unknown event"),
        ({"name": "", "url": "http://127.0.0.1:9/", "all_events": "1"}, "Give the webhook a name"),
    ):
        page = web.post(path, bad, status=200)
        assert words in page.text, words
    (webhook,) = fresh(dbsession, Webhook)
    assert webhook.name == "Shop 2" and webhook.all_events  # nothing half-saved
    refused_without_token(web, base + "/webhooks/new", {"name": "x", "url": "http://127.0.0.1/"})
    refused_without_token(web, path, {"name": "x"})
    refused_without_token(web, path + "/delete")
    web.post(path + "/delete")
    assert fresh(dbsession, Webhook) == []


def deliver_once(registry) -> int:
    return webhooks_plugin.postal_worker_poll(registry, "web-test")


def test_history_request_page_and_retry_now(server_owner, web_app, dbsession, webhook_receiver):
    web, base, server = server_owner, server_owner.base, server_owner.server
    registry = web_app.app.registry
    web.post(base + "/webhooks/new", {"name": "Receiver", "url": webhook_receiver.url,
                                      "enabled": "1", "all_events": "1"})  # fmt: skip
    webhook_receiver.statuses = [503, 200]
    webhook_receiver.response_body = b'{"busy":"try later"}'
    with unit_of_work(registry) as request:
        request.notify(Event(name="MessageHeld", server_id=server.id, payload={"n": 7}))
    assert deliver_once(registry) == 1  # attempt 1: 503, will retry in 2 minutes
    (log,) = fresh(dbsession, WebhookRequestLog)
    history = web.app.get(base + "/webhook-requests").text
    assert "MessageHeld" in history and "503" in history and "Receiver" in history
    detail = web.app.get(f"{base}/webhook-requests/{log.id}").text
    assert "try later" in detail and "&#34;n&#34;: 7" in detail and "Will retry" in detail
    assert deliver_once(registry) == 0  # not due yet

    refused_without_token(web, f"{base}/webhook-requests/{log.id}/retry")
    web.post(f"{base}/webhook-requests/{log.id}/retry")
    assert deliver_once(registry) == 1  # due at once: attempt 2, 200
    logs = fresh(dbsession, WebhookRequestLog, WebhookRequestLog.uuid == log.uuid)
    assert sorted((entry.attempt, entry.status_code) for entry in logs) == [(1, 503), (2, 200)]
    assert fresh(dbsession, WebhookRequest) == []

    # A finished request is queued once more: same body and uuid, numbered after the last.
    page = web.post(f"{base}/webhook-requests/{log.id}/retry").follow()
    assert "will be sent again" in page.text
    assert deliver_once(registry) == 1
    logs = fresh(dbsession, WebhookRequestLog, WebhookRequestLog.uuid == log.uuid)
    assert max(entry.attempt for entry in logs) == 3
    bodies = [request.body for request in webhook_receiver.requests]
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2]


def test_retry_now_refuses_a_request_being_sent(server_owner, dbsession):
    web, base, server = server_owner, server_owner.base, server_owner.server
    webhook = Webhook(server_id=server.id, name="h", url="http://127.0.0.1:9/", all_events=True)
    dbsession.add(webhook)
    dbsession.flush()
    log = WebhookRequestLog(uuid="u-1", server_id=server.id, webhook_id=webhook.id,
                            event="MessageSent", url=webhook.url, attempt=1, payload="{}",
                            will_retry=True)  # fmt: skip
    dbsession.add_all([log, WebhookRequest(uuid="u-1", server_id=server.id,
                       webhook_id=webhook.id, url=webhook.url, event="MessageSent",
                       payload="{}", attempts=1, locked_at=utcnow(), locked_by="w")])  # fmt: skip
    dbsession.commit()
    page = web.post(f"{base}/webhook-requests/{log.id}/retry").follow()
    assert "being sent right now" in page.text


def test_history_pages_hold_thirty(server_owner, dbsession):
    web, base, server = server_owner, server_owner.base, server_owner.server
    webhook = Webhook(server_id=server.id, name="h", url="http://127.0.0.1:9/", all_events=True)
    dbsession.add(webhook)
    dbsession.flush()
    start = utcnow() - dt.timedelta(hours=1)
    dbsession.add_all(
        WebhookRequestLog(uuid=f"u-{n}", server_id=server.id, webhook_id=webhook.id,
                          event=f"Event{n:02d}", url=webhook.url, attempt=1, payload="{}",
                          status_code=200, created_at=start + dt.timedelta(seconds=n))
        for n in range(31)
    )  # fmt: skip
    dbsession.commit()
    first = web.app.get(base + "/webhook-requests").text
    assert "Event30" in first and "Event01" in first and "Event00" not in first
    assert "page=2" in first
    second = web.app.get(base + "/webhook-requests", {"page": 2}).text
    assert "Event00" in second and "Event01" not in second
    only = web.app.get(base + "/webhook-requests", {"webhook": webhook.uuid}).text
    assert "Event30" in only
    web.app.get(base + "/webhook-requests", {"webhook": "nope"}, status=404)


def test_other_organisations_get_404(server_owner, stranger, dbsession):
    base, server = server_owner.base, server_owner.server
    webhook = Webhook(server_id=server.id, name="h", url="http://127.0.0.1:9/", all_events=True)
    dbsession.add(webhook)
    dbsession.flush()
    log = WebhookRequestLog(uuid="u", server_id=server.id, webhook_id=webhook.id,
                            event="MessageSent", url=webhook.url, payload="{}")  # fmt: skip
    dbsession.add(log)
    dbsession.commit()
    other = stranger()
    for path in ("/webhooks", "/webhooks/new", f"/webhooks/{webhook.uuid}", "/webhook-requests",
                 f"/webhook-requests/{log.id}"):  # fmt: skip
        other.app.get(base + path, status=404)
    for path in (f"/webhooks/{webhook.uuid}", f"/webhooks/{webhook.uuid}/delete",
                 f"/webhook-requests/{log.id}/retry"):  # fmt: skip
        other.post(base + path, {"name": "x"}, status=404)
    # Their own server does not reach acme's rows either.
    other.app.get(f"/org/other/servers/theirs/webhooks/{webhook.uuid}", status=404)
    other.app.get(f"/org/other/servers/theirs/webhook-requests/{log.id}", status=404)
    assert fresh(dbsession, Webhook)[0].name == "h"
