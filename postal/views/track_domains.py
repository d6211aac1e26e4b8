"""A server's track domains: add (name + domain), check DNS, switches, excluded click
domains, delete.  The rules are :mod:`postal.track_domains`, shared with the API."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from .. import track_domains as logic
from ..models import TrackDomain
from ..services.dns import IDNSResolver
from ..web.access import load_server
from ..web.forms import FormError, checkbox, text
from .servers import server_page


SWITCHES = ("ssl_enabled", "track_clicks", "track_loads")


def _page(request, access, server, error=None, form=None) -> dict:
    track_domains = request.dbsession.scalars(
        select(TrackDomain).where(TrackDomain.server_id == server.id).order_by(TrackDomain.id)
    )
    return server_page(
        request, access, server, track_domains=list(track_domains),
        domains=logic.usable_domains(request.dbsession, server), error=error, form=form or {},
        cname_target=request.registry.settings["dns.track_domain"],
    )  # fmt: skip


def _sentence(exc: Exception) -> str:
    message = str(exc)
    return message[:1].upper() + message[1:]


def _list_url(request, access, server) -> str:
    return request.route_url(
        "track_domains", org=access.organization.permalink, server=server.permalink
    )


def _check_dns(request, track_domain: TrackDomain) -> str:
    resolver = request.find_service(IDNSResolver)
    return logic.check_dns(request.registry.settings, track_domain, resolver)


@view_config(
    route_name="track_domains", request_method="GET", renderer="track_domains/index.jinja2",
    permission="web",
)  # fmt: skip
def index(request):
    access, server = load_server(request)
    return _page(request, access, server)


@view_config(
    route_name="track_domains", request_method="POST", renderer="track_domains/index.jinja2",
    permission="web",
)  # fmt: skip
def create(request):
    access, server = load_server(request)
    db = request.dbsession
    try:
        name = logic.normalise_label(text(request, "name", max_length=63) or "track")
        domain = logic.usable_domain(db, server, request.POST.get("domain", ""))
        problem = logic.taken(db, server, domain, name)
        if problem:
            raise FormError(problem)
    except (FormError, logic.TrackDomainError) as exc:
        return _page(request, access, server, _sentence(exc), request.POST)
    track_domain = TrackDomain(server_id=server.id, domain=domain, name=name)
    db.add(track_domain)
    status = _check_dns(request, track_domain)
    db.flush()
    request.session.flash(f"{track_domain.full_name} has been added; its DNS is {status}.")
    return HTTPFound(_list_url(request, access, server))


def _load(request, server) -> TrackDomain:
    track_domain = request.dbsession.scalar(
        select(TrackDomain).where(
            TrackDomain.uuid == request.matchdict["track_domain"],
            TrackDomain.server_id == server.id,
        )
    )
    if track_domain is None:
        raise HTTPNotFound()
    return track_domain


@view_config(route_name="track_domain", request_method="POST", permission="web")
def update(request):
    """Saves the switches and the excluded click domains of one track domain."""
    access, server = load_server(request)
    track_domain = _load(request, server)
    lines = (request.POST.get("excluded_click_domains") or "").splitlines()
    try:
        excluded = logic.excluded_text(lines)
    except logic.TrackDomainError as exc:
        request.session.flash(_sentence(exc), "error")
        return HTTPFound(_list_url(request, access, server))
    for switch in SWITCHES:
        setattr(track_domain, switch, checkbox(request, switch))
    track_domain.excluded_click_domains = excluded
    request.session.flash(f"{track_domain.full_name} has been saved.")
    return HTTPFound(_list_url(request, access, server))


@view_config(route_name="track_domain.check", request_method="POST", permission="web")
def check(request):
    access, server = load_server(request)
    track_domain = _load(request, server)
    status = _check_dns(request, track_domain)
    message = track_domain.dns_error or "The CNAME record is correct."
    request.session.flash(f"{track_domain.full_name}: {message}", "" if status == "OK" else "error")
    return HTTPFound(_list_url(request, access, server))


@view_config(route_name="track_domain.delete", request_method="POST", permission="web")
def delete(request):
    access, server = load_server(request)
    track_domain = _load(request, server)
    request.dbsession.delete(track_domain)
    request.session.flash(f"{track_domain.full_name} has been deleted.")
    return HTTPFound(_list_url(request, access, server))
