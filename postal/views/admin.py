"""Installation admins' lists: every organisation, with its servers and members counted."""

from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import func, select

from ..models import Organization, OrganizationUser, Server
from ..web.access import require_admin


@view_config(
    route_name="admin.organizations", request_method="GET",
    renderer="admin/organizations.jinja2", permission="web",
)  # fmt: skip
def organizations(request):
    require_admin(request)
    servers = (
        select(func.count())
        .where(Server.organization_id == Organization.id, Server.deleted_at.is_(None))
        .correlate(Organization)
        .scalar_subquery()
    )
    members = (
        select(func.count())
        .where(OrganizationUser.organization_id == Organization.id)
        .correlate(Organization)
        .scalar_subquery()
    )
    rows = request.dbsession.execute(
        select(Organization, servers, members)
        .where(Organization.deleted_at.is_(None))
        .order_by(Organization.name, Organization.id)
    )
    return {"rows": [(org, n_servers, n_members) for org, n_servers, n_members in rows]}
