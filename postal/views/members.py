"""Organisation members, and invitations by e-mail."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from ..accounts import UserError, create_user, normalise_email
from ..models import MembershipRole, OrganizationUser, User, UserInvite, utcnow
from ..web.access import load_organization
from ..web.auth import login
from ..web.forms import FormError, text
from ..web.mailer import send_after_commit
from .auth import _public_url


INVITE_VALID_FOR = dt.timedelta(days=7)
INVITE_ROLES = (MembershipRole.MEMBER.value, MembershipRole.ADMIN.value, MembershipRole.OWNER.value)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _page(request, access, error=None):
    organization = access.organization
    invites = request.dbsession.scalars(
        select(UserInvite)
        .where(UserInvite.organization_id == organization.id)
        .order_by(UserInvite.id)
    )
    members = sorted(organization.memberships, key=lambda m: (m.user.name.lower(), m.user_id))
    return {"access": access, "org": organization, "members": members,
            "invites": list(invites), "roles": INVITE_ROLES, "error": error}  # fmt: skip


@view_config(
    route_name="org.members",
    request_method="GET",
    renderer="organizations/members.jinja2",
    permission="web",
)
def members(request):
    return _page(request, load_organization(request))


@view_config(
    route_name="org.members",
    request_method="POST",
    renderer="organizations/members.jinja2",
    permission="web",
)
def invite(request):
    access = load_organization(request)
    access.require_manage()
    organization = access.organization
    try:
        email = normalise_email(text(request, "email_address"))
        role = request.POST.get("role", "member")
        if role not in INVITE_ROLES or (role == "owner" and not access.is_owner):
            raise FormError("Choose a role you may give.")
        if any(m.user.email_address == email for m in organization.memberships):
            raise FormError(f"{email} is already a member.")
    except (FormError, UserError) as exc:
        return _page(request, access, str(exc))
    token = secrets.token_urlsafe(32)
    request.dbsession.add(
        UserInvite(
            organization_id=organization.id, email_address=email, role=role,
            token_hash=token_hash(token), expires_at=utcnow() + INVITE_VALID_FOR,
        )
    )  # fmt: skip
    inviter = request.identity
    send_after_commit(
        request,
        email,
        f"You have been invited to {organization.name} on Postal",
        f"{inviter.name} ({inviter.email_address}) invited you to join the organisation "
        f"{organization.name} on Postal.\n\nAccept within 7 days here:\n\n"
        f"{_public_url(request, 'invite', token=token)}\n",
    )
    request.session.flash(f"An invitation has been sent to {email}.")
    return HTTPFound(request.route_url("org.members", org=organization.permalink))


@view_config(route_name="org.invite.delete", request_method="POST", permission="web")
def delete_invite(request):
    access = load_organization(request)
    access.require_manage()
    invite = request.dbsession.scalar(
        select(UserInvite).where(
            UserInvite.uuid == request.matchdict["invite"],
            UserInvite.organization_id == access.organization.id,
        )
    )
    if invite is None:
        raise HTTPNotFound()
    request.dbsession.delete(invite)
    request.session.flash(f"The invitation to {invite.email_address} has been withdrawn.")
    return HTTPFound(request.route_url("org.members", org=access.organization.permalink))


@view_config(route_name="org.member.delete", request_method="POST", permission="web")
def remove_member(request):
    access = load_organization(request)
    access.require_manage()
    organization = access.organization
    member = next(
        (m for m in organization.memberships if m.user.uuid == request.matchdict["user"]), None
    )
    if member is None:
        raise HTTPNotFound()
    owners = [m for m in organization.memberships if m.role == MembershipRole.OWNER]
    if member.role == MembershipRole.OWNER and (len(owners) == 1 or not access.is_owner):
        request.session.flash("Owners can only be removed by another owner.", "error")
    else:
        organization.memberships.remove(member)
        request.session.flash(f"{member.user.name} has been removed.")
    return HTTPFound(request.route_url("org.members", org=organization.permalink))


def _load_invite(request) -> UserInvite:
    invite = request.dbsession.scalar(
        select(UserInvite).where(UserInvite.token_hash == token_hash(request.matchdict["token"]))
    )
    if invite is None or invite.expires_at < utcnow():
        raise HTTPNotFound()
    return invite


def _invite_page(request, invite, error=None):
    from ..models import Organization

    organization = request.dbsession.get(Organization, invite.organization_id)
    existing = request.dbsession.scalar(
        select(User).where(User.email_address == invite.email_address)
    )
    return {"invite": invite, "org": organization, "existing": existing, "error": error}


@view_config(route_name="invite", request_method="GET", renderer="organizations/invite.jinja2")
def show_invite(request):
    return _invite_page(request, _load_invite(request))


@view_config(route_name="invite", request_method="POST", renderer="organizations/invite.jinja2")
def accept_invite(request):
    invite = _load_invite(request)
    user = request.identity
    if user is None:
        existing = _invite_page(request, invite)["existing"]
        if existing is not None:
            return HTTPFound(request.route_url("login", _query={"next": request.path}))
        try:
            user = create_user(
                request.dbsession, email=invite.email_address,
                first_name=text(request, "first_name"), last_name=text(request, "last_name"),
                password=request.POST.get("password") or "",
            )  # fmt: skip
        except (UserError, FormError) as exc:
            return _invite_page(request, invite, str(exc))
        login(request, user)
    elif user.email_address != invite.email_address:
        return _invite_page(request, invite, f"This invitation is for {invite.email_address}.")
    member = request.dbsession.scalar(
        select(OrganizationUser).where(
            OrganizationUser.organization_id == invite.organization_id,
            OrganizationUser.user_id == user.id,
        )
    )
    if member is None:
        role = MembershipRole(invite.role)
        request.dbsession.add(
            OrganizationUser(organization_id=invite.organization_id, user_id=user.id, role=role)
        )
    request.dbsession.delete(invite)
    organization = _invite_page(request, invite)["org"]
    return HTTPFound(request.route_url("org", org=organization.permalink))
