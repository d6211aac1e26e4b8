"""API v2 webhooks: create, list, change, delete, the request log, and what is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

import plugins.webhooks as webhooks_plugin
from postal.events import Event
from postal.models import Server, WebhookRequest, utcnow
from postal.unit_of_work import unit_of_work


@pytest.fixture
def app_settings(app_settings):
    # The local receiver listens on loopback, which the SSRF guard refuses unless listed.
    return {**app_settings, "postal.allowed_request_destinations": ["127.0.0.1"]}


def webhooks_path(server):
    return f"/api/v2/servers/{server['uuid']}/webhooks"


def error(response, code, field=None):
    body = response.json["error"]
    assert body["code"] == code, body
    if field is not None:
        assert body.get("field") == field, body
    return body["message"]


def test_create_list_update_and_delete(api, v2):
    headers, _organization, server = v2.tenant()
    created = api.post(
        webhooks_path(server),
        {
            "name": "Deliveries",
            "url": "http://127.0.0.1:9/hook",
            "events": ["MessageSent", "MessageDeliveryFailed", "MessageSent"],
        },
        headers=headers,
        status=201,
    ).json
    assert created["name"] == "Deliveries" and created["server"] == server["uuid"]
    assert created["enabled"] is True and created["all_events"] is False
    assert created["events"] == ["MessageDeliveryFailed", "MessageSent"]
    assert created["last_used_at"] is None

    listed = api.get(webhooks_path(server), headers=headers).json
    assert [w["uuid"] for w in listed["data"]] == [created["uuid"]]
    assert listed["meta"]["total"] == 1

    path = f"/api/v2/webhooks/{created['uuid']}"
    changed = api.patch(path, {"all_events": True, "enabled": False}, headers=headers).json
    assert changed["all_events"] is True and changed["enabled"] is False
    assert changed["events"] == []  # as in Postal, all_events drops the explicit list
    changed = api.patch(path, {"all_events": False, "events": ["MessageBounced"]}, headers=headers)
    assert changed.json["events"] == ["MessageBounced"]
    assert api.get(path, headers=headers).json["events"] == ["MessageBounced"]

    api.delete(path, headers=headers, status=204)
    api.get(path, headers=headers, status=404)


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "http://127.0.0.1:9/", "all_events": True}, "name", "name is required"),
        ({"name": "x", "all_events": True}, "url", "url is required"),
        ({"name": "x", "url": "ftp://example.com/", "all_events": True}, "url", "http://"),
        ({"name": "x", "url": "http://10.0.0.1/", "all_events": True}, "url", "private"),
        (
            {"name": "x", "url": "http://169.254.169.254/", "all_events": True},
            "url",
            "allowed_request_destinations",
        ),
        ({"name": "x", "url": "http://127.0.0.2:9/", "all_events": True}, "url", "loopback"),
        ({"name": "x", "url": "http://127.0.0.1:9/", "events": ["Nope"]}, "events", "Nope"),
        ({"name": "x", "url": "http://127.0.0.1:9/", "events": "MessageSent"}, "events", "list"),
        ({"name": "x", "url": "http://127.0.0.1:9/"}, "events", "at least one event"),
        ({"name": "x", "url": "http://127.0.0.1:9/", "sign": False}, "sign", "Unknown field"),
    ],
)
def test_bad_webhooks_are_refused(api, v2, body, field, words):
    headers, _organization, server = v2.tenant()
    response = api.post(webhooks_path(server), body, headers=headers, status=422)
    assert words in error(response, "validation_failed", field)


def test_other_tenants_see_nothing(api, v2):
    headers, _organization, server = v2.tenant()
    webhook = api.post(
        webhooks_path(server),
        {"name": "h", "url": "http://127.0.0.1:9/", "all_events": True},
        headers=headers,
        status=201,
    ).json
    stranger, _o, _s = v2.tenant()
    api.get(webhooks_path(server), headers=stranger, status=404)
    api.get(f"/api/v2/webhooks/{webhook['uuid']}", headers=stranger, status=404)
    api.delete(f"/api/v2/webhooks/{webhook['uuid']}", headers=stranger, status=404)
    api.get(f"{webhooks_path(server)}/{webhook['uuid']}/requests", headers=stranger, status=404)
    api.get(f"/api/v2/webhooks/{webhook['uuid']}", status=401)


def test_the_request_log_lists_every_attempt(api, v2, web_config, dbsession, webhook_receiver):
    headers, _organization, server = v2.tenant()
    webhook = api.post(
        webhooks_path(server),
        {"name": "h", "url": webhook_receiver.url, "events": ["MessageHeld"]},
        headers=headers,
        status=201,
    ).json
    registry = web_config.registry
    server_id = dbsession.scalar(select(Server.id).where(Server.uuid == server["uuid"]))
    webhook_receiver.statuses = [502, 200]
    with unit_of_work(registry) as request:
        request.notify(Event(name="MessageHeld", server_id=server_id, payload={"n": 1}))
    for _attempt in range(2):
        assert webhooks_plugin.postal_worker_poll(registry, "api-test") == 1
        make_due(dbsession)

    requests_path = f"{webhooks_path(server)}/{webhook['uuid']}/requests"
    log = api.get(requests_path, headers=headers).json
    assert log["meta"]["total"] == 2
    newest, oldest = log["data"]
    assert (oldest["attempt"], oldest["status_code"], oldest["will_retry"]) == (1, 502, True)
    assert oldest["error"] == "Couldn't send to URL. Code received was 502"
    assert (newest["attempt"], newest["status_code"], newest["will_retry"]) == (2, 200, False)
    assert newest["body"] == '{"ok":true}'
    assert newest["payload"]["event"] == "MessageHeld"
    assert newest["payload"]["payload"] == {"n": 1}
    assert newest["uuid"] == oldest["uuid"] == newest["payload"]["uuid"]
    page = api.get(requests_path + "?per_page=1&page=2", headers=headers).json
    assert [entry["attempt"] for entry in page["data"]] == [1]
    assert api.get(f"/api/v2/webhooks/{webhook['uuid']}", headers=headers).json["last_used_at"]


def make_due(dbsession):
    """Make a request waiting for its retry due now (the schedule itself is tested in
    tests/plugins/test_webhooks.py)."""
    dbsession.execute(update(WebhookRequest).values(retry_after=utcnow()))
    dbsession.commit()
