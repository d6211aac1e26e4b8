"""Endpoints: the HTTP URLs, SMTP servers and addresses a server's routes deliver to."""

from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, string


TAG = {
    "name": "Endpoints",
    "description": "Where routes send incoming mail: HTTP endpoints (a POST per message), SMTP "
    "endpoints (relayed with the original recipient) and address endpoints (forwarded by MX). "
    "Deleting an endpoint switches the routes that send to it to mode `Reject` and removes it "
    "from every route's additional endpoints.",
}

NAME = string(minLength=1, maxLength=255)
_HTTP = {
    "name": NAME,
    "url": string(
        "http:// or https:// URL; user info becomes basic auth. Hosts resolving to private "
        "addresses are refused unless listed in postal.allowed_request_destinations.",
        maxLength=2000,
    ),
    "encoding": string("Default BodyAsJSON.", enum=["BodyAsJSON", "FormData"]),
    "format": string("Default Hash.", enum=["Hash", "RawMessage"]),
    "strip_replies": {"type": "boolean", "description": "Default false."},
    "include_attachments": {"type": "boolean", "description": "Default true."},
    "timeout": {"type": "integer", "minimum": 5, "maximum": 60, "description": "Seconds (5)."},
}
_SMTP = {
    "name": NAME,
    "hostname": string("Lower-cased host name or address.", pattern="^[a-z0-9.-]+$"),
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "Default 25."},
    "ssl_mode": string("Default Auto.", enum=["None", "Auto", "STARTTLS", "TLS"]),
}
_ADDRESS = {"address": string("An e-mail address, unique per server.", maxLength=255)}
_STATE = {
    "error": nullable(string("The last delivery error.")),
    "disabled_until": nullable(TIMESTAMP),
}


def _shown(kind: str, fields: dict, extra: dict) -> dict:
    return obj(
        {
            "uuid": UUID,
            "type": string(enum=[kind]),
            "server": UUID,
            **fields,
            **extra,
            "last_used_at": nullable(TIMESTAMP),
            "created_at": TIMESTAMP,
        }
    )


SCHEMAS = {
    "HTTPEndpoint": _shown("HTTPEndpoint", _HTTP, _STATE),
    "HTTPEndpointCreate": obj(_HTTP, required=["name", "url"]),
    "HTTPEndpointUpdate": obj(_HTTP, required=[]),
    "SMTPEndpoint": _shown("SMTPEndpoint", _SMTP, _STATE),
    "SMTPEndpointCreate": obj(_SMTP, required=["name", "hostname"]),
    "SMTPEndpointUpdate": obj(_SMTP, required=[]),
    "AddressEndpoint": _shown(
        "AddressEndpoint", {"name": string("The address (read-only).")}, _ADDRESS
    ),
    "AddressEndpointCreate": obj(_ADDRESS),
    "AddressEndpointUpdate": obj(_ADDRESS, required=[]),
}


def _paths(kind: str, segment: str, label: str, conflict: str | None = None) -> dict:
    errors = {409: conflict} if conflict else None
    return {
        f"/servers/{{server}}/{segment}": {
            "get": operation(
                f"list{kind}s", f"List a server's {label}s", response=paged(kind), paged_list=True
            ),
            "post": operation(
                f"create{kind}", f"Add an {label}",
                status=201, body=f"{kind}Create", response=kind, errors=errors,
            ),
        },
        f"/{segment}/{{endpoint}}": {
            "get": operation(f"get{kind}", f"One {label}", response=kind),
            "patch": operation(
                f"update{kind}", f"Change an {label}", body=f"{kind}Update", response=kind,
                errors=errors,
            ),
            "delete": operation(
                f"delete{kind}",
                f"Delete the {label}; routes sending to it switch to Reject",
                status=204,
            ),
        },
    }  # fmt: skip


PATHS = {
    **_paths("HTTPEndpoint", "http-endpoints", "HTTP endpoint"),
    **_paths("SMTPEndpoint", "smtp-endpoints", "SMTP endpoint"),
    **_paths(
        "AddressEndpoint",
        "address-endpoints",
        "address endpoint",
        "The server already has an address endpoint for this address.",
    ),  # fmt: skip
}
