"""``/api/v1/messages/message`` and ``/api/v1/messages/deliveries``."""

from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import select

from ...models import Delivery, Message
from .envelope import METHODS, ParameterError, V1Error, api_v1, blank
from .expansions import expand


def find_message(request, credential, params) -> Message:
    """By numeric id within the credential's server.  Postal answers a server error to a
    string id; we take a numeric string as the number, and anything else that is not an
    integer gets a clean error."""
    given = params.get("id")
    if blank(given) and given != 0:
        raise ParameterError("`id` parameter is required but is missing")
    if isinstance(given, bool) or not isinstance(given, int | str):
        raise ParameterError("`id` parameter must be a string or integer")
    number = given if isinstance(given, int) else _as_int(given)
    message = None
    if number is not None and 0 < number < 2**62:
        message = request.dbsession.scalar(
            select(Message).where(Message.id == number, Message.server_id == credential.server_id)
        )
    if message is None:
        raise V1Error("MessageNotFound", message="No message found matching provided ID", id=given)
    return message


def _as_int(value: str) -> int | None:
    value = value.strip()
    # Bounded so a huge number cannot overflow the database's integer type.
    return int(value) if value.isdigit() and len(value) <= 18 else None


@view_config(route_name="api.v1.messages.message", request_method=METHODS)
@api_v1
def message(request, credential, params):
    found = find_message(request, credential, params)
    return expand(found, request, params.get("_expansions"))


@view_config(route_name="api.v1.messages.deliveries", request_method=METHODS)
@api_v1
def deliveries(request, credential, params):
    found = find_message(request, credential, params)
    rows = request.dbsession.scalars(
        select(Delivery)
        .where(Delivery.message_id == found.id)
        .order_by(Delivery.timestamp, Delivery.id)
    )
    return [
        {
            "id": d.id,
            "status": d.status,
            "details": d.details,
            "output": d.output.strip() if d.output is not None else None,
            "sent_with_ssl": bool(d.sent_with_ssl),
            "log_id": d.log_id,
            "time": d.time,
            "timestamp": d.timestamp.timestamp(),
        }
        for d in rows
    ]
