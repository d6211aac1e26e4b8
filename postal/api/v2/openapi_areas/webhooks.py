"""Webhooks of a server and the log of their requests."""

from ....events import EVENT_NAMES
from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, string


TAG = {
    "name": "Webhooks",
    "description": "HTTP callbacks for a server's events (MessageSent, MessageBounced, …), "
    "signed with the installation key published at /.well-known/jwks.json, retried after "
    "2, 3, 6, 10 and 15 minutes.",
}

EVENT = string(enum=list(EVENT_NAMES))
URL = string(
    "http:// or https:// URL. Hosts that resolve to private, loopback, link-local or other "
    "non-public addresses are refused unless listed in postal.allowed_request_destinations.",
    maxLength=2000,
)
EVENTS = {
    "type": "array",
    "items": EVENT,
    "description": "Events to send; ignored (and cleared) when all_events is true.",
}

SCHEMAS = {
    "Webhook": obj(
        {
            "uuid": UUID,
            "server": UUID,
            "name": string(),
            "url": string(),
            "enabled": {"type": "boolean"},
            "all_events": {"type": "boolean"},
            "events": {"type": "array", "items": EVENT},
            "last_used_at": nullable(TIMESTAMP),
            "created_at": TIMESTAMP,
        }
    ),
    "WebhookCreate": obj(
        {
            "name": string(minLength=1, maxLength=255),
            "url": URL,
            "enabled": {"type": "boolean", "default": True},
            "all_events": {"type": "boolean", "default": False},
            "events": EVENTS,
        },
        required=["name", "url"],
    ),
    "WebhookUpdate": obj(
        {
            "name": string(minLength=1, maxLength=255),
            "url": URL,
            "enabled": {"type": "boolean"},
            "all_events": {"type": "boolean"},
            "events": EVENTS,
        },
        required=[],
    ),
    "WebhookRequestLog": obj(
        {
            "uuid": string("The request's uuid, the same for every attempt of it."),
            "event": string(),
            "url": string(),
            "attempt": {"type": "integer", "minimum": 1},
            "status_code": nullable({"type": "integer"}),
            "body": nullable(string("The response body, first 4,096 characters.")),
            "error": nullable(string()),
            "will_retry": {"type": "boolean"},
            "duration_ms": nullable({"type": "integer"}),
            "payload": {"description": "The JSON body that was sent."},
            "created_at": TIMESTAMP,
        }
    ),
}

PATHS = {
    "/servers/{server}/webhooks": {
        "get": operation(
            "listWebhooks", "List a server's webhooks", response=paged("Webhook"), paged_list=True
        ),
        "post": operation(
            "createWebhook",
            "Create a webhook",
            status=201,
            body="WebhookCreate",
            response="Webhook",
        ),
    },
    "/webhooks/{webhook}": {
        "get": operation("getWebhook", "Get a webhook", response="Webhook"),
        "patch": operation(
            "updateWebhook",
            "Rename, re-point, enable or disable a webhook, or change its events",
            body="WebhookUpdate",
            response="Webhook",
        ),
        "delete": operation("deleteWebhook", "Delete a webhook and its request log", status=204),
    },
    "/servers/{server}/webhooks/{webhook}/requests": {
        "get": operation(
            "listWebhookRequests",
            "The request log of a webhook, newest first (kept webhooks.log_retention_days)",
            response=paged("WebhookRequestLog"),
            paged_list=True,
        ),
    },
}
