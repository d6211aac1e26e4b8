"""IPs of an organisation (its assigned pools, which admins change, and its IP rules) and of
a server (its pool and its IP rules).  Rules are changed by the organisation's owners and
admins; every member sees them."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from ..ip_pool_admin import Invalid, assign_pools, set_rule, set_server_pool
from ..models import IPPool, IPPoolRule
from ..web.access import load_organization, load_server, require_admin
from .servers import server_page


def _rules(request, clause) -> list[tuple[IPPoolRule, IPPool | None]]:
    rules = request.dbsession.scalars(
        select(IPPoolRule)
        .where(clause)
        .order_by(IPPoolRule.created_at.desc(), IPPoolRule.id.desc())
    )
    return [(rule, request.dbsession.get(IPPool, rule.ip_pool_id)) for rule in rules]


def _org_page(request, access, error=None, form=None) -> dict:
    organization = access.organization
    clause = (IPPoolRule.organization_id == organization.id) & IPPoolRule.server_id.is_(None)
    return {
        "access": access,
        "org": organization,
        "error": error,
        "form": form or {},
        "assigned": sorted(organization.ip_pools, key=lambda p: p.name),
        "all_pools": list(request.dbsession.scalars(select(IPPool).order_by(IPPool.name)))
        if request.identity.admin
        else [],
        "rules": _rules(request, clause),
    }


def _server_page(request, access, server, error=None, form=None) -> dict:
    return server_page(
        request,
        access,
        server,
        error=error,
        form=form or {},
        assigned=sorted(access.organization.ip_pools, key=lambda p: p.name),
        rules=_rules(request, IPPoolRule.server_id == server.id),
    )


def _context(request):
    """(page builder, access, server or None, the URL of the page)."""
    if "server" in request.matchdict:
        access, server = load_server(request)
        url = request.route_url(
            "server.ips", org=access.organization.permalink, server=server.permalink
        )
        return (lambda *a, **k: _server_page(request, access, server, *a, **k)), access, server, url
    access = load_organization(request)
    url = request.route_url("org.ips", org=access.organization.permalink)
    return (lambda *a, **k: _org_page(request, access, *a, **k)), access, None, url


@view_config(
    route_name="org.ips",
    request_method="GET",
    renderer="ip_rules/organization.jinja2",
    permission="web",
)
@view_config(
    route_name="server.ips",
    request_method="GET",
    renderer="ip_rules/server.jinja2",
    permission="web",
)
def show(request):
    page, _access, _server, _url = _context(request)
    return page()


@view_config(
    route_name="org.ips",
    request_method="POST",
    renderer="ip_rules/organization.jinja2",
    permission="web",
)
def assign(request):
    """Admins only: the pools this organisation's servers and rules may use."""
    require_admin(request)
    page, access, _server, url = _context(request)
    try:
        assign_pools(request.dbsession, access.organization, request.POST.getall("ip_pools"))
    except Invalid as exc:
        return page(exc.message)
    request.session.flash("The organisation's IP pools have been saved.")
    return HTTPFound(url)


@view_config(
    route_name="server.ips",
    request_method="POST",
    renderer="ip_rules/server.jinja2",
    permission="web",
)
def choose_pool(request):
    page, access, server, url = _context(request)
    access.require_manage()
    try:
        set_server_pool(request.dbsession, server, request.POST.get("ip_pool") or None)
    except Invalid as exc:
        return page(exc.message)
    request.session.flash("The server's IP pool has been saved.")
    return HTTPFound(url)


@view_config(
    route_name="org.ip_rules",
    request_method="POST",
    renderer="ip_rules/organization.jinja2",
    permission="web",
)
@view_config(
    route_name="server.ip_rules",
    request_method="POST",
    renderer="ip_rules/server.jinja2",
    permission="web",
)
def add_rule(request):
    page, access, server, url = _context(request)
    access.require_manage()
    rule = IPPoolRule()
    if server is None:
        rule.organization_id = access.organization.id
    else:
        rule.server_id = server.id
    try:
        set_rule(
            request.dbsession,
            rule,
            access.organization,
            pool_uuid=request.POST.get("ip_pool"),
            from_text=request.POST.get("from_text"),
            to_text=request.POST.get("to_text"),
        )
    except Invalid as exc:
        return page(exc.message, request.POST)
    request.dbsession.add(rule)
    request.session.flash("The IP rule has been added.")
    return HTTPFound(url)


@view_config(route_name="org.ip_rule.delete", request_method="POST", permission="web")
@view_config(route_name="server.ip_rule.delete", request_method="POST", permission="web")
def delete_rule(request):
    _page, access, server, url = _context(request)
    access.require_manage()
    rule = request.dbsession.scalar(
        select(IPPoolRule).where(IPPoolRule.uuid == request.matchdict["rule"])
    )
    owned = rule is not None and (
        rule.server_id == server.id
        if server is not None
        else rule.organization_id == access.organization.id and rule.server_id is None
    )
    if not owned:
        raise HTTPNotFound()
    request.dbsession.delete(rule)
    request.session.flash("The IP rule has been deleted.")
    return HTTPFound(url)
