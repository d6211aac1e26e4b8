"""IP pools and their addresses (installation admins), pool assignments of organisations
(admins change them, members see them), a server's pool and IP rules of servers and
organisations (the organisation's owners and admins)."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ...ip_pool_admin import (
    Invalid,
    assign_pools,
    set_address,
    set_pool,
    set_rule,
    set_server_pool,
)
from ...models import IPAddress, IPPool, IPPoolRule, Organization, Server
from .access import check_organization, load_organization, load_server, require_admin
from .errors import Conflict, NotFound, ValidationFailed
from .listing import paginate
from .params import json_body, string
from .serializers import timestamp


def address_json(ip: IPAddress) -> dict:
    return {"ipv4": ip.ipv4, "ipv6": ip.ipv6, "hostname": ip.hostname, "priority": ip.priority}


def pool_json(pool: IPPool) -> dict:
    return {
        "uuid": pool.uuid,
        "name": pool.name,
        "default": bool(pool.default),
        "addresses": [address_json(ip) for ip in sorted(pool.ip_addresses, key=lambda i: i.id)],
        "created_at": timestamp(pool.created_at),
    }


def pool_ref(pool: IPPool | None) -> dict | None:
    return {"uuid": pool.uuid, "name": pool.name} if pool else None


def rule_json(request, rule: IPPoolRule) -> dict:
    pool = request.dbsession.get(IPPool, rule.ip_pool_id)
    return {
        "uuid": rule.uuid,
        "ip_pool": pool_ref(pool),
        "from_text": rule.from_text or "",
        "to_text": rule.to_text or "",
        "created_at": timestamp(rule.created_at),
    }


def _apply(change):
    """Run a :mod:`postal.ip_pool_admin` change, turning :class:`Invalid` into API errors."""
    try:
        return change()
    except Invalid as exc:
        error = Conflict if exc.conflict else ValidationFailed
        raise error(exc.message, field=exc.field) from None


def load_pool(request, uuid: str) -> IPPool:
    require_admin(request)
    pool = request.dbsession.scalar(select(IPPool).where(IPPool.uuid == uuid))
    if pool is None:
        raise NotFound("No such IP pool.")
    return pool


def load_address(request) -> IPAddress:
    pool = load_pool(request, request.matchdict["pool"])
    for ip in pool.ip_addresses:
        if ip.ipv4 == request.matchdict["address"]:
            return ip
    raise NotFound("No such IP address in this pool.")


@view_config(route_name="api.v2.ip_pools", request_method="GET", renderer="json")
def list_pools(request):
    require_admin(request)
    return paginate(request, select(IPPool).order_by(IPPool.name, IPPool.id), pool_json)


@view_config(route_name="api.v2.ip_pools", request_method="POST", renderer="json")
def create_pool(request):
    require_admin(request)
    body = json_body(request, {"name", "default"})
    pool = _apply(lambda: set_pool(IPPool(), name=body.get("name"), default=body.get("default")))
    request.dbsession.add(pool)
    request.dbsession.flush()
    request.response.status_int = 201
    return pool_json(pool)


@view_config(route_name="api.v2.ip_pool", request_method="GET", renderer="json")
def get_pool(request):
    return pool_json(load_pool(request, request.matchdict["pool"]))


@view_config(route_name="api.v2.ip_pool", request_method="PATCH", renderer="json")
def update_pool(request):
    pool = load_pool(request, request.matchdict["pool"])
    body = json_body(request, {"name", "default"})
    _apply(
        lambda: set_pool(
            pool, name=body.get("name", pool.name), default=body.get("default", pool.default)
        )
    )
    return pool_json(pool)


@view_config(route_name="api.v2.ip_pool", request_method="DELETE", renderer="json")
def delete_pool(request):
    request.dbsession.delete(load_pool(request, request.matchdict["pool"]))
    return HTTPNoContent()


ADDRESS_FIELDS = ("ipv4", "ipv6", "hostname", "priority")


@view_config(route_name="api.v2.ip_pool.addresses", request_method="POST", renderer="json")
def add_address(request):
    pool = load_pool(request, request.matchdict["pool"])
    body = json_body(request, set(ADDRESS_FIELDS))
    ip = IPAddress(ip_pool_id=pool.id)
    _apply(lambda: set_address(request.dbsession, ip, **{f: body.get(f) for f in ADDRESS_FIELDS}))
    pool.ip_addresses.append(ip)
    request.dbsession.flush()
    request.response.status_int = 201
    return address_json(ip)


@view_config(route_name="api.v2.ip_pool.address", request_method="PATCH", renderer="json")
def update_address(request):
    ip = load_address(request)
    body = json_body(request, set(ADDRESS_FIELDS))
    fields = {f: body.get(f, getattr(ip, f)) for f in ADDRESS_FIELDS}
    _apply(lambda: set_address(request.dbsession, ip, **fields))
    return address_json(ip)


@view_config(route_name="api.v2.ip_pool.address", request_method="DELETE", renderer="json")
def delete_address(request):
    ip = load_address(request)
    ip.ip_pool.ip_addresses.remove(ip)
    return HTTPNoContent()


@view_config(route_name="api.v2.organization.ip_pools", request_method="GET", renderer="json")
def organization_pools(request):
    organization = load_organization(request, request.matchdict["organization"])
    return {"data": [pool_ref(p) for p in sorted(organization.ip_pools, key=lambda p: p.name)]}


@view_config(route_name="api.v2.organization.ip_pools", request_method="PUT", renderer="json")
def assign_organization_pools(request):
    organization = load_organization(request, request.matchdict["organization"])
    require_admin(request)
    body = json_body(request, {"ip_pools"})
    uuids = body.get("ip_pools")
    if not isinstance(uuids, list) or not all(isinstance(u, str) for u in uuids):
        raise ValidationFailed("ip_pools must be a list of IP pool uuids.", field="ip_pools")
    _apply(lambda: assign_pools(request.dbsession, organization, uuids))
    return organization_pools(request)


@view_config(route_name="api.v2.server.ip_pool", request_method="GET", renderer="json")
def server_pool(request):
    server = load_server(request, request.matchdict["server"])
    return {"ip_pool": pool_ref(server.ip_pool)}


@view_config(route_name="api.v2.server.ip_pool", request_method="PUT", renderer="json")
def set_pool_of_server(request):
    server = load_server(request, request.matchdict["server"], manage=True)
    body = json_body(request, {"ip_pool"})
    if "ip_pool" not in body:
        raise ValidationFailed("ip_pool is required (a uuid, or null).", field="ip_pool")
    pool_uuid = string(body, "ip_pool")
    _apply(lambda: set_server_pool(request.dbsession, server, pool_uuid))
    request.dbsession.flush()
    return {"ip_pool": pool_ref(server.ip_pool)}


def _owner(request, *, manage: bool = False):
    """The server or organisation the rules route names, and the organisation."""
    if "server" in request.matchdict:
        server = load_server(request, request.matchdict["server"], manage=manage)
        return server, server.organization, IPPoolRule.server_id == server.id
    organization = load_organization(request, request.matchdict["organization"], manage=manage)
    return (
        organization,
        organization,
        ((IPPoolRule.organization_id == organization.id) & IPPoolRule.server_id.is_(None)),
    )


@view_config(route_name="api.v2.server.ip_rules", request_method="GET", renderer="json")
@view_config(route_name="api.v2.organization.ip_rules", request_method="GET", renderer="json")
def list_rules(request):
    _, _, clause = _owner(request)
    query = (
        select(IPPoolRule)
        .where(clause)
        .order_by(IPPoolRule.created_at.desc(), IPPoolRule.id.desc())
    )
    return paginate(request, query, lambda rule: rule_json(request, rule))


@view_config(route_name="api.v2.server.ip_rules", request_method="POST", renderer="json")
@view_config(route_name="api.v2.organization.ip_rules", request_method="POST", renderer="json")
def create_rule(request):
    owner, organization, _ = _owner(request, manage=True)
    body = json_body(request, {"ip_pool", "from_text", "to_text"})
    rule = IPPoolRule()
    if owner is organization:
        rule.organization_id = organization.id
    else:
        rule.server_id = owner.id
    _apply(
        lambda: set_rule(
            request.dbsession,
            rule,
            organization,
            pool_uuid=string(body, "ip_pool"),
            from_text=body.get("from_text"),
            to_text=body.get("to_text"),
        )
    )
    request.dbsession.add(rule)
    request.dbsession.flush()
    request.response.status_int = 201
    return rule_json(request, rule)


def load_rule(request, *, manage: bool = False) -> tuple[IPPoolRule, object]:
    uuid = request.matchdict["rule"]
    rule = request.dbsession.scalar(select(IPPoolRule).where(IPPoolRule.uuid == uuid))
    if rule is None:
        raise NotFound("No such IP rule.")
    if rule.server_id is not None:
        organization = request.dbsession.get(Server, rule.server_id).organization
    else:
        organization = request.dbsession.get(Organization, rule.organization_id)
    try:
        check_organization(request, organization, manage=manage)
    except NotFound:
        raise NotFound("No such IP rule.") from None
    return rule, organization


@view_config(route_name="api.v2.ip_rule", request_method="GET", renderer="json")
def get_rule(request):
    return rule_json(request, load_rule(request)[0])


@view_config(route_name="api.v2.ip_rule", request_method="PATCH", renderer="json")
def update_rule(request):
    rule, organization = load_rule(request, manage=True)
    body = json_body(request, {"ip_pool", "from_text", "to_text"})
    pool = request.dbsession.get(IPPool, rule.ip_pool_id)
    _apply(
        lambda: set_rule(
            request.dbsession,
            rule,
            organization,
            pool_uuid=string(body, "ip_pool", default=pool.uuid if pool else None),
            from_text=body.get("from_text", rule.from_text),
            to_text=body.get("to_text", rule.to_text),
        )
    )
    return rule_json(request, rule)


@view_config(route_name="api.v2.ip_rule", request_method="DELETE", renderer="json")
def delete_rule(request):
    request.dbsession.delete(load_rule(request, manage=True)[0])
    return HTTPNoContent()
