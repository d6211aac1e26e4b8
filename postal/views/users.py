"""Installation admins manage every user."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from ..accounts import UserError, create_user, normalise_email
from ..models import MembershipRole, Organization, OrganizationUser, User
from ..models.user import MIN_PASSWORD_LENGTH
from ..web.access import require_admin
from ..web.forms import FormError, checkbox, text


def _load_user(request) -> User:
    user = request.dbsession.scalar(select(User).where(User.uuid == request.matchdict["user"]))
    if user is None:
        raise HTTPNotFound()
    return user


def _organizations(request) -> list[Organization]:
    query = (
        select(Organization).where(Organization.deleted_at.is_(None)).order_by(Organization.name)
    )
    return list(request.dbsession.scalars(query))


@view_config(
    route_name="users", request_method="GET", renderer="users/index.jinja2", permission="web"
)
def users(request):
    require_admin(request)
    query = select(User).order_by(User.first_name, User.last_name, User.id)
    return {"users": list(request.dbsession.scalars(query))}


@view_config(
    route_name="users.new", request_method="GET", renderer="users/form.jinja2", permission="web"
)
def new_user_form(request):
    require_admin(request)
    return {"edited": None, "organizations": _organizations(request), "error": None, "form": {}}


@view_config(
    route_name="users.new", request_method="POST", renderer="users/form.jinja2", permission="web"
)
def create_user_submit(request):
    require_admin(request)
    try:
        user = create_user(
            request.dbsession,
            email=text(request, "email_address"),
            first_name=text(request, "first_name"),
            last_name=text(request, "last_name"),
            password=request.POST.get("password") or None,
            admin=checkbox(request, "admin"),
        )
    except (UserError, FormError) as exc:
        return {
            "edited": None, "organizations": _organizations(request), "error": str(exc),
            "form": request.POST,
        }  # fmt: skip
    _grant_organizations(request, user)
    request.session.flash(f"{user.name} has been added.")
    return HTTPFound(request.route_url("users"))


def _grant_organizations(request, user: User) -> None:
    """Membership (as member) of exactly the organisations ticked in the form."""
    wanted = set(request.POST.getall("organizations"))
    current = {m.organization.uuid: m for m in user.memberships}
    for organization in _organizations(request):
        if organization.uuid in wanted and organization.uuid not in current:
            user.memberships.append(
                OrganizationUser(organization=organization, role=MembershipRole.MEMBER)
            )
        elif organization.uuid not in wanted and organization.uuid in current:
            user.memberships.remove(current[organization.uuid])


@view_config(
    route_name="user.edit", request_method="GET", renderer="users/form.jinja2", permission="web"
)
def edit_user_form(request):
    require_admin(request)
    user = _load_user(request)
    return {"edited": user, "organizations": _organizations(request), "error": None, "form": {}}


@view_config(
    route_name="user.edit", request_method="POST", renderer="users/form.jinja2", permission="web"
)
def edit_user_submit(request):
    me = require_admin(request)
    user = _load_user(request)
    try:
        _apply_edit(request, me, user)
    except (UserError, FormError) as exc:
        return {
            "edited": user, "organizations": _organizations(request), "error": str(exc),
            "form": request.POST,
        }  # fmt: skip
    _grant_organizations(request, user)
    request.session.flash(f"{user.name} has been saved.")
    return HTTPFound(request.route_url("users"))


def _apply_edit(request, me: User, user: User) -> None:
    first = text(request, "first_name", required="Enter a first name.")
    last = text(request, "last_name", required="Enter a last name.")
    email = normalise_email(text(request, "email_address"))
    taken = select(User.id).where(User.email_address == email, User.id != user.id)
    if request.dbsession.scalar(taken) is not None:
        raise FormError(f"{email} belongs to another account.")
    admin = checkbox(request, "admin")
    if user.id == me.id and not admin:
        raise FormError("You cannot remove your own admin rights.")
    password = request.POST.get("password") or ""
    if password and len(password) < MIN_PASSWORD_LENGTH:
        raise FormError(f"Passwords have at least {MIN_PASSWORD_LENGTH} characters.")
    user.first_name, user.last_name, user.email_address, user.admin = first, last, email, admin
    if password:
        user.set_password(password)


@view_config(route_name="user.delete", request_method="POST", permission="web")
def delete_user(request):
    me = require_admin(request)
    user = _load_user(request)
    if user.id == me.id:
        request.session.flash("You cannot delete yourself.", "error")
    else:
        request.dbsession.delete(user)
        request.session.flash(f"{user.name} has been deleted.")
    return HTTPFound(request.route_url("users"))
