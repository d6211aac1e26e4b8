"""Routes: the incoming addresses a server accepts and what happens to their mail."""

from ..openapi import TIMESTAMP, UUID, nullable, obj, operation, paged, string


TAG = {
    "name": "Routes",
    "description": "A route accepts mail for `name@domain` (`*` for any name on the domain; "
    "`name+tag@domain` matches `name`) and sends it to an endpoint, or accepts, holds, bounces "
    "or rejects it. Each route also receives mail at its `forwarding_address` "
    "(`<token>@<dns.route_domain>`). The `__returnpath__` route (no domain, Endpoint mode, "
    "an HTTP endpoint; one per server) receives return-path mail that is not a bounce.",
}

_TYPES = ["HTTPEndpoint", "SMTPEndpoint", "AddressEndpoint"]
_REFERENCE = obj({"type": string(enum=_TYPES), "uuid": UUID})
_SHOWN_REFERENCE = obj({"type": string(enum=_TYPES), "uuid": UUID, "name": string()})
_MODE = string(
    "Endpoint (default): deliver to the endpoint; Accept: store with no endpoint; Hold: store "
    "in the hold queue; Bounce: accept and bounce to the sender; Reject: refuse at RCPT.",
    enum=["Endpoint", "Accept", "Hold", "Bounce", "Reject"],
)
_SPAM_MODE = string(
    "What happens to spam: Mark (default) delivers it marked, Quarantine holds it, Fail fails it.",
    enum=["Mark", "Quarantine", "Fail"],
)
_NAME = string(
    "Lower-case letters, digits, - and .; or * (any name); or __returnpath__.",
    pattern=r"^([a-z0-9.-]+|\*|__returnpath__)$",
    maxLength=255,
)
_FIELDS = {
    "name": _NAME,
    "domain": nullable(
        string("uuid of a verified domain of the server or its organization (null only for "
               "__returnpath__).")
    ),
    "mode": _MODE,
    "spam_mode": _SPAM_MODE,
    "endpoint": nullable(_REFERENCE),
    "additional_endpoints": {
        "type": "array",
        "items": _REFERENCE,
        "description": "Endpoint mode only: each gets its own copy of the message. A * route "
        "may list only HTTP endpoints here; an endpoint appears once.",
    },
}  # fmt: skip

SCHEMAS = {
    "Route": obj(
        {
            "uuid": UUID,
            "server": UUID,
            "name": _NAME,
            "domain": nullable(UUID),
            "description": string("name@domain, or Return Path (as stored on messages)."),
            "mode": _MODE,
            "spam_mode": _SPAM_MODE,
            "endpoint": nullable(_SHOWN_REFERENCE),
            "additional_endpoints": {"type": "array", "items": _SHOWN_REFERENCE},
            "token": string(),
            "forwarding_address": string("<token>@<dns.route_domain>; mail to it (+tag kept) "
                                         "goes to this route."),
            "created_at": TIMESTAMP,
        }
    ),
    "RouteCreate": obj(_FIELDS, required=["name"]),
    "RouteUpdate": obj(_FIELDS, required=[]),
}  # fmt: skip

_CONFLICT = {409: "name@domain is configured on a mail server already, or the server has a "
                  "__returnpath__ route."}  # fmt: skip

PATHS = {
    "/servers/{server}/routes": {
        "get": operation(
            "listRoutes", "List a server's routes", response=paged("Route"), paged_list=True
        ),
        "post": operation(
            "createRoute",
            "Add a route",
            status=201,
            body="RouteCreate",
            response="Route",
            errors=_CONFLICT,
        ),  # fmt: skip
    },
    "/routes/{route}": {
        "get": operation("getRoute", "A route", response="Route"),
        "patch": operation(
            "updateRoute",
            "Change a route",
            body="RouteUpdate",
            response="Route",
            errors=_CONFLICT,
        ),  # fmt: skip
        "delete": operation("deleteRoute", "Delete a route", status=204),
    },
}
