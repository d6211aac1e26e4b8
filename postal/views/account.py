"""The signed-in user's own settings and management API tokens."""

from __future__ import annotations

import zoneinfo

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from ..accounts import UserError, issue_api_token, normalise_email
from ..models import ApiToken, User
from ..models.user import MIN_PASSWORD_LENGTH
from ..web.auth import login
from ..web.forms import FormError, text


TIME_ZONES = sorted(zoneinfo.available_timezones() | {"UTC"})


@view_config(
    route_name="account", request_method="GET", renderer="account/settings.jinja2", permission="web"
)
def settings_form(request):
    return {"time_zones": TIME_ZONES, "error": None}


@view_config(
    route_name="account",
    request_method="POST",
    renderer="account/settings.jinja2",
    permission="web",
)
def settings_submit(request):
    user = request.identity
    try:
        first = text(request, "first_name", required="Enter your first name.")
        last = text(request, "last_name", required="Enter your last name.")
        email = normalise_email(text(request, "email_address"))
        zone = text(request, "time_zone") or "UTC"
        if zone not in TIME_ZONES:
            raise FormError("Choose a time zone from the list.")
        if email != user.email_address:
            if not user.check_password(request.POST.get("current_password", "")):
                raise FormError("Enter your current password to change your e-mail address.")
            taken = select(User.id).where(User.email_address == email)
            if request.dbsession.scalar(taken) is not None:
                raise FormError(f"{email} belongs to another account.")
    except (FormError, UserError) as exc:
        return {"time_zones": TIME_ZONES, "error": str(exc)}
    changed_email = email != user.email_address
    user.first_name, user.last_name, user.time_zone = first, last, zone
    user.email_address = email
    if changed_email:
        login(request, user)  # the session fingerprint includes the address
    request.session.flash("Your settings have been saved.")
    return HTTPFound(request.route_url("account"))


@view_config(
    route_name="account.password",
    request_method="POST",
    renderer="account/settings.jinja2",
    permission="web",
)
def password_submit(request):
    user = request.identity
    error = None
    new = request.POST.get("new_password", "")
    if user.password_digest and not user.check_password(request.POST.get("current_password", "")):
        error = "Your current password is not right."
    elif len(new) < MIN_PASSWORD_LENGTH:
        error = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    elif new != request.POST.get("new_password_confirmation", ""):
        error = "The two new passwords are not the same."
    if error:
        return {"time_zones": TIME_ZONES, "password_error": error, "error": None}
    user.set_password(new)
    # Other sessions end (their fingerprint no longer matches); this one carries on.
    login(request, user)
    request.session.flash("Your password has been changed.")
    return HTTPFound(request.route_url("account"))


def _tokens(request):
    query = select(ApiToken).where(ApiToken.user_id == request.identity.id).order_by(ApiToken.id)
    return list(request.dbsession.scalars(query))


@view_config(
    route_name="tokens", request_method="GET", renderer="account/tokens.jinja2", permission="web"
)
def tokens(request):
    return {"tokens": _tokens(request), "new_token": None, "error": None}


@view_config(
    route_name="tokens", request_method="POST", renderer="account/tokens.jinja2", permission="web"
)
def create_token(request):
    try:
        _record, token = issue_api_token(
            request.dbsession, user=request.identity, name=request.POST.get("name", "")
        )
    except UserError as exc:
        return {"tokens": _tokens(request), "new_token": None, "error": str(exc)}
    # Shown once, on this response only; only its hash is stored.
    return {"tokens": _tokens(request), "new_token": token, "error": None}


@view_config(route_name="token.delete", request_method="POST", permission="web")
def delete_token(request):
    token = request.dbsession.scalar(
        select(ApiToken).where(
            ApiToken.uuid == request.matchdict["token"], ApiToken.user_id == request.identity.id
        )
    )
    if token is None:
        raise HTTPNotFound()
    request.dbsession.delete(token)
    request.session.flash(f"Token {token.name} has been revoked.")
    return HTTPFound(request.route_url("tokens"))
