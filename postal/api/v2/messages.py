"""Messages of a server: listing and searching, details, raw bytes, the delivery log, and
the operator's actions (retry, release a hold, cancel a hold)."""

from __future__ import annotations

from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import or_, select

from ... import message_actions as actions
from ...models import Delivery, Message, Server
from .access import check_organization, load_server
from .errors import Conflict, NotFound, ValidationFailed
from .listing import paginate
from .serializers import timestamp


DIRECTIONS = ("incoming", "outgoing")


def message_json(m: Message) -> dict:
    return {
        "id": m.id,
        "token": m.token,
        "direction": m.scope,
        "message_id": m.message_id,
        "rcpt_to": m.rcpt_to,
        "mail_from": m.mail_from,
        "subject": m.subject,
        "status": m.status,
        "held": bool(m.held),
        "hold_expiry": timestamp(m.hold_expiry),
        "tag": m.tag,
        "size": m.size,
        "bounce": bool(m.bounce),
        "spam": bool(m.spam),
        "spam_score": float(m.spam_score or 0),
        "last_delivery_attempt": timestamp(m.last_delivery_attempt),
        "timestamp": timestamp(m.timestamp),
    }


def delivery_json(d: Delivery) -> dict:
    return {
        "id": d.id,
        "status": d.status,
        "details": d.details,
        "output": d.output,
        "sent_with_ssl": bool(d.sent_with_ssl),
        "log_id": d.log_id,
        "time": d.time,
        "timestamp": timestamp(d.timestamp),
    }


def load_message(request) -> Message:
    raw_id = request.matchdict["message"]
    message = None
    if raw_id.isdigit() and len(raw_id) <= 18:
        message = request.dbsession.get(Message, int(raw_id))
    if message is None:
        raise NotFound("No such message.")
    server = request.dbsession.get(Server, message.server_id)
    if server is None or server.deleted_at is not None:
        raise NotFound("No such message.")
    try:
        check_organization(request, server.organization, manage=False)
    except NotFound:
        raise NotFound("No such message.") from None
    return message


@view_config(route_name="api.v2.server.messages", request_method="GET", renderer="json")
def list_messages(request):
    server = load_server(request, request.matchdict["server"])
    params = request.params
    query = select(Message).where(Message.server_id == server.id)
    direction = params.get("direction")
    if direction:
        if direction not in DIRECTIONS:
            raise ValidationFailed("direction must be incoming or outgoing.", field="direction")
        query = query.where(Message.scope == direction)
    for name, column in (("status", Message.status), ("tag", Message.tag)):
        if params.get(name):
            query = query.where(column == params[name])
    if params.get("to"):
        query = query.where(Message.rcpt_to == params["to"])
    if params.get("from"):
        query = query.where(Message.mail_from == params["from"])
    if params.get("query"):
        like = f"%{params['query']}%"
        query = query.where(
            or_(
                Message.subject.like(like),
                Message.rcpt_to.like(like),
                Message.mail_from.like(like),
                Message.message_id.like(like),
                Message.token == params["query"],
            )
        )
    return paginate(request, query.order_by(Message.id.desc()), message_json)


@view_config(route_name="api.v2.message", request_method="GET", renderer="json")
def get_message(request):
    return message_json(load_message(request))


@view_config(route_name="api.v2.message.raw", request_method="GET")
def raw_message(request):
    message = load_message(request)
    if message.raw_message is None:
        raise NotFound("The raw message has been removed (retention).")
    return Response(body=message.raw_message.data, content_type="message/rfc822")


@view_config(route_name="api.v2.message.deliveries", request_method="GET", renderer="json")
def message_deliveries(request):
    message = load_message(request)
    rows = request.dbsession.scalars(
        select(Delivery).where(Delivery.message_id == message.id).order_by(Delivery.id)
    )
    return {"data": [delivery_json(d) for d in rows]}


def _act(request, action, *args) -> dict:
    message = load_message(request)
    try:
        action(request.dbsession, message, *args)
    except actions.MessageActionError as exc:
        raise Conflict(str(exc)) from None
    return message_json(message)


@view_config(route_name="api.v2.message.retry", request_method="POST", renderer="json")
def retry_message(request):
    return _act(request, actions.retry, request.tm)


@view_config(route_name="api.v2.message.release", request_method="POST", renderer="json")
def release_message(request):
    return _act(request, actions.release)


@view_config(route_name="api.v2.message.cancel", request_method="POST", renderer="json")
def cancel_hold(request):
    return _act(request, actions.cancel_hold)
