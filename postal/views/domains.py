"""A server's domains: adding, the DNS setup page, verification and DNS checks."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from .. import domains as domain_logic
from ..models import Domain
from ..services.dns import IDNSResolver
from ..web.access import load_server
from .servers import server_page


def _domains(request, server):
    query = select(Domain).where(Domain.server_id == server.id).order_by(Domain.name)
    return list(request.dbsession.scalars(query))


def _load_domain(request, server) -> Domain:
    domain = request.dbsession.scalar(
        select(Domain).where(
            Domain.uuid == request.matchdict["domain"], Domain.server_id == server.id
        )
    )
    if domain is None:
        raise HTTPNotFound()
    return domain


def _domain_url(request, access, server, domain) -> str:
    return request.route_url(
        "domain", org=access.organization.permalink, server=server.permalink, domain=domain.uuid
    )


@view_config(
    route_name="domains", request_method="GET", renderer="domains/index.jinja2", permission="web"
)
def index(request):
    access, server = load_server(request)
    return server_page(request, access, server, domains=_domains(request, server), error=None)


@view_config(
    route_name="domains", request_method="POST", renderer="domains/index.jinja2", permission="web"
)
def create(request):
    access, server = load_server(request)
    settings = request.registry.settings
    try:
        name = domain_logic.normalise_name(request.POST.get("name", ""))
    except domain_logic.DomainError as exc:
        return server_page(
            request, access, server, domains=_domains(request, server), error=str(exc)
        )
    exists = select(Domain.id).where(Domain.server_id == server.id, Domain.name == name)
    if request.dbsession.scalar(exists) is not None:
        error = f"{name} has already been added to this server."
        return server_page(request, access, server, domains=_domains(request, server), error=error)
    # Installation admins' domains start verified, as in Postal.
    domain = domain_logic.new_domain(settings, name, verified=request.identity.admin)
    domain.server = server
    request.dbsession.add(domain)
    request.dbsession.flush()
    request.session.flash(f"{name} has been added. Publish these records, then check them.")
    return HTTPFound(_domain_url(request, access, server, domain))


@view_config(
    route_name="domain", request_method="GET", renderer="domains/show.jinja2", permission="web"
)
def show(request):
    access, server = load_server(request)
    domain = _load_domain(request, server)
    records = domain_logic.dns_records(request.registry.settings, domain)
    statuses = {
        check: getattr(domain, f"{check}_status") for check in ("spf", "dkim", "mx", "return_path")
    }
    errors = {check: getattr(domain, f"{check}_error") for check in statuses}
    return server_page(
        request, access, server, domain=domain, records=records, statuses=statuses, errors=errors
    )


@view_config(route_name="domain.verify", request_method="POST", permission="web")
def verify(request):
    access, server = load_server(request)
    domain = _load_domain(request, server)
    resolver = request.find_service(IDNSResolver)
    if domain_logic.verify(request.registry.settings, domain, resolver):
        request.session.flash(f"{domain.name} has been verified.")
    else:
        request.session.flash(domain_logic.VERIFY_FAILED, "error")
    return HTTPFound(_domain_url(request, access, server, domain))


@view_config(route_name="domain.check", request_method="POST", permission="web")
def check(request):
    access, server = load_server(request)
    domain = _load_domain(request, server)
    resolver = request.find_service(IDNSResolver)
    domain_logic.check_dns(request.registry.settings, domain, resolver, request.hooks)
    event = domain_logic.dns_error_event(domain)
    if event is not None:
        request.notify(event)
        request.session.flash("Some records are missing or wrong; see below.", "error")
    else:
        request.session.flash("Your DNS records are all correct.")
    return HTTPFound(_domain_url(request, access, server, domain))


@view_config(route_name="domain.delete", request_method="POST", permission="web")
def delete(request):
    access, server = load_server(request)
    domain = _load_domain(request, server)
    request.dbsession.delete(domain)
    request.session.flash(f"{domain.name} has been removed.")
    return HTTPFound(
        request.route_url("domains", org=access.organization.permalink, server=server.permalink)
    )
