"""The Routing tab: a server's routes (the rules live in :mod:`postal.routing`, the endpoint
look-ups in :mod:`postal.endpoints`).

As in Postal, one select says what happens to a route's mail: an endpoint (Endpoint mode),
or one of the modes without an endpoint.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from .. import endpoints, routing
from ..models import Route
from ..web.access import load_server
from ..web.forms import FormError, text
from .servers import server_page


MODE_LABELS = {
    "Accept": "Accept message with no endpoint",
    "Hold": "Accept message and put message in hold queue",
    "Bounce": "Accept message and immediately send bounce to sender",
    "Reject": "Do not accept any incoming messages",
}


def reference(endpoint) -> str:
    """How a form names an endpoint: ``<type>:<uuid>``."""
    return f"{routing.type_name(endpoint)}:{endpoint.uuid}"


def kind_label(endpoint) -> str:
    return routing.type_name(endpoint).removesuffix("Endpoint")


def _choices(request, server) -> dict:
    db = request.dbsession
    return {"domains": routing.route_domains(db, server),
            "endpoints": endpoints.server_endpoints(db, server.id), "mode_labels": MODE_LABELS,
            "spam_modes": routing.SPAM_MODES, "reference": reference,
            "endpoint_name": routing.endpoint_name, "kind_label": kind_label}  # fmt: skip


def _rows(request, server) -> list[dict]:
    db, settings = request.dbsession, request.registry.settings
    routes = db.scalars(select(Route).where(Route.server_id == server.id).order_by(Route.id))
    return [
        {"route": route, "description": routing.description(route),
         "endpoint": endpoints.endpoint_by_id(db, route.endpoint_type, route.endpoint_id),
         "forwarding_address": routing.forwarding_address(settings, route)}
        for route in routes
    ]  # fmt: skip


def _page(request, access, server, error=None, form=None):
    return server_page(request, access, server, rows=_rows(request, server), error=error,
                       form=form or {"spam_mode": "Mark"}, **_choices(request, server))  # fmt: skip


def _list_url(request, access, server) -> str:
    return request.route_url("routes", org=access.organization.permalink, server=server.permalink)


def _form_values(request, server) -> routing.RouteInput:
    db = request.dbsession
    name = routing.route_name(text(request, "name"))
    domain = routing.route_domain(db, server, text(request, "domain"), by="id")
    values = routing.RouteInput(name=name, domain=domain, spam_mode=request.POST.get("spam_mode"))
    target = request.POST.get("target", "")
    if ":" in target:
        values.endpoint = _endpoint(db, server, target, "endpoint")
    elif target in MODE_LABELS:
        values.mode = target
    else:
        raise FormError("Choose what happens to mail for this route.")
    values.additional = [
        _endpoint(db, server, item, "additional_endpoints")
        for item in request.POST.getall("additional")
    ]
    return values


def _endpoint(db, server, value: str, where: str):
    kind, _, uuid = value.partition(":")
    return endpoints.find_endpoint(db, server.id, kind, uuid, where)


def _save(request, server, route):
    values = _form_values(request, server)
    return routing.save_route(request.dbsession, server, route, values)


@view_config(route_name="routes", request_method="GET", renderer="routes/index.jinja2",
             permission="web")  # fmt: skip
def index(request):
    access, server = load_server(request)
    return _page(request, access, server)


@view_config(route_name="routes", request_method="POST", renderer="routes/index.jinja2",
             permission="web")  # fmt: skip
def create(request):
    access, server = load_server(request)
    try:
        route = _save(request, server, None)
    except (FormError, routing.RoutingError) as exc:
        return _page(request, access, server, str(exc), request.POST)
    request.session.flash(f"Route {routing.description(route)} has been created.")
    return HTTPFound(_list_url(request, access, server))


def _load(request, server) -> Route:
    route = request.dbsession.scalar(
        select(Route).where(Route.uuid == request.matchdict["route"], Route.server_id == server.id)
    )
    if route is None:
        raise HTTPNotFound()
    return route


def _edit_page(request, access, server, route, error=None):
    db = request.dbsession
    endpoint = endpoints.endpoint_by_id(db, route.endpoint_type, route.endpoint_id)
    form = {
        "name": route.name,
        "domain": str(route.domain_id or ""),
        "target": reference(endpoint) if endpoint else route.mode,
        "spam_mode": route.spam_mode,
        "additional": [reference(e) for e in endpoints.additional_endpoints(db, route)],
    }
    if error:
        form = {**request.POST, "additional": request.POST.getall("additional")}
    return server_page(request, access, server, route=route, error=error, form=form,
                       forwarding_address=routing.forwarding_address(
                           request.registry.settings, route),
                       **_choices(request, server))  # fmt: skip


@view_config(route_name="route", request_method="GET", renderer="routes/edit.jinja2",
             permission="web")  # fmt: skip
def edit_form(request):
    access, server = load_server(request)
    return _edit_page(request, access, server, _load(request, server))


@view_config(route_name="route", request_method="POST", renderer="routes/edit.jinja2",
             permission="web")  # fmt: skip
def edit_submit(request):
    access, server = load_server(request)
    route = _load(request, server)
    try:
        _save(request, server, route)  # checks everything before changing the route
    except (FormError, routing.RoutingError) as exc:
        return _edit_page(request, access, server, route, str(exc))
    request.session.flash(f"Route {routing.description(route)} has been saved.")
    return HTTPFound(_list_url(request, access, server))


@view_config(route_name="route.delete", request_method="POST", permission="web")
def delete(request):
    access, server = load_server(request)
    route = _load(request, server)
    request.dbsession.delete(route)
    request.session.flash(f"Route {routing.description(route)} has been deleted.")
    return HTTPFound(_list_url(request, access, server))
