"""Installation admins' IP pools (``/ip_pools``): pools and their addresses (IPv4, IPv6,
host name for EHLO, priority)."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from ..ip_pool_admin import Invalid, set_address, set_pool
from ..models import IPAddress, IPPool
from ..web.access import require_admin


def _pools(request) -> list[IPPool]:
    return list(request.dbsession.scalars(select(IPPool).order_by(IPPool.name, IPPool.id)))


def _load(request) -> IPPool:
    require_admin(request)
    pool = request.dbsession.scalar(select(IPPool).where(IPPool.uuid == request.matchdict["pool"]))
    if pool is None:
        raise HTTPNotFound()
    return pool


def _address(request, pool: IPPool) -> IPAddress:
    for ip in pool.ip_addresses:
        if str(ip.id) == request.matchdict["address"]:
            return ip
    raise HTTPNotFound()


def _edit_page(request, pool, error=None, form=None) -> dict:
    addresses = sorted(pool.ip_addresses, key=lambda ip: ip.id)
    return {"pool": pool, "addresses": addresses, "error": error, "form": form or {}}


def _address_fields(request) -> dict:
    return {f: request.POST.get(f) for f in ("ipv4", "ipv6", "hostname", "priority")}


@view_config(
    route_name="ip_pools", request_method="GET", renderer="ip_pools/index.jinja2", permission="web"
)
def index(request):
    require_admin(request)
    return {"pools": _pools(request), "error": None, "form": {}}


@view_config(
    route_name="ip_pools", request_method="POST", renderer="ip_pools/index.jinja2", permission="web"
)
def create(request):
    require_admin(request)
    try:
        pool = set_pool(
            IPPool(), name=request.POST.get("name"), default=request.POST.get("default") == "1"
        )
    except Invalid as exc:
        return {"pools": _pools(request), "error": exc.message, "form": request.POST}
    request.dbsession.add(pool)
    request.dbsession.flush()
    request.session.flash(f"IP pool {pool.name} has been created.")
    return HTTPFound(request.route_url("ip_pool", pool=pool.uuid))


@view_config(
    route_name="ip_pool", request_method="GET", renderer="ip_pools/edit.jinja2", permission="web"
)
def edit(request):
    return _edit_page(request, _load(request))


@view_config(
    route_name="ip_pool", request_method="POST", renderer="ip_pools/edit.jinja2", permission="web"
)
def save(request):
    pool = _load(request)
    try:
        set_pool(pool, name=request.POST.get("name"), default=request.POST.get("default") == "1")
    except Invalid as exc:
        return _edit_page(request, pool, exc.message)
    request.session.flash(f"IP pool {pool.name} has been saved.")
    return HTTPFound(request.route_url("ip_pool", pool=pool.uuid))


@view_config(route_name="ip_pool.delete", request_method="POST", permission="web")
def delete(request):
    pool = _load(request)
    request.dbsession.delete(pool)
    request.session.flash(f"IP pool {pool.name} has been deleted.")
    return HTTPFound(request.route_url("ip_pools"))


@view_config(
    route_name="ip_pool.addresses",
    request_method="POST",
    renderer="ip_pools/edit.jinja2",
    permission="web",
)
def add_address(request):
    pool = _load(request)
    ip = IPAddress(ip_pool_id=pool.id)
    try:
        set_address(request.dbsession, ip, **_address_fields(request))
    except Invalid as exc:
        return _edit_page(request, pool, exc.message, request.POST)
    pool.ip_addresses.append(ip)
    request.session.flash(f"{ip.ipv4} has been added.")
    return HTTPFound(request.route_url("ip_pool", pool=pool.uuid))


@view_config(
    route_name="ip_pool.address",
    request_method="POST",
    renderer="ip_pools/edit.jinja2",
    permission="web",
)
def save_address(request):
    pool = _load(request)
    ip = _address(request, pool)
    try:
        with request.dbsession.no_autoflush:
            set_address(request.dbsession, ip, **_address_fields(request))
    except Invalid as exc:
        return _edit_page(request, pool, exc.message)
    request.session.flash(f"{ip.ipv4} has been saved.")
    return HTTPFound(request.route_url("ip_pool", pool=pool.uuid))


@view_config(route_name="ip_pool.address.delete", request_method="POST", permission="web")
def delete_address(request):
    pool = _load(request)
    ip = _address(request, pool)
    pool.ip_addresses.remove(ip)
    request.session.flash(f"{ip.ipv4} has been removed.")
    return HTTPFound(request.route_url("ip_pool", pool=pool.uuid))
