"""A server's HTTP, SMTP and address endpoints: where its routes send incoming mail.

The three kinds share one set of views; :data:`KINDS` says, per kind, which model, fields
and rules (:mod:`postal.endpoints`) apply.  Deleting an endpoint switches the routes that send
to it to Reject, as Postal does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ... import endpoints as endpoint_rules
from ... import routing
from ...models import AddressEndpoint, HTTPEndpoint, Server, SMTPEndpoint
from ...ssrf import request_resolver
from .access import load_server
from .errors import Conflict, NotFound, ValidationFailed
from .listing import paginate
from .params import boolean, integer, json_body, string
from .serializers import timestamp


@dataclass(frozen=True)
class Kind:
    model: type
    label: str
    fields: dict[str, Any]  # field -> default on create
    show: tuple[str, ...]  # model attributes shown besides the common ones


HTTP_DEFAULTS = {"name": None, "url": None, "encoding": "BodyAsJSON", "format": "Hash",
                 "strip_replies": False, "include_attachments": True, "timeout": 5}  # fmt: skip
KINDS = {
    "http": Kind(HTTPEndpoint, "HTTP endpoint", HTTP_DEFAULTS,
                 (*HTTP_DEFAULTS, "error", "disabled_until")),
    "smtp": Kind(SMTPEndpoint, "SMTP endpoint",
                 {"name": None, "hostname": None, "port": 25, "ssl_mode": "Auto"},
                 ("name", "hostname", "port", "ssl_mode", "error", "disabled_until")),
    "address": Kind(AddressEndpoint, "address endpoint", {"address": None}, ("address",)),
}  # fmt: skip
BOOLEANS = {"strip_replies", "include_attachments"}
INTEGERS = {"timeout", "port"}


def _kind(request) -> tuple[str, Kind]:
    # Route names are api.v2.server.<kind>_endpoints and api.v2.<kind>_endpoint.
    name = request.matched_route.name.rsplit(".", 1)[1].split("_")[0]
    return name, KINDS[name]


def serialize(endpoint, server: Server) -> dict[str, Any]:
    result = {"uuid": endpoint.uuid, "type": routing.type_name(endpoint), "server": server.uuid}
    if isinstance(endpoint, AddressEndpoint):
        result["name"] = endpoint.address
    for attribute in KINDS[_kind_of(endpoint)].show:
        value = getattr(endpoint, attribute)
        result[attribute] = timestamp(value) if attribute == "disabled_until" else value
    result["last_used_at"] = timestamp(endpoint.last_used_at)
    result["created_at"] = timestamp(endpoint.created_at)
    return result


def _kind_of(endpoint) -> str:
    return next(name for name, kind in KINDS.items() if isinstance(endpoint, kind.model))


def _typed(body: dict, values: dict) -> dict:
    """``values`` with the fields ``body`` gives, each of the right JSON type."""
    values = dict(values)
    for name in set(body) & set(values):
        if name in BOOLEANS:
            values[name] = boolean(body, name, default=values[name])
        elif name in INTEGERS:
            values[name] = integer(body, name, default=values[name])
        else:
            values[name] = string(body, name, required=True, max_length=2000)
    return values


def _apply(request, server, kind: Kind, endpoint, values: dict):
    try:
        return endpoint_rules.save_endpoint(
            request.dbsession, server.id, kind.model, endpoint, values,
            settings=request.registry.settings, resolver=request_resolver(request),
        )  # fmt: skip
    except routing.RoutingConflict as exc:
        raise Conflict(str(exc), field=exc.field) from None
    except routing.RoutingError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


def load_endpoint(request, kind: Kind) -> tuple[Any, Server]:
    uuid = request.matchdict["endpoint"]
    endpoint = request.dbsession.scalar(select(kind.model).where(kind.model.uuid == uuid))
    server = endpoint and request.dbsession.get(Server, endpoint.server_id)
    if server is None:
        raise NotFound(f"No such {kind.label}.")
    try:
        return endpoint, load_server(request, server.uuid)
    except NotFound:
        raise NotFound(f"No such {kind.label}.") from None


@view_config(route_name="api.v2.server.http_endpoints", request_method="GET", renderer="json")
@view_config(route_name="api.v2.server.smtp_endpoints", request_method="GET", renderer="json")
@view_config(route_name="api.v2.server.address_endpoints", request_method="GET", renderer="json")
def list_endpoints(request):
    server = load_server(request, request.matchdict["server"])
    _name, kind = _kind(request)
    model = kind.model
    query = select(model).where(model.server_id == server.id).order_by(model.id)
    return paginate(request, query, lambda row: serialize(row, server))


@view_config(route_name="api.v2.server.http_endpoints", request_method="POST", renderer="json")
@view_config(route_name="api.v2.server.smtp_endpoints", request_method="POST", renderer="json")
@view_config(route_name="api.v2.server.address_endpoints", request_method="POST", renderer="json")
def create_endpoint(request):
    server = load_server(request, request.matchdict["server"])
    _name, kind = _kind(request)
    body = json_body(request, set(kind.fields))
    endpoint = _apply(request, server, kind, None, _typed(body, kind.fields))
    request.response.status_int = 201
    return serialize(endpoint, server)


@view_config(route_name="api.v2.http_endpoint", request_method="GET", renderer="json")
@view_config(route_name="api.v2.smtp_endpoint", request_method="GET", renderer="json")
@view_config(route_name="api.v2.address_endpoint", request_method="GET", renderer="json")
def get_endpoint(request):
    endpoint, server = load_endpoint(request, _kind(request)[1])
    return serialize(endpoint, server)


@view_config(route_name="api.v2.http_endpoint", request_method="PATCH", renderer="json")
@view_config(route_name="api.v2.smtp_endpoint", request_method="PATCH", renderer="json")
@view_config(route_name="api.v2.address_endpoint", request_method="PATCH", renderer="json")
def update_endpoint(request):
    _name, kind = _kind(request)
    endpoint, server = load_endpoint(request, kind)
    body = json_body(request, set(kind.fields))
    current = {name: getattr(endpoint, name) for name in kind.fields}
    _apply(request, server, kind, endpoint, _typed(body, current))
    return serialize(endpoint, server)


@view_config(route_name="api.v2.http_endpoint", request_method="DELETE")
@view_config(route_name="api.v2.smtp_endpoint", request_method="DELETE")
@view_config(route_name="api.v2.address_endpoint", request_method="DELETE")
def delete_endpoint(request):
    endpoint, _server = load_endpoint(request, _kind(request)[1])
    endpoint_rules.delete_endpoint(request.dbsession, endpoint)
    return HTTPNoContent()
