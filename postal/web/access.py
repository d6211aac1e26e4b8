"""Finding the organisation, server or message a web page is about, for the signed-in user.

Pages answer 404 for anything the user may not see (so its existence does not leak) and 403
for what they may see but not change, as the management API does.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound
from sqlalchemy import select

from ..api.v2.access import visible_organizations
from ..models import (
    MembershipRole,
    Message,
    Organization,
    OrganizationUser,
    Server,
    User,
)  # fmt: skip


@dataclass
class OrgAccess:
    organization: Organization
    membership: OrganizationUser | None
    user: User

    @property
    def can_manage(self) -> bool:
        return self.user.admin or (self.membership is not None and self.membership.can_manage)

    @property
    def is_owner(self) -> bool:
        return self.user.admin or (
            self.membership is not None and self.membership.role == MembershipRole.OWNER
        )

    def require_manage(self) -> None:
        if not self.can_manage:
            raise HTTPForbidden("Only the organisation's owners and admins may do this.")


def require_admin(request) -> User:
    if not request.identity.admin:
        raise HTTPForbidden("Only installation admins may do this.")
    return request.identity


def organizations_for(request) -> list[Organization]:
    query = visible_organizations(request.identity).order_by(Organization.name, Organization.id)
    return list(request.dbsession.scalars(query))


def load_organization(request, permalink: str | None = None) -> OrgAccess:
    permalink = permalink or request.matchdict["org"]
    user = request.identity
    organization = request.dbsession.scalar(
        select(Organization).where(
            Organization.permalink == permalink, Organization.deleted_at.is_(None)
        )
    )
    if organization is None:
        raise HTTPNotFound()
    membership = request.dbsession.scalar(
        select(OrganizationUser).where(
            OrganizationUser.organization_id == organization.id,
            OrganizationUser.user_id == user.id,
        )
    )
    if membership is None and not user.admin:
        raise HTTPNotFound()
    return OrgAccess(organization, membership, user)


def load_server(request) -> tuple[OrgAccess, Server]:
    access = load_organization(request)
    server = request.dbsession.scalar(
        select(Server).where(
            Server.organization_id == access.organization.id,
            Server.permalink == request.matchdict["server"],
            Server.deleted_at.is_(None),
        )
    )
    if server is None:
        raise HTTPNotFound()
    return access, server


def load_message(request, server: Server) -> Message:
    try:
        message_id = int(request.matchdict["message"])
    except ValueError:
        raise HTTPNotFound() from None
    message = request.dbsession.scalar(
        select(Message).where(Message.id == message_id, Message.server_id == server.id)
    )
    if message is None:
        raise HTTPNotFound()
    return message
