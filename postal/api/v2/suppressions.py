"""A server's suppression list: addresses it will not send to until ``keep_until``."""

from __future__ import annotations

import datetime as dt

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ...models import Suppression, utcnow
from ...worker.recording import suppress
from .access import load_server
from .errors import NotFound, ValidationFailed
from .listing import paginate
from .params import integer, json_body, string
from .serializers import timestamp


def suppression_json(s: Suppression) -> dict:
    return {
        "uuid": s.uuid,
        "type": s.type,
        "address": s.address,
        "reason": s.reason,
        "keep_until": timestamp(s.keep_until),
        "active": s.keep_until is None or s.keep_until > utcnow(),
        "created_at": timestamp(s.created_at),
    }


@view_config(route_name="api.v2.server.suppressions", request_method="GET", renderer="json")
def list_suppressions(request):
    server = load_server(request, request.matchdict["server"])
    query = select(Suppression).where(Suppression.server_id == server.id)
    if request.params.get("address"):
        query = query.where(Suppression.address == request.params["address"].strip().lower())
    return paginate(request, query.order_by(Suppression.id.desc()), suppression_json)


@view_config(route_name="api.v2.server.suppressions", request_method="POST", renderer="json")
def add_suppression(request):
    """Add an address (or refresh the reason and expiry of one already listed)."""
    server = load_server(request, request.matchdict["server"])
    body = json_body(request, {"address", "reason", "days"})
    address = string(body, "address", required=True)
    if "@" not in address or any(c.isspace() for c in address):
        raise ValidationFailed("address must be an e-mail address.", field="address")
    default_days = request.registry.settings[
        "postal.default_suppression_list_automatic_removal_days"
    ]
    days = integer(body, "days", minimum=1, maximum=3650, default=default_days)
    reason = string(body, "reason", default="added manually") or "added manually"
    row = suppress(
        request.dbsession, server.id, address, reason, utcnow() + dt.timedelta(days=days)
    )
    request.response.status_int = 201
    return suppression_json(row)


@view_config(route_name="api.v2.server.suppression", request_method="DELETE")
def delete_suppression(request):
    server = load_server(request, request.matchdict["server"])
    row = request.dbsession.scalar(
        select(Suppression).where(
            Suppression.server_id == server.id, Suppression.uuid == request.matchdict["suppression"]
        )
    )
    if row is None:
        raise NotFound("No such suppression.")
    request.dbsession.delete(row)
    return HTTPNoContent()
