"""A server's suppression list: addresses it will not send to until ``keep_until``."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config
from sqlalchemy import select

from ... import suppressions as rules
from ...models import Suppression
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
        "active": rules.is_active(s),
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
    default_days = request.registry.settings[
        "postal.default_suppression_list_automatic_removal_days"
    ]
    days = integer(body, "days", minimum=1, maximum=rules.MAX_DAYS, default=default_days)
    try:
        row = rules.add_manually(
            request.dbsession, server.id, address, string(body, "reason"), days
        )
    except rules.SuppressionError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None
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
