"""Mail servers and their settings."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import delete, select

from ...accounts import UserError, normalise_email
from ...models import Server, ServerMode
from ...models.server import RESERVED_PERMALINKS
from ...permalinks import (
    PermalinkInvalid,
    PermalinkTaken,
    choose_permalink,
    server_permalink_taken,
)
from . import serializers
from .access import current_user, load_organization, load_server
from .errors import Conflict, Forbidden, ValidationFailed
from .listing import paginate
from .params import apply_suspension, boolean, choice, integer, json_body, number, string


MODES = [mode.value for mode in ServerMode]
INT32 = 2_147_483_647  # the integer columns' range on every engine

# Settings an organisation's owners and admins may change.
SETTINGS = {"name", "mode", "spam_threshold", "spam_failure_threshold", "postmaster_address"}
# Postal's "Advanced settings": only installation admins change these.
ADMIN_SETTINGS = {
    "send_limit", "allow_sender", "privacy_mode", "log_smtp_data", "outbound_spam_threshold",
    "message_retention_days", "raw_message_retention_days", "raw_message_retention_size",
    "suspended", "suspension_reason",
}  # fmt: skip


@view_config(route_name="api.v2.organization.servers", request_method="GET", renderer="json")
def list_servers(request):
    organization = load_organization(request, request.matchdict["organization"])
    query = (
        select(Server)
        .where(Server.organization_id == organization.id, Server.deleted_at.is_(None))
        .order_by(Server.name, Server.id)
    )
    return paginate(request, query, serializers.server)


@view_config(route_name="api.v2.organization.servers", request_method="POST", renderer="json")
def create_server(request):
    organization = load_organization(request, request.matchdict["organization"], manage=True)
    body = json_body(request, {"permalink"} | SETTINGS | ADMIN_SETTINGS)
    name = string(body, "name", required=True)
    permalink = string(body, "permalink", max_length=64)

    try:
        permalink = choose_permalink(
            permalink,
            name,
            RESERVED_PERMALINKS,
            server_permalink_taken(request.dbsession, organization.id),
        )
    except PermalinkInvalid as exc:
        raise ValidationFailed(f"permalink {exc}.", field="permalink") from None
    except PermalinkTaken:
        raise Conflict(
            f"A server with permalink {permalink!r} exists.", field="permalink"
        ) from None
    settings = request.registry.settings
    server = Server(
        organization=organization,
        name=name,
        permalink=permalink,
        mode=ServerMode.LIVE,
        spam_threshold=settings["postal.default_spam_threshold"],
        spam_failure_threshold=settings["postal.default_spam_failure_threshold"],
        # Column defaults apply only at INSERT; _apply_settings reads these first.
        message_retention_days=60,
        raw_message_retention_days=30,
        raw_message_retention_size=2048,
        allow_sender=False,
        privacy_mode=False,
        log_smtp_data=False,
    )
    _apply_settings(request, server, body)
    request.dbsession.add(server)
    request.dbsession.flush()
    request.response.status_int = 201
    return serializers.server(server)


@view_config(route_name="api.v2.server", request_method="GET", renderer="json")
def get_server(request):
    return serializers.server(load_server(request, request.matchdict["server"]))


@view_config(route_name="api.v2.server", request_method="PATCH", renderer="json")
def update_server(request):
    server = load_server(request, request.matchdict["server"], manage=True)
    body = json_body(request, SETTINGS | ADMIN_SETTINGS)
    _apply_settings(request, server, body)
    return serializers.server(server)


@view_config(route_name="api.v2.server", request_method="DELETE", renderer="json")
def delete_server(request):
    server = load_server(request, request.matchdict["server"], manage=True)
    # The database cascades to domains, credentials, messages and the queue.
    request.dbsession.execute(delete(Server).where(Server.id == server.id))
    return HTTPNoContent()


def _apply_settings(request, server: Server, body: dict) -> None:
    admin_only = sorted(set(body) & ADMIN_SETTINGS)
    if admin_only and not current_user(request).admin:
        raise Forbidden(f"Only installation admins may set {admin_only[0]}.", field=admin_only[0])
    server.name = string(body, "name", required="name" in body, default=server.name)
    server.mode = ServerMode(choice(body, "mode", MODES, default=server.mode.value))
    server.spam_threshold = number(body, "spam_threshold", minimum=0, default=server.spam_threshold)
    server.spam_failure_threshold = number(
        body, "spam_failure_threshold", minimum=0, default=server.spam_failure_threshold
    )
    if server.spam_failure_threshold < server.spam_threshold:
        raise ValidationFailed(
            "spam_failure_threshold must not be below spam_threshold.",
            field="spam_failure_threshold",
        )
    if "postmaster_address" in body:
        server.postmaster_address = _postmaster_address(body)
    server.privacy_mode = boolean(body, "privacy_mode", default=server.privacy_mode)
    server.send_limit = integer(
        body, "send_limit", minimum=0, maximum=INT32, nullable=True, default=server.send_limit
    )
    server.allow_sender = boolean(body, "allow_sender", default=server.allow_sender)
    server.log_smtp_data = boolean(body, "log_smtp_data", default=server.log_smtp_data)
    server.outbound_spam_threshold = number(
        body, "outbound_spam_threshold", minimum=0, nullable=True,
        default=server.outbound_spam_threshold,
    )  # fmt: skip
    for key in ("message_retention_days", "raw_message_retention_days"):
        setattr(
            server,
            key,
            integer(body, key, minimum=1, maximum=3650, default=getattr(server, key)),
        )
    server.raw_message_retention_size = integer(
        body,
        "raw_message_retention_size",
        minimum=1,
        maximum=INT32,
        default=server.raw_message_retention_size,
    )
    apply_suspension(body, server)


def _postmaster_address(body) -> str | None:
    value = string(body, "postmaster_address")
    if not value:
        return None
    try:
        return normalise_email(value)
    except UserError as exc:
        raise ValidationFailed(f"postmaster_address: {exc}.", field="postmaster_address") from None
