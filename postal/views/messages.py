"""Message lists with search, the message page, its sandboxed HTML preview and downloads."""

from __future__ import annotations

import re

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import or_, select

from ..models import Click, Link, Load, Message, MessageStatus, QueuedMessage, SpamCheck, utcnow
from ..web import search as search_logic
from ..web.access import load_message, load_server
from ..web.mail_view import attachment, parse_mail
from ..web.rendering import _zone
from .servers import server_page


PER_PAGE = 30
TITLES = {"outgoing": "Outgoing messages", "incoming": "Incoming messages",
          "held": "Held messages", "queue": "Queue"}  # fmt: skip
# The preview may show inline styles and data: images, and nothing else: no script, no
# remote image, font or style, no form, no navigation; ``sandbox`` holds even when the
# preview is opened on its own, outside the iframe.
PREVIEW_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"
)


def _base_query(scope: str, server_id: int, search):
    query = select(Message).where(Message.server_id == server_id)
    if scope == "queue":
        return query.join(QueuedMessage, QueuedMessage.message_id == Message.id)
    if scope == "held":
        return query.where(or_(Message.status == MessageStatus.HELD, Message.held.is_(True)))
    if search.crosses_scopes:
        return query
    return query.where(Message.scope == scope)


@view_config(
    route_name="messages", request_method="GET", renderer="messages/index.jinja2", permission="web"
)
def index(request):
    access, server = load_server(request)
    scope = request.matchdict["scope"]
    query_text = request.GET.get("q", "").strip()
    page = max(_int(request.GET.get("page"), 1), 1)
    messages, error, more = [], None, False
    try:
        search = search_logic.parse(query_text)
        query = search_logic.apply(
            _base_query(scope, server.id, search), search,
            zone=_zone(request.identity), now=utcnow(),
        )  # fmt: skip
        order = Message.timestamp.asc() if search.oldest_first else Message.timestamp.desc()
        rows = request.dbsession.scalars(
            query.order_by(order, Message.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
        )
        messages = list(rows)
        more = len(messages) > PER_PAGE
        messages = messages[:PER_PAGE]
    except search_logic.SearchError as exc:
        error = str(exc)
    return server_page(
        request, access, server, scope=scope, title=TITLES[scope], messages=messages,
        query=query_text, page=page, more=more, error=error,
    )  # fmt: skip


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _raw(message: Message) -> bytes | None:
    return message.raw_message.data if message.raw_message is not None else None


@view_config(
    route_name="message", request_method="GET", renderer="messages/show.jinja2", permission="web"
)
def show(request):
    access, server = load_server(request)
    message = load_message(request, server)
    raw = _raw(message)
    mail = parse_mail(raw) if raw is not None else None
    spam_checks = request.dbsession.scalars(
        select(SpamCheck).where(SpamCheck.message_id == message.id).order_by(SpamCheck.score.desc())
    )
    queued = request.dbsession.scalar(
        select(QueuedMessage).where(QueuedMessage.message_id == message.id)
    )
    return server_page(
        request, access, server, message=message, mail=mail, spam_checks=list(spam_checks),
        queued=queued, raw_size=len(raw) if raw is not None else None,
        **_tracking(request.dbsession, message),
    )  # fmt: skip


def _tracking(dbsession, message: Message) -> dict:
    """The message's opens, and its clicks with the URL clicked, oldest first."""
    loads = dbsession.scalars(
        select(Load).where(Load.message_id == message.id).order_by(Load.timestamp, Load.id)
    )
    clicks = dbsession.execute(
        select(Click, Link.url)
        .join(Link, Link.id == Click.link_id)
        .where(Click.message_id == message.id)
        .order_by(Click.timestamp, Click.id)
    )
    return {"loads": list(loads), "clicks": [(click, url) for click, url in clicks]}


@view_config(route_name="message.html", request_method="GET", permission="web")
def html_preview(request):
    _access, server = load_server(request)
    message = load_message(request, server)
    raw = _raw(message)
    html = parse_mail(raw).html if raw is not None else None
    if html is None:
        raise HTTPNotFound()
    response = Response(html, content_type="text/html", charset="utf-8")
    response.headers.update({
        "Content-Security-Policy": PREVIEW_CSP,
        "X-Frame-Options": "SAMEORIGIN",
        "Cache-Control": "private, no-store",
    })  # fmt: skip
    return response


def _download(body: bytes, filename: str, content_type: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", filename)[:100] or "download"
    response = Response(body, content_type=content_type)
    # Always a download, never rendered here: an attachment could be HTML with script.
    response.headers.update({
        "Content-Disposition": f'attachment; filename="{safe}"',
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })  # fmt: skip
    return response


@view_config(route_name="message.raw", request_method="GET", permission="web")
def raw_download(request):
    _access, server = load_server(request)
    message = load_message(request, server)
    raw = _raw(message)
    if raw is None:
        raise HTTPNotFound()
    return _download(raw, f"{message.token}.eml", "message/rfc822")


@view_config(route_name="message.attachment", request_method="GET", permission="web")
def attachment_download(request):
    _access, server = load_server(request)
    message = load_message(request, server)
    raw = _raw(message)
    found = attachment(raw, int(request.matchdict["index"])) if raw is not None else None
    if found is None:
        raise HTTPNotFound()
    filename, body = found
    return _download(body, filename, "application/octet-stream")
