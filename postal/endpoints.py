"""The rules for HTTP, SMTP and address endpoints (Postal §5), shared by API v2 and the web UI.

Looking endpoints up (by type and uuid, as a route refers to them), checking what an
endpoint's fields mean, saving and deleting endpoints.  Errors are
:class:`~postal.routing.RoutingError` (safe to show), and endpoint types are named as routes
store them (:data:`postal.routing.ENDPOINT_TYPES`); the route rules are :mod:`postal.routing`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select

from .models import (
    AdditionalRouteEndpoint,
    AddressEndpoint,
    HTTPEndpoint,
    Route,
    RouteMode,
    SMTPEndpoint,
)  # fmt: skip
from .routing import ENDPOINT_TYPES, RoutingConflict, RoutingError, type_name
from .ssrf import UnsafeURLError, allowed_networks, check_addresses, resolve


HOSTNAME = re.compile(r"^[a-z0-9.-]+$")
ENCODINGS = ("BodyAsJSON", "FormData")
FORMATS = ("Hash", "RawMessage")
SSL_MODES = ("None", "Auto", "STARTTLS", "TLS")
TIMEOUT_RANGE = (5, 60)


# --- Looking endpoints up ---------------------------------------------------------------


def find_endpoint(db, server_id: int, kind: str, uuid: str, where: str = "endpoint"):
    """The server's endpoint of type ``kind`` with ``uuid``; another server's is not found."""
    model = ENDPOINT_TYPES.get(kind)
    if model is None:
        raise RoutingError(f"{where} type must be one of {', '.join(ENDPOINT_TYPES)}.", where)
    endpoint = db.scalar(select(model).where(model.uuid == uuid, model.server_id == server_id))
    if endpoint is None:
        raise RoutingError(f"{where} must be the uuid of a {kind} of this server.", where)
    return endpoint


def endpoint_by_id(db, kind: str | None, endpoint_id: int | None):
    model = ENDPOINT_TYPES.get(kind or "")
    return db.get(model, endpoint_id) if model and endpoint_id else None


def additional_endpoints(db, route: Route) -> list:
    found = (endpoint_by_id(db, e.endpoint_type, e.endpoint_id) for e in route.additional_endpoints)
    return [endpoint for endpoint in found if endpoint is not None]


def server_endpoints(db, server_id: int) -> list:
    """Every endpoint of the server: HTTP, then SMTP, then address, each oldest first."""
    return [
        endpoint
        for model in ENDPOINT_TYPES.values()
        for endpoint in db.scalars(
            select(model).where(model.server_id == server_id).order_by(model.id)
        )
    ]


# --- Checking and saving endpoints ------------------------------------------------------


def endpoint_label(value: str | None) -> str:
    name = (value or "").strip()
    if not name:
        raise RoutingError("Give the endpoint a name.", "name")
    if len(name) > 255:
        raise RoutingError("name must be at most 255 characters.", "name")
    return name


def http_url(value: str | None, settings: Mapping[str, Any], resolver=None) -> str:
    """An http(s) URL (user info becomes basic auth) whose host is not a private address,
    unless ``postal.allowed_request_destinations`` lists it; checked again at delivery."""
    url = (value or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise RoutingError(f"{url!r} is not a valid URL.", "url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise RoutingError("url must be an http:// or https:// URL with a host.", "url")
    try:
        check_addresses(parts.hostname, resolve(parts.hostname, port, resolver),
                        allowed_networks(settings))  # fmt: skip
    except UnsafeURLError as exc:
        raise RoutingError(str(exc), "url") from None
    return url


def http_options(encoding: str, format: str, timeout: int) -> tuple[str, str, int]:
    if encoding not in ENCODINGS:
        raise RoutingError(f"encoding must be one of {', '.join(ENCODINGS)}.", "encoding")
    if format not in FORMATS:
        raise RoutingError(f"format must be one of {', '.join(FORMATS)}.", "format")
    low, high = TIMEOUT_RANGE
    if isinstance(timeout, bool) or not isinstance(timeout, int) or not low <= timeout <= high:
        raise RoutingError(f"timeout must be a whole number of seconds from {low} to {high}.",
                           "timeout")  # fmt: skip
    return encoding, format, timeout


def smtp_target(hostname: str | None, port: int, ssl_mode: str) -> tuple[str, int, str]:
    host = (hostname or "").strip().lower()
    if not host or not HOSTNAME.match(host) or len(host) > 255:
        raise RoutingError(
            "hostname must be a host name or address (letters, digits, - and .).", "hostname"
        )
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise RoutingError("port must be a whole number from 1 to 65535.", "port")
    if ssl_mode not in SSL_MODES:
        raise RoutingError(f"ssl_mode must be one of {', '.join(SSL_MODES)}.", "ssl_mode")
    return host, port, ssl_mode


def forward_address(db, server_id: int, value: str | None, endpoint=None) -> str:
    """An address with an ``@``, not already an address endpoint of the server."""
    address = (value or "").strip()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in address):
        raise RoutingError("address must be an e-mail address (name@domain).", "address")
    if len(address) > 255:
        raise RoutingError("address must be at most 255 characters.", "address")
    query = select(AddressEndpoint.id).where(
        AddressEndpoint.server_id == server_id,
        func.lower(AddressEndpoint.address) == address.lower(),
    )
    if endpoint is not None and endpoint.id is not None:
        query = query.where(AddressEndpoint.id != endpoint.id)
    if db.scalar(query) is not None:
        raise RoutingConflict(
            f"{address} is already an address endpoint of this server.", "address"
        )
    return address


def save_endpoint(
    db, server_id: int, model: type, endpoint, values: dict, *, settings, resolver=None
):
    """Check ``values`` (every field of ``model``'s kind) and create (``endpoint`` None) or
    change the endpoint."""
    if model is HTTPEndpoint:
        encoding, format_, timeout = http_options(
            values["encoding"], values["format"], values["timeout"]
        )
        url = values["url"]
        if endpoint is None or url != endpoint.url:  # a kept URL was checked when saved
            url = http_url(url, settings, resolver)
        checked = {
            **values,
            "name": endpoint_label(values["name"]),
            "url": url,
            "encoding": encoding,
            "format": format_,
            "timeout": timeout,
        }
    elif model is SMTPEndpoint:
        hostname, port, ssl_mode = smtp_target(
            values["hostname"], values["port"], values["ssl_mode"]
        )
        checked = {
            "name": endpoint_label(values["name"]),
            "hostname": hostname,
            "port": port,
            "ssl_mode": ssl_mode,
        }
    else:
        checked = {"address": forward_address(db, server_id, values["address"], endpoint)}
    endpoint = endpoint or model(server_id=server_id)
    for name, value in checked.items():
        setattr(endpoint, name, value)
    db.add(endpoint)
    db.flush()
    return endpoint  # fmt: skip


def routes_using(db, endpoint) -> list[Route]:
    """Routes whose main endpoint is ``endpoint``."""
    return list(
        db.scalars(
            select(Route)
            .where(Route.endpoint_type == type_name(endpoint), Route.endpoint_id == endpoint.id)
            .order_by(Route.id)
        )
    )


def delete_endpoint(db, endpoint) -> list[Route]:
    """Delete ``endpoint``: routes sending to it switch to Reject (as Postal) and it leaves
    every route's additional endpoints.  Returns the routes switched."""
    switched = routes_using(db, endpoint)
    for route in switched:
        route.mode, route.endpoint_type, route.endpoint_id = RouteMode.REJECT.value, None, None
    db.execute(
        delete(AdditionalRouteEndpoint).where(
            AdditionalRouteEndpoint.endpoint_type == type_name(endpoint),
            AdditionalRouteEndpoint.endpoint_id == endpoint.id,
        )
    )
    db.delete(endpoint)
    db.flush()
    return switched
