"""Domains of a server: creation with DKIM, the records to publish, verification, DNS checks."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ... import domains as domain_logic
from ...models import Domain
from ...services.dns import IDNSResolver
from . import serializers
from .access import current_user, load_domain, load_server
from .errors import APIError, Conflict, Forbidden, ValidationFailed
from .listing import paginate
from .params import boolean, json_body, string


@view_config(route_name="api.v2.server.domains", request_method="GET", renderer="json")
def list_domains(request):
    server = load_server(request, request.matchdict["server"])
    query = select(Domain).where(Domain.server_id == server.id).order_by(Domain.name)
    settings = request.registry.settings
    return paginate(request, query, lambda d: serializers.domain(d, settings))


@view_config(route_name="api.v2.server.domains", request_method="POST", renderer="json")
def create_domain(request):
    server = load_server(request, request.matchdict["server"])
    body = json_body(request, {"name", "verified"})
    verified = boolean(body, "verified", default=False)
    if verified and not current_user(request).admin:
        raise Forbidden(
            "Only installation admins may add a domain as verified; "
            "publish the verification record and call verify instead.",
            field="verified",
        )
    settings = request.registry.settings
    try:
        name = domain_logic.normalise_name(string(body, "name", required=True))
    except domain_logic.DomainError as exc:
        raise ValidationFailed(str(exc), field="name") from None
    exists = select(Domain.id).where(Domain.server_id == server.id, Domain.name == name)
    if request.dbsession.scalar(exists) is not None:
        raise Conflict(f"{name} has already been added to this server.", field="name")
    domain = domain_logic.new_domain(settings, name, verified=verified)
    domain.server = server
    request.dbsession.add(domain)
    request.dbsession.flush()
    request.response.status_int = 201
    return serializers.domain(domain, settings)


@view_config(route_name="api.v2.domain", request_method="GET", renderer="json")
def get_domain(request):
    domain = load_domain(request, request.matchdict["domain"])
    return serializers.domain(domain, request.registry.settings)


@view_config(route_name="api.v2.domain", request_method="DELETE", renderer="json")
def delete_domain(request):
    domain = load_domain(request, request.matchdict["domain"])
    request.dbsession.delete(domain)
    return HTTPNoContent()


@view_config(route_name="api.v2.domain.verify", request_method="POST", renderer="json")
def verify_domain(request):
    domain = load_domain(request, request.matchdict["domain"])
    settings = request.registry.settings
    resolver = request.find_service(IDNSResolver)
    if not domain_logic.verify(settings, domain, resolver):
        raise APIError(domain_logic.VERIFY_FAILED, code="verification_failed", status=422)
    return serializers.domain(domain, settings)


@view_config(route_name="api.v2.domain.check_dns", request_method="POST", renderer="json")
def check_domain_dns(request):
    domain = load_domain(request, request.matchdict["domain"])
    settings = request.registry.settings
    resolver = request.find_service(IDNSResolver)
    domain_logic.check_dns(settings, domain, resolver, request.hooks)
    event = domain_logic.dns_error_event(domain)
    if event is not None:
        request.notify(event)
    return serializers.domain(domain, settings)
