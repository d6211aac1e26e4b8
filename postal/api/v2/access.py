"""Who may see and change what: installation admins everything, others their organisations."""

from __future__ import annotations

from sqlalchemy import Select, select

from ...models import (
    ApiToken,
    Credential,
    Domain,
    MembershipRole,
    Organization,
    OrganizationUser,
    Server,
    User,
)  # fmt: skip
from .errors import Forbidden, NotFound, Unauthenticated


def current_user(request) -> User:
    user = request.identity
    if user is None:
        raise Unauthenticated("Send a valid API token as 'Authorization: Bearer <token>'.")
    return user


def require_admin(request) -> User:
    user = current_user(request)
    if not user.admin:
        raise Forbidden("Only installation admins may do this.")
    return user


def visible_organizations(user: User) -> Select:
    query = select(Organization).where(Organization.deleted_at.is_(None))
    if not user.admin:
        query = query.join(OrganizationUser).where(OrganizationUser.user_id == user.id)
    return query


def membership(request, organization: Organization) -> OrganizationUser | None:
    user = current_user(request)
    return request.dbsession.scalar(
        select(OrganizationUser).where(
            OrganizationUser.organization_id == organization.id,
            OrganizationUser.user_id == user.id,
        )
    )


def check_organization(request, organization: Organization | None, *, manage: bool) -> Organization:
    """404 when the user cannot see it (so its existence does not leak), 403 when they can
    see it but not change it."""
    user = current_user(request)
    if organization is None or organization.deleted_at is not None:
        raise NotFound("No such organization.")
    if user.admin:
        return organization
    member = membership(request, organization)
    if member is None:
        raise NotFound("No such organization.")
    if manage and not member.can_manage:
        raise Forbidden("Only the organization's owners and admins may do this.")
    return organization


def load_organization(request, uuid: str, *, manage: bool = False) -> Organization:
    organization = request.dbsession.scalar(select(Organization).where(Organization.uuid == uuid))
    return check_organization(request, organization, manage=manage)


def load_server(request, uuid: str, *, manage: bool = False) -> Server:
    """Any member may use a server (domains, credentials); managing its settings is for the
    organisation's owners and admins."""
    server = request.dbsession.scalar(
        select(Server).where(Server.uuid == uuid, Server.deleted_at.is_(None))
    )
    if server is None:
        raise NotFound("No such server.")
    try:
        check_organization(request, server.organization, manage=manage)
    except NotFound:
        raise NotFound("No such server.") from None
    return server


def load_domain(request, uuid: str) -> Domain:
    domain = request.dbsession.scalar(select(Domain).where(Domain.uuid == uuid))
    if domain is None:
        raise NotFound("No such domain.")
    owner = domain.server.organization if domain.server else domain.organization
    try:
        check_organization(request, owner, manage=False)
    except NotFound:
        raise NotFound("No such domain.") from None
    return domain


def load_credential(request, uuid: str) -> Credential:
    credential = request.dbsession.scalar(select(Credential).where(Credential.uuid == uuid))
    if credential is None:
        raise NotFound("No such credential.")
    try:
        check_organization(request, credential.server.organization, manage=False)
    except NotFound:
        raise NotFound("No such credential.") from None
    return credential


def load_token(request, uuid: str) -> ApiToken:
    user = current_user(request)
    token = request.dbsession.scalar(select(ApiToken).where(ApiToken.uuid == uuid))
    if token is None or (token.user_id != user.id and not user.admin):
        raise NotFound("No such API token.")
    return token


def can_manage(request, organization: Organization) -> bool:
    user = current_user(request)
    if user.admin:
        return True
    member = membership(request, organization)
    return member is not None and member.role in (MembershipRole.OWNER, MembershipRole.ADMIN)
