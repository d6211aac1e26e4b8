"""Users (admins manage them), the signed-in user, and API tokens."""

from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import select

from ...accounts import UserError, create_user, issue_api_token
from ...models import ApiToken, User
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
        user = create_user(
            request.dbsession,
            email=string(body, "email_address", required=True),
            first_name=string(body, "first_name", required=True),
            last_name=string(body, "last_name", required=True),
            password=string(body, "password", max_length=1024),
            admin=boolean(body, "admin", default=False),
        )
    except UserError as exc:
        error = Conflict if "already exists" in str(exc) else ValidationFailed
        raise error(str(exc)) from None
    request.response.status_int = 201
    return serializers.user(user)


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
    request.response.status_int = 204
    return request.response


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
    request.response.status_int = 204
    return request.response
