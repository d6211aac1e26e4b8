"""A server's webhooks: the list, the form (all events or chosen ones), deletion.

The rules (safe URL, event names, all events dropping the chosen ones) are
:mod:`postal.webhooks`, shared with the management API.  The request log is
:mod:`postal.views.webhook_requests`.
"""

from __future__ import annotations

from pyramid.httpexceptions import HTTPFound, HTTPNotFound
from pyramid.view import view_config
from sqlalchemy import select

from .. import webhooks as rules
from ..models import Webhook
from ..ssrf import request_resolver
from ..web.access import load_server
from ..web.forms import FormError, checkbox, text
from .servers import server_page


def _list_url(request, access, server) -> str:
    return request.route_url("webhooks", org=access.organization.permalink, server=server.permalink)


def load_webhook(request, server) -> Webhook:
    webhook = request.dbsession.scalar(
        select(Webhook).where(
            Webhook.uuid == request.matchdict["webhook"], Webhook.server_id == server.id
        )
    )
    if webhook is None:
        raise HTTPNotFound()
    return webhook


def _form_page(request, access, server, webhook=None, error=None, form=None) -> dict:
    if form is None and webhook is None:
        form = {"name": "", "url": "", "enabled": True, "all_events": True, "events": []}
    elif form is None:
        form = {"name": webhook.name, "url": webhook.url, "enabled": webhook.enabled,
                "all_events": webhook.all_events,
                "events": [e.event for e in webhook.events]}  # fmt: skip
    return server_page(request, access, server, webhook=webhook, form=form, error=error,
                       selectable=rules.SELECTABLE_EVENTS)  # fmt: skip


def _posted_form(request) -> dict:
    return {"name": request.POST.get("name", ""), "url": request.POST.get("url", ""),
            "enabled": checkbox(request, "enabled"), "all_events": checkbox(request, "all_events"),
            "events": request.POST.getall("events")}  # fmt: skip


def _apply(request, webhook: Webhook) -> None:
    """Validate every field, then change the webhook (no half-saved webhook on bad input)."""
    name = text(request, "name", required="Give the webhook a name.")
    url = text(request, "url", required="Enter the URL to POST events to.", max_length=2000)
    try:
        url = rules.checked_url(url, request.registry.settings, request_resolver(request))
        events = rules.checked_events(e for e in request.POST.getall("events") if e)
        rules.apply_events(webhook, checkbox(request, "all_events"), events)
    except rules.WebhookError as exc:
        raise FormError(str(exc)) from None
    webhook.name, webhook.url, webhook.enabled = name, url, checkbox(request, "enabled")


@view_config(
    route_name="webhooks", request_method="GET", renderer="webhooks/index.jinja2", permission="web"
)
def index(request):
    access, server = load_server(request)
    webhooks = request.dbsession.scalars(
        select(Webhook).where(Webhook.server_id == server.id).order_by(Webhook.name, Webhook.id)
    )
    return server_page(request, access, server, webhooks=list(webhooks))


@view_config(
    route_name="webhooks.new", request_method="GET", renderer="webhooks/form.jinja2",
    permission="web",
)  # fmt: skip
def new_form(request):
    access, server = load_server(request)
    return _form_page(request, access, server)


@view_config(
    route_name="webhooks.new", request_method="POST", renderer="webhooks/form.jinja2",
    permission="web",
)  # fmt: skip
def create(request):
    access, server = load_server(request)
    webhook = Webhook(server_id=server.id)
    try:
        _apply(request, webhook)
    except FormError as exc:
        return _form_page(request, access, server, error=str(exc), form=_posted_form(request))
    request.dbsession.add(webhook)
    request.dbsession.flush()
    request.session.flash(f"Webhook {webhook.name} has been created.")
    return HTTPFound(_list_url(request, access, server))


@view_config(
    route_name="webhook", request_method="GET", renderer="webhooks/form.jinja2", permission="web"
)
def edit_form(request):
    access, server = load_server(request)
    return _form_page(request, access, server, load_webhook(request, server))


@view_config(
    route_name="webhook", request_method="POST", renderer="webhooks/form.jinja2", permission="web"
)
def edit_submit(request):
    access, server = load_server(request)
    webhook = load_webhook(request, server)
    try:
        _apply(request, webhook)
    except FormError as exc:
        return _form_page(request, access, server, webhook, str(exc), _posted_form(request))
    request.session.flash(f"Webhook {webhook.name} has been saved.")
    return HTTPFound(_list_url(request, access, server))


@view_config(route_name="webhook.delete", request_method="POST", permission="web")
def delete(request):
    access, server = load_server(request)
    webhook = load_webhook(request, server)
    request.dbsession.delete(webhook)
    request.session.flash(f"Webhook {webhook.name} has been deleted.")
    return HTTPFound(_list_url(request, access, server))
