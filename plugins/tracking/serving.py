"""Answering tracking hits (Postal §7.3): the open pixel and the click redirects.

A tween at the very top of the web application takes every request that carries
``X-Postal-Track-Host: 1`` (the reverse proxy in front of the tracking host names adds it)
and answers it here; no route, session, CSRF or host check of the main application runs for
it.  Requests without the header go on to the application untouched.
"""

from __future__ import annotations

import logging
import re
import struct
import zlib

from pyramid.response import Response
from pyramid.tweens import INGRESS
from sqlalchemy import select

from postal.events import Event
from postal.models import Click, Link, Load, Message, Server, utcnow
from postal.payloads import message_hash

from .client_ip import client_ip, trusted_networks
from .rewrite import URL


log = logging.getLogger(__name__)

HEADER = "X-Postal-Track-Host"
# The WSGI name of HEADER: read from the environ directly, as every request passes here.
ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
IMAGE_PATH = re.compile(r"^/img/([A-Za-z]+)/([A-Za-z0-9]+)$")
LINK_PATH = re.compile(r"^/([A-Za-z]+)/([A-Za-z0-9]+)$")
NO_CACHE = {
    "Cache-Control": "no-cache, no-store, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# A 1×1 fully transparent PNG (8-bit greyscale with alpha).
PIXEL = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 4, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00\x00"))
    + _png_chunk(b"IEND", b"")
)


def text_response(status: int, text: str, **headers) -> Response:
    return Response(text, status=status, content_type="text/plain", charset="utf-8", **headers)


def pixel_response() -> Response:
    response = Response(body=PIXEL, content_type="image/png")
    response.headers.update(NO_CACHE)
    return response


def find_server(dbsession, token: str) -> Server | None:
    server = dbsession.scalar(
        select(Server).where(Server.token == token.lower(), Server.deleted_at.is_(None))
    )
    return server if server is not None and server.token == token.lower() else None


class TrackingHit:
    """One tracking request, answered inside its own transaction."""

    def __init__(self, request, networks):
        self.request = request
        self.db = request.dbsession
        headers = request.headers
        forwarded_for = headers.get("X-Forwarded-For")
        self.ip_address = client_ip(request.remote_addr, forwarded_for, networks)[:64]
        self.user_agent = headers.get("User-Agent")

    def answer(self) -> Response:
        path = self.request.path_info
        if match := IMAGE_PATH.match(path):
            return self.image(*match.groups())
        if match := LINK_PATH.match(path):
            return self.click(*match.groups())
        return text_response(200, "Hello.")

    def image(self, server_token: str, message_token: str) -> Response:
        if "src" in self.request.GET:
            # Postal removed its image proxy (3.3.6); it never fetches anything.
            return text_response(400, "Invalid/missing source image")
        server = find_server(self.db, server_token)
        if server is None:
            return text_response(404, "Invalid Server Token")
        message = self.db.scalar(
            select(Message).where(Message.server_id == server.id, Message.token == message_token)
        )
        # A message already removed (retention) still gets its pixel, as in Postal.
        if message is not None and message.token == message_token:
            if message.loaded_at is None:
                message.loaded_at = utcnow()
            self.db.add(Load(message_id=message.id, **self.client))
            payload = {"message": message_hash(message), **self.client}
            self.request.notify(Event("MessageLoaded", server.id, payload))
        return pixel_response()

    def click(self, server_token: str, link_token: str) -> Response:
        server = find_server(self.db, server_token)
        if server is None:
            return text_response(404, "Invalid Server Token")
        row = self.db.execute(
            select(Link, Message)
            .join(Message, Message.id == Link.message_id)
            .where(Link.token == link_token, Message.server_id == server.id)
        ).first()
        # Tokens compare exactly (MariaDB's collation would ignore case), and only an
        # http(s) URL stored when the message was sent is ever a redirect target.
        if row is None or row.Link.token != link_token or not URL.match(row.Link.url):
            return text_response(404, "Link not found")
        link, message = row.Link, row.Message
        message.clicked_at = utcnow()
        self.db.add(Click(message_id=message.id, link_id=link.id, **self.client))
        payload = {"message": message_hash(message), "url": link.url, "token": link.token}
        self.request.notify(Event("MessageLinkClicked", server.id, {**payload, **self.client}))
        response = text_response(307, f"Redirected to: {link.url}", location=link.url)
        response.headers.update(NO_CACHE)
        return response

    @property
    def client(self) -> dict:
        return {"ip_address": self.ip_address, "user_agent": self.user_agent}


def tracking_tween_factory(handler, registry):
    networks = trusted_networks(registry.settings.get("postal.trusted_proxies", []))

    def tracking_tween(request):
        if request.environ.get(ENVIRON_KEY, "").strip() != "1":
            return handler(request)
        try:
            with request.tm:
                return TrackingHit(request, networks).answer()
        except Exception:
            log.exception("tracking request %s failed", request.path_info)
            return text_response(500, "Internal error")

    return tracking_tween


def includeme(config) -> None:
    # Directly under INGRESS: before pyramid_tm, sessions, CSRF and the routes.
    config.add_tween("plugins.tracking.serving.tracking_tween_factory", under=INGRESS)
