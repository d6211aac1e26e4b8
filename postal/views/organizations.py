"""Organisations: their servers, settings and deletion."""

from __future__ import annotations

import zoneinfo

from pyramid.httpexceptions import HTTPFound
from pyramid.view import view_config
from sqlalchemy import delete, select

from ..ip_pools import assign_default_pools
from ..models import MembershipRole, Organization, OrganizationUser, Server
from ..models.organization import RESERVED_PERMALINKS
from ..permalinks import organization_permalink_taken
from ..web.access import load_organization
from ..web.forms import FormError, permalink, text
from .account import TIME_ZONES


def _permalink(request, name: str) -> str:
    taken = organization_permalink_taken(request.dbsession)
    return permalink(request, name, RESERVED_PERMALINKS, taken)


@view_config(
    route_name="org.new",
    request_method="GET",
    renderer="organizations/new.jinja2",
    permission="web",
)
def new_form(request):
    return {"error": None, "form": {}}


@view_config(
    route_name="org.new",
    request_method="POST",
    renderer="organizations/new.jinja2",
    permission="web",
)
def create(request):
    user = request.identity
    try:
        name = text(request, "name", required="Give the organisation a name.")
        permalink = _permalink(request, name)
    except FormError as exc:
        return {"error": str(exc), "form": request.POST}
    organization = Organization(name=name, permalink=permalink, time_zone="UTC", owner_id=user.id)
    organization.memberships.append(OrganizationUser(user=user, role=MembershipRole.OWNER))
    assign_default_pools(request.dbsession, organization)
    request.dbsession.add(organization)
    request.dbsession.flush()
    request.session.flash(f"{name} has been created.")
    return HTTPFound(request.route_url("org", org=permalink))


def org_servers(request, organization) -> list[Server]:
    query = (
        select(Server)
        .where(Server.organization_id == organization.id, Server.deleted_at.is_(None))
        .order_by(Server.name, Server.id)
    )
    return list(request.dbsession.scalars(query))


@view_config(
    route_name="org", request_method="GET", renderer="organizations/show.jinja2", permission="web"
)
def show(request):
    access = load_organization(request)
    return {"access": access, "org": access.organization,
            "servers": org_servers(request, access.organization)}  # fmt: skip


@view_config(
    route_name="org.settings",
    request_method="GET",
    renderer="organizations/settings.jinja2",
    permission="web",
)
def settings_form(request):
    access = load_organization(request)
    access.require_manage()
    return {"access": access, "org": access.organization, "time_zones": TIME_ZONES, "error": None}


@view_config(
    route_name="org.settings",
    request_method="POST",
    renderer="organizations/settings.jinja2",
    permission="web",
)
def settings_submit(request):
    access = load_organization(request)
    access.require_manage()
    organization = access.organization
    try:
        name = text(request, "name", required="Give the organisation a name.")
        zone = text(request, "time_zone") or "UTC"
        zoneinfo.ZoneInfo(zone)
    except (FormError, ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
        message = str(exc) if isinstance(exc, FormError) else "Choose a time zone from the list."
        return {"access": access, "org": organization, "time_zones": TIME_ZONES, "error": message}
    organization.name, organization.time_zone = name, zone
    request.session.flash("The organisation's settings have been saved.")
    return HTTPFound(request.route_url("org.settings", org=organization.permalink))


@view_config(route_name="org.delete", request_method="POST", permission="web")
def delete_org(request):
    access = load_organization(request)
    if not access.is_owner:
        request.session.flash("Only the organisation's owners may delete it.", "error")
        return HTTPFound(request.route_url("org.settings", org=access.organization.permalink))
    if request.POST.get("confirm") != access.organization.permalink:
        request.session.flash("Type the organisation's short name to confirm.", "error")
        return HTTPFound(request.route_url("org.settings", org=access.organization.permalink))
    # The database cascades to memberships, servers, domains, credentials and messages.
    request.dbsession.execute(delete(Organization).where(Organization.id == access.organization.id))
    request.session.flash(f"{access.organization.name} has been deleted.")
    return HTTPFound(request.route_url("home"))
