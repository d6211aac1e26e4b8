"""Webhooks of a server and the log of their requests."""

from __future__ import annotations

import json
from typing import Any

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ... import webhooks as rules
from ...models import Webhook, WebhookRequestLog
from ...ssrf import request_resolver
from .access import check_organization, load_server
from .errors import NotFound, ValidationFailed
from .listing import paginate
from .params import boolean, json_body, string
from .serializers import timestamp


FIELDS = {"name", "url", "enabled", "all_events", "events"}


def load_webhook(request, uuid: str, *, server=None) -> Webhook:
    """The webhook, if the user may see its server (and it belongs to ``server`` if given)."""
    webhook = request.dbsession.scalar(select(Webhook).where(Webhook.uuid == uuid))
    if webhook is None or (server is not None and webhook.server_id != server.id):
        raise NotFound("No such webhook.")
    owner = webhook_server(request, webhook)
    try:
        check_organization(request, owner.organization, manage=False)
    except NotFound:
        raise NotFound("No such webhook.") from None
    return webhook


def webhook_server(request, webhook: Webhook):
    from ...models import Server

    server = request.dbsession.get(Server, webhook.server_id)
    if server is None or server.deleted_at is not None:
        raise NotFound("No such webhook.")
    return server


def serialize(request, webhook: Webhook) -> dict[str, Any]:
    return {
        "uuid": webhook.uuid,
        "server": webhook_server(request, webhook).uuid,
        "name": webhook.name,
        "url": webhook.url,
        "enabled": webhook.enabled,
        "all_events": webhook.all_events,
        "events": sorted(e.event for e in webhook.events),
        "last_used_at": timestamp(webhook.last_used_at),
        "created_at": timestamp(webhook.created_at),
    }


def serialize_log(log: WebhookRequestLog) -> dict[str, Any]:
    try:
        payload = json.loads(log.payload)
    except ValueError:
        payload = log.payload
    return {
        "uuid": log.uuid,
        "event": log.event,
        "url": log.url,
        "attempt": log.attempt,
        "status_code": log.status_code,
        "body": log.body,
        "error": log.error,
        "will_retry": log.will_retry,
        "duration_ms": log.duration_ms,
        "payload": payload,
        "created_at": timestamp(log.created_at),
    }


def _url(request, body: dict) -> str:
    url = string(body, "url", required=True, max_length=2000)
    try:
        return rules.checked_url(url, request.registry.settings, request_resolver(request))
    except rules.WebhookError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


def _events(body: dict) -> list[str] | None:
    if "events" not in body or body["events"] is None:
        return None
    events = body["events"]
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ValidationFailed("events must be a list of event names.", field="events")
    try:
        return rules.checked_events(events)
    except rules.WebhookError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


def _apply_events(webhook: Webhook, all_events: bool, events: list[str] | None) -> None:
    try:
        rules.apply_events(webhook, all_events, events)
    except rules.WebhookError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


@view_config(route_name="api.v2.server.webhooks", request_method="GET", renderer="json")
def list_webhooks(request):
    server = load_server(request, request.matchdict["server"])
    query = select(Webhook).where(Webhook.server_id == server.id).order_by(Webhook.id)
    return paginate(request, query, lambda webhook: serialize(request, webhook))


@view_config(route_name="api.v2.server.webhooks", request_method="POST", renderer="json")
def create_webhook(request):
    server = load_server(request, request.matchdict["server"])
    body = json_body(request, FIELDS)
    name = string(body, "name", required=True)
    url = _url(request, body)
    all_events = boolean(body, "all_events", default=False)
    events = _events(body)
    webhook = Webhook(
        server_id=server.id, name=name, url=url, enabled=boolean(body, "enabled", default=True)
    )
    _apply_events(webhook, all_events, events or [])
    request.dbsession.add(webhook)
    request.dbsession.flush()
    request.response.status_int = 201
    return serialize(request, webhook)


@view_config(route_name="api.v2.webhook", request_method="GET", renderer="json")
def get_webhook(request):
    return serialize(request, load_webhook(request, request.matchdict["webhook"]))


@view_config(route_name="api.v2.webhook", request_method="PATCH", renderer="json")
def update_webhook(request):
    webhook = load_webhook(request, request.matchdict["webhook"])
    body = json_body(request, FIELDS)
    webhook.name = string(body, "name", default=webhook.name) or webhook.name
    if "url" in body:
        webhook.url = _url(request, body)
    webhook.enabled = boolean(body, "enabled", default=webhook.enabled)
    all_events = boolean(body, "all_events", default=webhook.all_events)
    _apply_events(webhook, all_events, _events(body))
    request.dbsession.flush()
    return serialize(request, webhook)


@view_config(route_name="api.v2.webhook", request_method="DELETE", renderer="json")
def delete_webhook(request):
    webhook = load_webhook(request, request.matchdict["webhook"])
    request.dbsession.delete(webhook)
    return HTTPNoContent()


@view_config(route_name="api.v2.server.webhook.requests", request_method="GET", renderer="json")
def list_requests(request):
    server = load_server(request, request.matchdict["server"])
    webhook = load_webhook(request, request.matchdict["webhook"], server=server)
    query = (
        select(WebhookRequestLog)
        .where(WebhookRequestLog.webhook_id == webhook.id)
        .order_by(WebhookRequestLog.created_at.desc(), WebhookRequestLog.id.desc())
    )
    return paginate(request, query, serialize_log)
