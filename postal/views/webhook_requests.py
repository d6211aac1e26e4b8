"""A server's webhook request log ("View History"): 30 attempts a page, each attempt's
request and response, and "retry now" (:func:`postal.webhooks.retry_now`)."""

from __future__ import annotations

import json

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from .. import webhooks as rules
from ..models import Webhook, WebhookRequest, WebhookRequestLog
from ..web.access import load_server
from .servers import server_page


PER_PAGE = 30


def _page_number(request) -> int:
    try:
        return max(int(request.GET.get("page", 1)), 1)
    except ValueError:
        return 1


@view_config(
    route_name="webhook_requests", request_method="GET",
    renderer="webhooks/requests.jinja2", permission="web",
)  # fmt: skip
def history(request):
    access, server = load_server(request)
    page = _page_number(request)
    query = select(WebhookRequestLog).where(WebhookRequestLog.server_id == server.id)
    webhook = None
    if request.GET.get("webhook"):
        webhook = request.dbsession.scalar(
            select(Webhook).where(
                Webhook.uuid == request.GET["webhook"], Webhook.server_id == server.id
            )
        )
        if webhook is None:
            raise HTTPNotFound()
        query = query.where(WebhookRequestLog.webhook_id == webhook.id)
    rows = list(
        request.dbsession.scalars(
            query.order_by(WebhookRequestLog.created_at.desc(), WebhookRequestLog.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
        )
    )
    names = dict(
        request.dbsession.execute(
            select(Webhook.id, Webhook.name).where(Webhook.server_id == server.id)
        ).all()
    )
    return server_page(request, access, server, logs=rows[:PER_PAGE], more=len(rows) > PER_PAGE,
                       page=page, webhook=webhook, names=names)  # fmt: skip


def load_log(request, server) -> WebhookRequestLog:
    log = request.dbsession.scalar(
        select(WebhookRequestLog).where(
            WebhookRequestLog.id == int(request.matchdict["log"]),
            WebhookRequestLog.server_id == server.id,
        )
    )
    if log is None:
        raise HTTPNotFound()
    return log


def _pretty(payload: str) -> str:
    try:
        return json.dumps(json.loads(payload), indent=2, sort_keys=True)
    except ValueError:
        return payload


@view_config(
    route_name="webhook_request", request_method="GET",
    renderer="webhooks/request.jinja2", permission="web",
)  # fmt: skip
def detail(request):
    access, server = load_server(request)
    log = load_log(request, server)
    attempts = request.dbsession.scalars(
        select(WebhookRequestLog)
        .where(WebhookRequestLog.uuid == log.uuid, WebhookRequestLog.server_id == server.id)
        .order_by(WebhookRequestLog.attempt, WebhookRequestLog.id)
    )
    pending = request.dbsession.scalar(
        select(WebhookRequest).where(WebhookRequest.uuid == log.uuid)
    )
    webhook = request.dbsession.get(Webhook, log.webhook_id) if log.webhook_id else None
    return server_page(request, access, server, log=log, payload=_pretty(log.payload),
                       attempts=list(attempts), pending=pending, webhook=webhook)  # fmt: skip


@view_config(route_name="webhook_request.retry", request_method="POST", permission="web")
def retry(request):
    access, server = load_server(request)
    log = load_log(request, server)
    try:
        rules.retry_now(request.dbsession, log)
    except rules.WebhookError as exc:
        request.session.flash(str(exc), "error")
    else:
        request.session.flash("The request will be sent again in a moment.")
    return HTTPFound(
        request.route_url("webhook_request", org=access.organization.permalink,
                          server=server.permalink, log=log.id)
    )  # fmt: skip
