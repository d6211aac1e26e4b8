"""A server's routes: which incoming addresses it accepts and where their mail goes.

(Named ``mail_routes`` because ``routes.py`` is the API's URL table.)  The rules live in
:mod:`postal.routing` (looking up the endpoints a route names: :mod:`postal.endpoints`); this
module reads JSON into them and shows routes with their forwarding address
``<token>@<dns.route_domain>``.
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ... import endpoints, routing
from ...models import Route, RouteMode, Server
from .access import load_server
from .errors import Conflict, NotFound, ValidationFailed
from .listing import paginate
from .params import json_body, string
from .serializers import timestamp


FIELDS = {"name", "domain", "mode", "spam_mode", "endpoint", "additional_endpoints"}


def _reference(endpoint) -> dict[str, str]:
    return {
        "type": routing.type_name(endpoint),
        "uuid": endpoint.uuid,
        "name": routing.endpoint_name(endpoint),
    }


def serialize(request, route: Route, server: Server) -> dict[str, Any]:
    db = request.dbsession
    endpoint = endpoints.endpoint_by_id(db, route.endpoint_type, route.endpoint_id)
    return {
        "uuid": route.uuid,
        "server": server.uuid,
        "name": route.name,
        "domain": route.domain.uuid if route.domain else None,
        "description": routing.description(route),
        "mode": route.mode,
        "spam_mode": route.spam_mode,
        "endpoint": _reference(endpoint) if endpoint else None,
        "additional_endpoints": [_reference(e) for e in endpoints.additional_endpoints(db, route)],
        "token": route.token,
        "forwarding_address": routing.forwarding_address(request.registry.settings, route),
        "created_at": timestamp(route.created_at),
    }


def load_route(request) -> tuple[Route, Server]:
    route = request.dbsession.scalar(select(Route).where(Route.uuid == request.matchdict["route"]))
    server = route and request.dbsession.get(Server, route.server_id)
    if server is None:
        raise NotFound("No such route.")
    try:
        return route, load_server(request, server.uuid)
    except NotFound:
        raise NotFound("No such route.") from None


def _endpoint(request, server, value, where: str):
    if not isinstance(value, dict) or set(value) != {"type", "uuid"}:
        raise ValidationFailed(f"{where} must be an object {{type, uuid}}.", field=where)
    kind, uuid = value["type"], value["uuid"]
    if not isinstance(kind, str) or not isinstance(uuid, str):
        raise ValidationFailed(f"{where} type and uuid must be strings.", field=where)
    return endpoints.find_endpoint(request.dbsession, server.id, kind, uuid, where)


def _additional(request, server, value) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(
            "additional_endpoints must be a list of {type, uuid}.", field="additional_endpoints"
        )
    return [_endpoint(request, server, item, "additional_endpoints") for item in value]


def _values(request, server, body: dict, values: routing.RouteInput) -> routing.RouteInput:
    """``values`` changed by the fields ``body`` gives."""
    db = request.dbsession
    if "name" in body:
        values.name = routing.route_name(string(body, "name", required=True))
    if "domain" in body:
        values.domain = routing.route_domain(db, server, string(body, "domain"))
    for name in ("mode", "spam_mode"):
        if name in body:
            setattr(values, name, string(body, name, required=True))
    if "endpoint" in body:
        value = body["endpoint"]
        values.endpoint = None if value is None else _endpoint(request, server, value, "endpoint")
    elif values.mode != RouteMode.ENDPOINT:
        values.endpoint = None  # switching away from Endpoint mode lets the endpoint go
    if "additional_endpoints" in body:
        values.additional = _additional(request, server, body["additional_endpoints"])
    elif values.mode != RouteMode.ENDPOINT:
        values.additional = []
    return values


def _save(request, server, route: Route | None, body: dict, values: routing.RouteInput) -> Route:
    try:
        return routing.save_route(
            request.dbsession, server, route, _values(request, server, body, values)
        )
    except routing.RoutingConflict as exc:
        raise Conflict(str(exc), field=exc.field) from None
    except routing.RoutingError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


@view_config(route_name="api.v2.server.routes", request_method="GET", renderer="json")
def list_routes(request):
    server = load_server(request, request.matchdict["server"])
    query = select(Route).where(Route.server_id == server.id).order_by(Route.id)
    return paginate(request, query, lambda row: serialize(request, row, server))


@view_config(route_name="api.v2.server.routes", request_method="POST", renderer="json")
def create_route(request):
    server = load_server(request, request.matchdict["server"])
    body = json_body(request, FIELDS)
    if "name" not in body:
        raise ValidationFailed("name is required.", field="name")
    route = _save(request, server, None, body, routing.RouteInput(name="", domain=None))
    request.response.status_int = 201
    return serialize(request, route, server)


@view_config(route_name="api.v2.route", request_method="GET", renderer="json")
def get_route(request):
    route, server = load_route(request)
    return serialize(request, route, server)


@view_config(route_name="api.v2.route", request_method="PATCH", renderer="json")
def update_route(request):
    route, server = load_route(request)
    body = json_body(request, FIELDS)
    db = request.dbsession
    current = routing.RouteInput(
        name=route.name, domain=route.domain, mode=route.mode, spam_mode=route.spam_mode,
        endpoint=endpoints.endpoint_by_id(db, route.endpoint_type, route.endpoint_id),
        additional=endpoints.additional_endpoints(db, route),
    )  # fmt: skip
    _save(request, server, route, body, current)
    return serialize(request, route, server)


@view_config(route_name="api.v2.route", request_method="DELETE")
def delete_route(request):
    route, _server = load_route(request)
    request.dbsession.delete(route)
    return HTTPNoContent()
