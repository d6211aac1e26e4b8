"""Users (admins manage them), the signed-in user, and API tokens."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ...accounts import UserError, create_user, issue_api_token, normalise_email
from ...models import ApiToken, User
from ...models.user import MIN_PASSWORD_LENGTH
from . import serializers
from .access import current_user, load_token, require_admin
from .errors import Conflict, Forbidden, NotFound, ValidationFailed
from .listing import paginate
from .params import boolean, json_body, string


@view_config(route_name="api.v2.me", request_method="GET", renderer="json")
def me(request):
    return serializers.user(current_user(request))


@view_config(route_name="api.v2.users", request_method="GET", renderer="json")
def list_users(request):
    require_admin(request)
    return paginate(request, select(User).order_by(User.id), serializers.user)


@view_config(route_name="api.v2.users", request_method="POST", renderer="json")
def create_user_view(request):
    require_admin(request)
    body = json_body(request, {"email_address", "first_name", "last_name", "password", "admin"})
    try:
        email = normalise_email(string(body, "email_address", required=True))
    except UserError as exc:
        raise ValidationFailed(f"{exc}.", field="email_address") from None
    first_name = string(body, "first_name", required=True)
    last_name = string(body, "last_name", required=True)
    password = _password(body)
    admin = boolean(body, "admin", default=False)
    try:
        user = create_user(
            request.dbsession,
            email=email,
            first_name=first_name,
            last_name=last_name,
            password=password,
            admin=admin,
        )
    except UserError as exc:
        # Validation is done above; what is left is a taken address.
        raise Conflict(f"{exc}.", field="email_address") from None
    request.response.status_int = 201
    return serializers.user(user)


def _password(body) -> str | None:
    # Not stripped, unlike other strings: spaces are part of a password.
    password = body.get("password")
    if password is None:
        return None
    if not isinstance(password, str) or len(password) > 1024:
        message = "password must be a string of at most 1024 characters."
        raise ValidationFailed(message, field="password")
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"password must be at least {MIN_PASSWORD_LENGTH} characters."
        raise ValidationFailed(message, field="password")
    return password


@view_config(route_name="api.v2.user", request_method="GET", renderer="json")
def get_user(request):
    me = current_user(request)
    uuid = request.matchdict["user"]
    if uuid != me.uuid and not me.admin:
        raise NotFound("No such user.")
    user = request.dbsession.scalar(select(User).where(User.uuid == uuid))
    if user is None:
        raise NotFound("No such user.")
    return serializers.user(user)


@view_config(route_name="api.v2.user", request_method="DELETE", renderer="json")
def delete_user(request):
    me = require_admin(request)
    user = request.dbsession.scalar(select(User).where(User.uuid == request.matchdict["user"]))
    if user is None:
        raise NotFound("No such user.")
    if user.id == me.id:
        raise Forbidden("You cannot delete yourself.")
    request.dbsession.delete(user)
    return HTTPNoContent()


@view_config(route_name="api.v2.tokens", request_method="GET", renderer="json")
def list_tokens(request):
    user = current_user(request)
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    return paginate(request, query, serializers.api_token)


@view_config(route_name="api.v2.tokens", request_method="POST", renderer="json")
def create_token(request):
    user = current_user(request)
    body = json_body(request, {"name"})
    record, token = issue_api_token(
        request.dbsession, user=user, name=string(body, "name", required=True)
    )
    request.response.status_int = 201
    return {**serializers.api_token(record), "token": token}


@view_config(route_name="api.v2.token", request_method="DELETE", renderer="json")
def delete_token(request):
    token = load_token(request, request.matchdict["token"])
    request.dbsession.delete(token)
    return HTTPNoContent()
