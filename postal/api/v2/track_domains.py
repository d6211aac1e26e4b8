"""Track domains of a server: the host names its click and open tracking URLs use."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ... import track_domains as logic
from ...models import Domain, Server, TrackDomain
from ...services.dns import IDNSResolver
from .access import load_server
from .errors import Conflict, NotFound, ValidationFailed
from .listing import paginate
from .params import boolean, json_body, string
from .serializers import timestamp


SWITCHES = ("ssl_enabled", "track_clicks", "track_loads")
CHANGEABLE = {*SWITCHES, "excluded_click_domains"}


def serialize(request, track_domain: TrackDomain, server: Server) -> dict[str, Any]:
    return {
        "uuid": track_domain.uuid,
        "server": server.uuid,
        "name": track_domain.name,
        "domain": track_domain.domain.uuid,
        "full_name": track_domain.full_name,
        "ssl_enabled": track_domain.ssl_enabled,
        "track_clicks": track_domain.track_clicks,
        "track_loads": track_domain.track_loads,
        "excluded_click_domains": logic.excluded_domains(track_domain.excluded_click_domains),
        "dns_status": track_domain.dns_status,
        "dns_error": track_domain.dns_error,
        "dns_checked_at": timestamp(track_domain.dns_checked_at),
        "dns_record": {
            "type": "CNAME",
            "name": track_domain.full_name,
            "value": request.registry.settings["dns.track_domain"],
        },
        "created_at": timestamp(track_domain.created_at),
    }


def load_track_domain(request, uuid: str) -> tuple[TrackDomain, Server]:
    track_domain = request.dbsession.scalar(select(TrackDomain).where(TrackDomain.uuid == uuid))
    server = track_domain and request.dbsession.get(Server, track_domain.server_id)
    if server is None:
        raise NotFound("No such track domain.")
    try:
        return track_domain, load_server(request, server.uuid)
    except NotFound:
        raise NotFound("No such track domain.") from None


def _excluded(body: dict) -> str | None:
    values = body.get("excluded_click_domains")
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValidationFailed(
            "excluded_click_domains must be a list of host names.", field="excluded_click_domains"
        )
    try:
        if any(not v.strip() for v in values):
            raise logic.TrackDomainError("excluded_click_domains entries must not be empty.")
        return logic.excluded_text(values)
    except logic.TrackDomainError as exc:
        raise ValidationFailed(str(exc), field="excluded_click_domains") from None


def _sending_domain(request, server: Server, body: dict) -> Domain:
    try:
        return logic.usable_domain(request.dbsession, server, string(body, "domain", required=True))
    except logic.TrackDomainError as exc:
        raise ValidationFailed(str(exc), field="domain") from None


def _check_dns(request, track_domain: TrackDomain) -> None:
    resolver = request.find_service(IDNSResolver)
    logic.check_dns(request.registry.settings, track_domain, resolver)


@view_config(route_name="api.v2.server.track_domains", request_method="GET", renderer="json")
def list_track_domains(request):
    server = load_server(request, request.matchdict["server"])
    query = select(TrackDomain).where(TrackDomain.server_id == server.id).order_by(TrackDomain.id)
    return paginate(request, query, lambda row: serialize(request, row, server))


@view_config(route_name="api.v2.server.track_domains", request_method="POST", renderer="json")
def create_track_domain(request):
    server = load_server(request, request.matchdict["server"])
    body = json_body(request, {"name", "domain", *CHANGEABLE})
    try:
        name = logic.normalise_label(string(body, "name", default="track", max_length=63))
    except logic.TrackDomainError as exc:
        raise ValidationFailed(str(exc), field="name") from None
    domain = _sending_domain(request, server, body)
    db = request.dbsession
    problem = logic.taken(db, server, domain, name)
    if problem:
        raise Conflict(problem, field="domain")
    track_domain = TrackDomain(
        server_id=server.id,
        domain=domain,
        name=name,
        excluded_click_domains=_excluded(body),
        **{switch: boolean(body, switch, default=True) for switch in SWITCHES},
    )
    db.add(track_domain)
    _check_dns(request, track_domain)
    db.flush()
    request.response.status_int = 201
    return serialize(request, track_domain, server)


@view_config(route_name="api.v2.track_domain", request_method="GET", renderer="json")
def get_track_domain(request):
    track_domain, server = load_track_domain(request, request.matchdict["track_domain"])
    return serialize(request, track_domain, server)


@view_config(route_name="api.v2.track_domain", request_method="PATCH", renderer="json")
def update_track_domain(request):
    track_domain, server = load_track_domain(request, request.matchdict["track_domain"])
    body = json_body(request, CHANGEABLE)
    for switch in SWITCHES:
        value = boolean(body, switch)
        if value is not None:
            setattr(track_domain, switch, value)
    if "excluded_click_domains" in body:
        track_domain.excluded_click_domains = _excluded(body)
    return serialize(request, track_domain, server)


@view_config(route_name="api.v2.track_domain", request_method="DELETE")
def delete_track_domain(request):
    track_domain, _server = load_track_domain(request, request.matchdict["track_domain"])
    request.dbsession.delete(track_domain)
    return HTTPNoContent()


@view_config(route_name="api.v2.track_domain.check_dns", request_method="POST", renderer="json")
def check_track_domain_dns(request):
    track_domain, server = load_track_domain(request, request.matchdict["track_domain"])
    _check_dns(request, track_domain)
    return serialize(request, track_domain, server)
