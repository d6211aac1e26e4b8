"""The rules for routes (Postal §5), shared by API v2 and the web UI.

A route sends incoming mail for ``name@domain`` (``*`` for any name, ``__returnpath__`` for
return-path mail that is not a bounce) to an endpoint, or accepts, holds, bounces or rejects
it.  Callers check the types of their input (JSON or form fields); everything about what
the values mean is checked here, with :class:`RoutingError` messages that are safe to show.

How a route names its endpoints lives here too (:data:`ENDPOINT_TYPES`, :func:`type_name`,
:func:`endpoint_name`), as do the errors; the endpoints themselves (looking them up,
checking, saving and deleting them) are :mod:`postal.endpoints`, which builds on this module.

Postal allows one ``__returnpath__`` route in the whole installation (its uniqueness check is
not scoped to the server); here each server may have one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

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


RETURN_PATH = "__returnpath__"
ROUTE_NAME = re.compile(r"^[a-z0-9.-]+$")
ENDPOINT_TYPES: dict[str, type] = {
    "HTTPEndpoint": HTTPEndpoint, "SMTPEndpoint": SMTPEndpoint, "AddressEndpoint": AddressEndpoint,
}  # fmt: skip
MODES = tuple(mode.value for mode in RouteMode)
SPAM_MODES = tuple(mode.value for mode in SpamMode)


class RoutingError(ValueError):
    """Bad route or endpoint input; the message is safe to show.  ``field`` names the input."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class RoutingConflict(RoutingError):
    """The input clashes with an existing route or endpoint."""


def type_name(endpoint) -> str:
    """The ``endpoint_type`` a route stores for ``endpoint`` (a key of :data:`ENDPOINT_TYPES`)."""
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
