"""Mail servers and their settings."""

from ..openapi import PERMALINK, TIMESTAMP, UUID, nullable, obj, operation, paged, string


TAG = {
    "name": "Servers",
    "description": "Mail servers of an organisation. Any member uses them; the organisation's "
    "owners and admins change their settings; installation admins also the advanced ones.",
}

INT32 = 2_147_483_647
_ADMIN_ONLY = "Installation admins only."

# Settings, as accepted by create and update; the admin-only ones say so.
SETTINGS = {
    "name": string(minLength=1, maxLength=255),
    "mode": string(enum=["Live", "Development"], default="Live"),
    "spam_threshold": {"type": "number", "minimum": 0},
    "spam_failure_threshold": {
        "type": "number",
        "minimum": 0,
        "description": "Not below spam_threshold.",
    },
    "postmaster_address": nullable(string(format="email", maxLength=255)),
    "privacy_mode": {"type": "boolean", "description": _ADMIN_ONLY},
    "send_limit": nullable(
        {"type": "integer", "minimum": 0, "maximum": INT32, "description": _ADMIN_ONLY}
    ),
    "allow_sender": {"type": "boolean", "description": _ADMIN_ONLY},
    "log_smtp_data": {"type": "boolean", "description": _ADMIN_ONLY},
    "outbound_spam_threshold": nullable(
        {"type": "number", "minimum": 0, "description": _ADMIN_ONLY}
    ),
    "message_retention_days": {
        "type": "integer", "minimum": 1, "maximum": 3650, "description": _ADMIN_ONLY,
    },
    "raw_message_retention_days": {
        "type": "integer", "minimum": 1, "maximum": 3650, "description": _ADMIN_ONLY,
    },
    "raw_message_retention_size": {
        "type": "integer", "minimum": 1, "maximum": INT32, "description": "MB. " + _ADMIN_ONLY,
    },
    "suspended": {"type": "boolean", "description": _ADMIN_ONLY},
    "suspension_reason": string(_ADMIN_ONLY, maxLength=255),
}  # fmt: skip

SCHEMAS = {
    "Server": obj(
        {
            "uuid": UUID,
            "name": string(),
            "permalink": PERMALINK,
            "organization": obj({"uuid": UUID, "permalink": PERMALINK}),
            "token": string("Return-path local part and tracking prefix.", pattern="^[a-z]+$"),
            "mode": string(enum=["Live", "Development"]),
            "send_limit": nullable({"type": "integer"}),
            "spam_threshold": {"type": "number"},
            "spam_failure_threshold": {"type": "number"},
            "outbound_spam_threshold": nullable({"type": "number"}),
            "message_retention_days": {"type": "integer"},
            "raw_message_retention_days": {"type": "integer"},
            "raw_message_retention_size": {"type": "integer"},
            "allow_sender": {"type": "boolean"},
            "privacy_mode": {"type": "boolean"},
            "log_smtp_data": {"type": "boolean"},
            "postmaster_address": nullable(string()),
            "suspended": {"type": "boolean", "description": "The server or its organisation."},
            "suspension_reason": nullable(string()),
            "created_at": TIMESTAMP,
        }
    ),
    "ServerCreate": obj(
        {
            "permalink": {
                **PERMALINK,
                "description": "Made from the name when left out. Reserved: new, all, search, "
                "stats, edit, manage, delete, destroy, remove.",
            },
            **SETTINGS,
        },
        required=["name"],
    ),
    "ServerUpdate": obj(SETTINGS, required=[]),
}

_MANAGE = "Not an owner or admin of the organisation, or an admin-only setting."

PATHS = {
    "/organizations/{organization}/servers": {
        "get": operation(
            "listServers",
            "List an organisation's servers",
            response=paged("Server"),
            paged_list=True,
        ),
        "post": operation(
            "createServer",
            "Create a server",
            status=201,
            body="ServerCreate",
            response="Server",
            errors={403: _MANAGE, 409: "The organisation has a server with this permalink."},
        ),
    },
    "/servers/{server}": {
        "get": operation("getServer", "Get a server with its settings", response="Server"),
        "patch": operation(
            "updateServer",
            "Change a server's settings",
            body="ServerUpdate",
            response="Server",
            errors={403: _MANAGE},
        ),
        "delete": operation(
            "deleteServer",
            "Delete a server with its domains, credentials and messages",
            status=204,
            errors={403: "Not an owner or admin of the organisation."},
        ),
    },
}
