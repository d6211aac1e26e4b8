"""The Routing tab's endpoint pages: HTTP, SMTP and address endpoints of a server.

One set of views serves the three kinds (``{kind}`` in the URL); the rules are
:func:`postal.endpoints.save_endpoint`'s, the same the API uses.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from .. import endpoints as endpoint_rules
from .. import routing
from ..models import AddressEndpoint, HTTPEndpoint, SMTPEndpoint
from ..ssrf import request_resolver
from ..web.access import load_server
from ..web.forms import FormError, checkbox, number, text
from .servers import server_page


MODELS = {"http": HTTPEndpoint, "smtp": SMTPEndpoint, "address": AddressEndpoint}
TITLES = {"http": "HTTP Endpoints", "smtp": "SMTP Endpoints", "address": "Address Endpoints"}
SINGULAR = {"http": "HTTP endpoint", "smtp": "SMTP endpoint", "address": "address endpoint"}
FIELDS = {
    "http": ("name", "url", "encoding", "format", "strip_replies", "include_attachments",
             "timeout"),
    "smtp": ("name", "hostname", "port", "ssl_mode"),
    "address": ("address",),
}  # fmt: skip


def _load_server(request):
    """``(access, server, kind)``; an unknown kind in the URL is not found."""
    kind = request.matchdict["kind"]
    if kind not in MODELS:
        raise HTTPNotFound()
    access, server = load_server(request)
    return access, server, kind


def _values(request, kind: str) -> dict:
    """The form's fields for ``kind``, typed; their meaning is checked by the rules."""
    if kind == "http":
        return {"name": text(request, "name"), "url": text(request, "url", max_length=2000),
                "encoding": request.POST.get("encoding"), "format": request.POST.get("format"),
                "strip_replies": checkbox(request, "strip_replies"),
                "include_attachments": checkbox(request, "include_attachments"),
                "timeout": number(request, "timeout", "Timeout", integer=True)}  # fmt: skip
    if kind == "smtp":
        return {"name": text(request, "name"), "hostname": text(request, "hostname"),
                "ssl_mode": request.POST.get("ssl_mode"),
                "port": number(request, "port", "Port", integer=True)}  # fmt: skip
    return {"address": text(request, "address")}


def _context(request, access, server, kind: str, **values) -> dict:
    return server_page(request, access, server, kind=kind, title=TITLES[kind],
                       singular=SINGULAR[kind],
                       encodings=endpoint_rules.ENCODINGS, formats=endpoint_rules.FORMATS,
                       ssl_modes=endpoint_rules.SSL_MODES, **values)  # fmt: skip


def _page(request, access, server, kind, error=None, form=None):
    model = MODELS[kind]
    endpoints = request.dbsession.scalars(
        select(model).where(model.server_id == server.id).order_by(model.id)
    )
    defaults = {"timeout": 5, "port": 25, "ssl_mode": "Auto", "include_attachments": "1"}
    return _context(request, access, server, kind, endpoints=list(endpoints), error=error,
                    form=form if form is not None else defaults)  # fmt: skip


def _list_url(request, access, server, kind) -> str:
    return request.route_url("endpoints", org=access.organization.permalink,
                             server=server.permalink, kind=kind)  # fmt: skip


def _save(request, server, kind, endpoint):
    return endpoint_rules.save_endpoint(
        request.dbsession, server.id, MODELS[kind], endpoint, _values(request, kind),
        settings=request.registry.settings, resolver=request_resolver(request),
    )  # fmt: skip


@view_config(route_name="endpoints", request_method="GET", renderer="endpoints/index.jinja2",
             permission="web")  # fmt: skip
def index(request):
    access, server, kind = _load_server(request)
    return _page(request, access, server, kind)


@view_config(route_name="endpoints", request_method="POST", renderer="endpoints/index.jinja2",
             permission="web")  # fmt: skip
def create(request):
    access, server, kind = _load_server(request)
    try:
        endpoint = _save(request, server, kind, None)
    except (FormError, routing.RoutingError) as exc:
        return _page(request, access, server, kind, str(exc), request.POST)
    request.session.flash(f"{routing.endpoint_name(endpoint)} has been created.")
    return HTTPFound(_list_url(request, access, server, kind))


def _load(request, server):
    model = MODELS[request.matchdict["kind"]]
    endpoint = request.dbsession.scalar(
        select(model).where(model.uuid == request.matchdict["endpoint"],
                            model.server_id == server.id)
    )  # fmt: skip
    if endpoint is None:
        raise HTTPNotFound()
    return endpoint


def _edit_page(request, access, server, endpoint, error=None):
    kind = request.matchdict["kind"]
    using = endpoint_rules.routes_using(request.dbsession, endpoint)
    return _context(request, access, server, kind, endpoint=endpoint, error=error,
                    routes=[routing.description(route) for route in using],
                    form=request.POST if error else
                    {name: getattr(endpoint, name) for name in FIELDS[kind]})  # fmt: skip


@view_config(route_name="endpoint", request_method="GET", renderer="endpoints/edit.jinja2",
             permission="web")  # fmt: skip
def edit_form(request):
    access, server, _kind = _load_server(request)
    return _edit_page(request, access, server, _load(request, server))


@view_config(route_name="endpoint", request_method="POST", renderer="endpoints/edit.jinja2",
             permission="web")  # fmt: skip
def edit_submit(request):
    access, server, kind = _load_server(request)
    endpoint = _load(request, server)
    try:
        _save(request, server, kind, endpoint)  # checks everything before changing it
    except (FormError, routing.RoutingError) as exc:
        return _edit_page(request, access, server, endpoint, str(exc))
    request.session.flash(f"{routing.endpoint_name(endpoint)} has been saved.")
    return HTTPFound(_list_url(request, access, server, kind))


@view_config(route_name="endpoint.delete", request_method="POST", permission="web")
def delete(request):
    access, server, kind = _load_server(request)
    endpoint = _load(request, server)
    switched = endpoint_rules.delete_endpoint(request.dbsession, endpoint)
    message = f"{routing.endpoint_name(endpoint)} has been deleted."
    if switched:
        names = ", ".join(routing.description(route) for route in switched)
        message += f" Routes that used it now reject mail: {names}."
    request.session.flash(message)
    return HTTPFound(_list_url(request, access, server, kind))
