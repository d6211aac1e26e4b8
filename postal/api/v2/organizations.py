"""Organisations and their members."""

from __future__ import annotations

import zoneinfo

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import delete, select

from ...accounts import UserError, normalise_email
from ...ip_pools import assign_default_pools
from ...models import MembershipRole, Organization, OrganizationUser, User
from ...models.organization import RESERVED_PERMALINKS
from ...permalinks import (
    PermalinkInvalid,
    PermalinkTaken,
    choose_permalink,
    organization_permalink_taken,
)
from . import serializers
from .access import current_user, load_organization, visible_organizations
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .listing import paginate
from .params import apply_suspension, choice, json_body, string


def _time_zone(body, default: str) -> str:
    value = string(body, "time_zone", max_length=64, default=default)
    try:
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise ValidationFailed(f"{value!r} is not a known time zone.", field="time_zone") from None
    return value


@view_config(route_name="api.v2.organizations", request_method="GET", renderer="json")
def list_organizations(request):
    user = current_user(request)
    query = visible_organizations(user).order_by(Organization.name, Organization.id)
    return paginate(request, query, serializers.organization)


@view_config(route_name="api.v2.organizations", request_method="POST", renderer="json")
def create_organization(request):
    user = current_user(request)
    body = json_body(request, {"name", "permalink", "time_zone"})
    name = string(body, "name", required=True)
    permalink = string(body, "permalink", max_length=64)
    try:
        permalink = choose_permalink(
            permalink,
            name,
            RESERVED_PERMALINKS,
            organization_permalink_taken(request.dbsession),
        )
    except PermalinkInvalid as exc:
        raise ValidationFailed(f"permalink {exc}.", field="permalink") from None
    except PermalinkTaken:
        raise Conflict(
            f"An organization with permalink {permalink!r} exists.", field="permalink"
        ) from None
    organization = Organization(
        name=name,
        permalink=permalink,
        time_zone=_time_zone(body, "UTC"),
        owner_id=user.id,
    )
    organization.memberships.append(OrganizationUser(user=user, role=MembershipRole.OWNER))
    assign_default_pools(request.dbsession, organization)
    request.dbsession.add(organization)
    request.dbsession.flush()
    request.response.status_int = 201
    return serializers.organization(organization)


@view_config(route_name="api.v2.organization", request_method="GET", renderer="json")
def get_organization(request):
    return serializers.organization(load_organization(request, request.matchdict["organization"]))


@view_config(route_name="api.v2.organization", request_method="PATCH", renderer="json")
def update_organization(request):
    organization = load_organization(request, request.matchdict["organization"], manage=True)
    body = json_body(request, {"name", "time_zone", "suspended", "suspension_reason"})
    organization.name = string(body, "name", required="name" in body, default=organization.name)
    organization.time_zone = _time_zone(body, organization.time_zone)
    if "suspended" in body or "suspension_reason" in body:
        if not current_user(request).admin:
            raise Forbidden("Only installation admins may suspend organizations.")
        apply_suspension(body, organization)
    return serializers.organization(organization)


@view_config(route_name="api.v2.organization", request_method="DELETE", renderer="json")
def delete_organization(request):
    organization = load_organization(request, request.matchdict["organization"], manage=True)
    member = None if current_user(request).admin else _own_membership(request, organization)
    if member is not None and member.role != MembershipRole.OWNER:
        raise Forbidden("Only the organization's owners may delete it.")
    # The database cascades to memberships, servers, domains, credentials and messages.
    request.dbsession.execute(delete(Organization).where(Organization.id == organization.id))
    return HTTPNoContent()


def _own_membership(request, organization):
    user = current_user(request)
    return next((m for m in organization.memberships if m.user_id == user.id), None)


@view_config(route_name="api.v2.organization.members", request_method="GET", renderer="json")
def list_members(request):
    organization = load_organization(request, request.matchdict["organization"])
    query = (
        select(OrganizationUser)
        .where(OrganizationUser.organization_id == organization.id)
        .order_by(OrganizationUser.id)
    )
    return paginate(request, query, serializers.member)


@view_config(route_name="api.v2.organization.members", request_method="POST", renderer="json")
def add_member(request):
    """Add an existing user by e-mail (invitations by e-mail come with the web UI)."""
    organization = load_organization(request, request.matchdict["organization"], manage=True)
    body = json_body(request, {"email_address", "role"})
    try:
        email = normalise_email(string(body, "email_address", required=True))
    except UserError as exc:
        raise ValidationFailed(str(exc), field="email_address") from None
    role = MembershipRole(choice(body, "role", [r.value for r in MembershipRole], default="member"))
    user = request.dbsession.scalar(select(User).where(User.email_address == email))
    if user is None:
        raise ValidationFailed(f"No user with e-mail address {email}.", field="email_address")
    if any(m.user_id == user.id for m in organization.memberships):
        raise Conflict(f"{email} is already a member.")
    member = OrganizationUser(organization=organization, user=user, role=role)
    request.dbsession.add(member)
    request.dbsession.flush()
    request.response.status_int = 201
    return serializers.member(member)


@view_config(route_name="api.v2.organization.member", request_method="DELETE", renderer="json")
def remove_member(request):
    organization = load_organization(request, request.matchdict["organization"], manage=True)
    uuid = request.matchdict["user"]
    member = next((m for m in organization.memberships if m.user.uuid == uuid), None)
    if member is None:
        raise NotFound("No such member.")
    owners = [m for m in organization.memberships if m.role == MembershipRole.OWNER]
    if member.role == MembershipRole.OWNER and len(owners) == 1:
        raise Conflict("An organization keeps at least one owner.")
    request.dbsession.delete(member)
    return HTTPNoContent()
