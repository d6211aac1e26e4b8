"""The rules for routes and their endpoints (Postal §5), shared by API v2 and the web UI.

A route sends incoming mail for ``name@domain`` (``*`` for any name, ``__returnpath__`` for
return-path mail that is not a bounce) to an endpoint, or accepts, holds, bounces or rejects
it.  Callers check the types of their input (JSON or form fields); everything about what
the values mean is checked here, with :class:`RoutingError` messages that are safe to show.

Postal allows one ``__returnpath__`` route in the whole installation (its uniqueness check is
not scoped to the server); here each server may have one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, or_, select

from .models import (
    AdditionalRouteEndpoint,
    AddressEndpoint,
    Domain,
    HTTPEndpoint,
    Route,
    RouteMode,
    SMTPEndpoint,
    SpamMode,
)  # fmt: skip
from .ssrf import UnsafeURLError, allowed_networks, check_addresses, resolve


RETURN_PATH = "__returnpath__"
ROUTE_NAME = re.compile(r"^[a-z0-9.-]+$")
HOSTNAME = re.compile(r"^[a-z0-9.-]+$")
ENDPOINT_TYPES: dict[str, type] = {
    "HTTPEndpoint": HTTPEndpoint, "SMTPEndpoint": SMTPEndpoint, "AddressEndpoint": AddressEndpoint,
}  # fmt: skip
MODES = tuple(mode.value for mode in RouteMode)
SPAM_MODES = tuple(mode.value for mode in SpamMode)
ENCODINGS = ("BodyAsJSON", "FormData")
FORMATS = ("Hash", "RawMessage")
SSL_MODES = ("None", "Auto", "STARTTLS", "TLS")
TIMEOUT_RANGE = (5, 60)


class RoutingError(ValueError):
    """Bad route or endpoint input; the message is safe to show.  ``field`` names the input."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class RoutingConflict(RoutingError):
    """The input clashes with an existing route or endpoint."""


def type_name(endpoint) -> str:
    return type(endpoint).__name__


def endpoint_name(endpoint) -> str:
    """What people call the endpoint (an address endpoint has only its address)."""
    return endpoint.address if isinstance(endpoint, AddressEndpoint) else endpoint.name


def forwarding_address(settings: Mapping[str, Any], route: Route) -> str:
    """``<token>@<dns.route_domain>``: mail to it (``+tag`` kept) goes to the route."""
    return f"{route.token}@{settings['dns.route_domain']}"


def description(route: Route) -> str:
    """As stored on messages: ``name@domain``, or "Return Path"."""
    if route.name == RETURN_PATH:
        return "Return Path"
    return f"{route.name}@{route.domain.name}" if route.domain else route.name


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


# --- Routes -----------------------------------------------------------------------------


@dataclass
class RouteInput:
    name: str
    domain: Domain | None
    mode: str = RouteMode.ENDPOINT.value
    spam_mode: str = SpamMode.MARK.value
    endpoint: Any = None
    additional: list = field(default_factory=list)


def route_name(value: str | None) -> str:
    name = (value or "").strip().lower()
    if not name:
        raise RoutingError("Give the route a name (the part before the @, or *).", "name")
    if name not in ("*", RETURN_PATH) and (not ROUTE_NAME.match(name) or len(name) > 255):
        raise RoutingError(
            "name may contain only lower-case letters, digits, - and . (or be * for any).",
            "name",
        )
    return name


def route_domains(db, server) -> list[Domain]:
    """The verified domains a server's routes may use: its own and its organisation's."""
    return list(
        db.scalars(
            select(Domain)
            .where(
                Domain.verified_at.is_not(None),
                or_(Domain.server_id == server.id,
                    Domain.organization_id == server.organization_id),
            )
            .order_by(Domain.name, Domain.id)
        )
    )  # fmt: skip


def route_domain(db, server, value: str | None, *, by: str = "uuid") -> Domain | None:
    """A verified domain of the server or its organisation, by uuid (API) or id (UI)."""
    if not value:
        return None
    foreign = RoutingError("domain must be a domain of this server or its organization.", "domain")
    if by == "id" and not (value.isdigit() and len(value) <= 9):
        raise foreign  # not an id any engine could store
    column = Domain.uuid if by == "uuid" else Domain.id
    domain = db.scalar(
        select(Domain).where(
            column == (value if by == "uuid" else int(value)),
            or_(Domain.server_id == server.id, Domain.organization_id == server.organization_id),
        )
    )
    if domain is None:
        raise foreign
    if not domain.verified:
        raise RoutingError(f"{domain.name} has not been verified yet.", "domain")
    return domain


def save_route(db, server, route: Route | None, values: RouteInput) -> Route:
    """Check ``values`` and create (``route`` None) or change the server's route."""
    _check_route(db, server, route, values)
    route = route or Route(server_id=server.id)
    route.name, route.domain, route.domain_id = values.name, values.domain, _id(values.domain)
    route.mode, route.spam_mode = values.mode, values.spam_mode
    endpoint = values.endpoint if values.mode == RouteMode.ENDPOINT else None
    route.endpoint_type = type_name(endpoint) if endpoint else None
    route.endpoint_id = endpoint.id if endpoint else None
    route.additional_endpoints = [
        AdditionalRouteEndpoint(endpoint_type=type_name(extra), endpoint_id=extra.id)
        for extra in values.additional
    ]
    db.add(route)
    db.flush()
    return route


def _id(row) -> int | None:
    return row.id if row is not None else None


def _check_route(db, server, route: Route | None, values: RouteInput) -> None:
    if values.mode not in MODES:
        raise RoutingError(f"mode must be one of {', '.join(MODES)}.", "mode")
    if values.spam_mode not in SPAM_MODES:
        raise RoutingError(f"spam_mode must be one of {', '.join(SPAM_MODES)}.", "spam_mode")
    if values.name == RETURN_PATH:
        _check_return_path(db, server, route, values)
    elif values.domain is None:
        raise RoutingError("Choose the domain this route receives mail for.", "domain")
    else:
        _check_unique(db, route, values)
    if values.mode == RouteMode.ENDPOINT and values.endpoint is None:
        raise RoutingError("Choose the endpoint mail to this route goes to.", "endpoint")
    if values.mode != RouteMode.ENDPOINT and values.endpoint is not None:
        raise RoutingError("Only routes in Endpoint mode send mail to an endpoint.", "endpoint")
    _check_additional(values)


def _check_return_path(db, server, route: Route | None, values: RouteInput) -> None:
    if values.domain is not None:
        raise RoutingError("The __returnpath__ route has no domain.", "domain")
    if values.mode != RouteMode.ENDPOINT or not isinstance(values.endpoint, HTTPEndpoint):
        raise RoutingError(
            "The __returnpath__ route must be in Endpoint mode with an HTTP endpoint.", "endpoint"
        )
    other = select(Route.id).where(Route.server_id == server.id, Route.name == RETURN_PATH)
    if route is not None and route.id is not None:
        other = other.where(Route.id != route.id)
    if db.scalar(other) is not None:
        raise RoutingConflict("This server already has a __returnpath__ route.", "name")


def _check_unique(db, route: Route | None, values: RouteInput) -> None:
    query = select(Route).where(Route.name == values.name, Route.domain_id == values.domain.id)
    if route is not None and route.id is not None:
        query = query.where(Route.id != route.id)
    clash = db.scalars(query.limit(1)).first()
    if clash is not None:
        raise RoutingConflict(
            f"{values.name}@{values.domain.name} is configured on the "
            f"{clash.server.full_permalink} mail server.",
            "name",
        )


def _check_additional(values: RouteInput) -> None:
    where = "additional_endpoints"
    if values.additional and values.mode != RouteMode.ENDPOINT:
        raise RoutingError("Only routes in Endpoint mode have additional endpoints.", where)
    seen = {(type_name(values.endpoint), values.endpoint.id)} if values.endpoint else set()
    for extra in values.additional:
        key = (type_name(extra), extra.id)
        if key in seen:
            raise RoutingError(
                f"{endpoint_name(extra)} is already an endpoint of the route.", where
            )
        seen.add(key)
        if values.name == "*" and not isinstance(extra, HTTPEndpoint):
            raise RoutingError(
                "A wildcard (*) route may only use HTTP endpoints as additional endpoints.", where
            )


# --- Endpoints --------------------------------------------------------------------------


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
