"""What the incoming pipeline needs besides the batch's rows, loaded in a few queries per
batch: each message's route and endpoint, and for mail that arrived at a return-path address
what the bounce detector read and the outgoing messages it refers to.

Runs inside the claiming unit of work, so the pipeline itself touches no database.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from ..models import Message, Route
from ..routing import ENDPOINT_TYPES, description
from ..types import EndpointInfo, IncomingMessage
from .batch import Batch, Job


log = logging.getLogger(__name__)

ENDPOINT_OPTIONS = {
    "HTTPEndpoint": (
        "url", "encoding", "format", "strip_replies", "include_attachments", "timeout",
    ),
    "SMTPEndpoint": ("hostname", "port", "ssl_mode"),
    "AddressEndpoint": ("address",),
}  # fmt: skip


def route_description(route: Route | None) -> str | None:
    return description(route) if route is not None else None


def endpoint_info(kind: str, row) -> EndpointInfo:
    options = {name: getattr(row, name) for name in ENDPOINT_OPTIONS[kind]}
    name = getattr(row, "name", None) or getattr(row, "address", "")
    return EndpointInfo(kind, row.id, row.uuid, name, row.server_id, options)


def load_incoming(db, batch: Batch, hooks) -> None:
    jobs = [job for job in batch.jobs if job.message.scope == "incoming"]
    if not jobs:
        return
    route_ids = {job.message.route_id for job in jobs if job.message.route_id}
    routes = {}
    if route_ids:
        query = select(Route).where(Route.id.in_(route_ids)).options(joinedload(Route.domain))
        routes = {route.id: route for route in db.scalars(query)}
    wanted: dict[str, set[int]] = {}
    for job in jobs:
        job.route = routes.get(job.message.route_id)
        kind, number = _endpoint_of(job)
        if kind in ENDPOINT_TYPES and number is not None:
            wanted.setdefault(kind, set()).add(number)
    endpoints = {}
    for kind, ids in wanted.items():
        model = ENDPOINT_TYPES[kind]
        for row in db.scalars(select(model).where(model.id.in_(ids))):
            endpoints[(kind, row.id)] = endpoint_info(kind, row)
    for job in jobs:
        job.endpoint = endpoints.get(_endpoint_of(job))
    _load_bounces(db, [job for job in jobs if job.message.bounce and job.raw], hooks)


def _endpoint_of(job: Job) -> tuple[str | None, int | None]:
    """The copy's own endpoint (one message row per endpoint), else the route's."""
    message = job.message
    if message.endpoint_type:
        return message.endpoint_type, message.endpoint_id
    if job.route is not None and job.route.endpoint_type:
        return job.route.endpoint_type, job.route.endpoint_id
    return None, None


def incoming_message(job: Job, raw: bytes, **extra) -> IncomingMessage:
    message, source = job.message, getattr(job, "source_ip", None)
    if source is not None:
        extra.update(
            source_ipv4=source.ipv4, source_ipv6=source.ipv6, helo_hostname=source.hostname
        )
    return IncomingMessage(
        id=message.id,
        token=message.token,
        server_id=job.server.id,
        server_token=job.server.token,
        scope=message.scope,
        mail_from=message.mail_from or "",
        rcpt_to=message.rcpt_to or "",
        raw=raw,
        timestamp=message.timestamp,
        route_id=message.route_id,
        route=route_description(job.route),
        bounce=bool(message.bounce),
        received_with_ssl=bool(message.received_with_ssl),
        **extra,
    )


def _load_bounces(db, jobs: list[Job], hooks) -> None:
    """Ask the detectors about each bounce, then find the originals in one query a job:
    by ``X-Postal-MsgID`` token, else by the Message-ID (and recipient) a DSN quotes."""
    for job in jobs:
        try:
            info = hooks.postal_detect_bounce(message=incoming_message(job, job.raw))
        except Exception:
            log.exception("bounce detection failed for message %s", job.message.id)
            info = None
        job.bounce_info = info
        if info is None:
            continue
        conditions = []
        if info.tokens:
            conditions.append(Message.token.in_(info.tokens[:50]))
        if info.message_ids and info.recipient:
            # A Message-ID names every recipient's copy: the DSN's recipient picks one.
            conditions.append(
                Message.message_id.in_(info.message_ids[:50])
                & (func.lower(Message.rcpt_to) == info.recipient.lower())
            )
        if not conditions:
            continue
        query = (
            select(Message)
            .where(
                Message.server_id == job.server.id,
                Message.scope == "outgoing",
                Message.id != job.message.id,
                or_(*conditions),
            )
            .order_by(Message.id)
            .limit(50)
        )
        found = list(db.scalars(query))
        by_token = [m for m in found if m.token in info.tokens]
        job.originals = by_token or found
