"""Click and open tracking, serving side: the real WSGI application with and without
``X-Postal-Track-Host: 1``."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
import webtest
from pyramid.interfaces import ITweens
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugins.tracking.client_ip import client_ip, trusted_networks
from postal import hookimpl
from postal.models import Click, Link, Load, Message
from tests.fixtures.tracking import before_send, html_message, store_outgoing


TRACK = {"X-Postal-Track-Host": "1", "User-Agent": "MailClient/1.0"}


class CommittedEventRecorder:
    """Keeps each event with what another connection sees of its rows when it fires."""

    def __init__(self, engine):
        self.engine = engine
        self.events = []

    @hookimpl
    def postal_event(self, event):
        message_id = event.payload["message"]["id"]
        with Session(self.engine) as session:
            seen = {
                name: len(
                    session.scalars(select(model).where(model.message_id == message_id)).all()
                )
                for name, model in (("clicks", Click), ("loads", Load))
            }
        self.events.append((event, seen))


@pytest.fixture
def tracking_app(web_config, dbengine):
    recorder = CommittedEventRecorder(dbengine)
    web_config.registry["postal.plugin_manager"].register(recorder, name="tracking-recorder")
    app = webtest.TestApp(web_config.make_wsgi_app(), extra_environ={"REMOTE_ADDR": "198.51.100.7"})
    app.recorder = recorder
    return app


@pytest.fixture
def sent(dbsession, tracking_registry, tracked_server):
    """A tracked message after ``postal_before_send``: (outgoing, [link paths], pixel path)."""
    outgoing = store_outgoing(dbsession, tracked_server.server, html_message())
    before_send(tracking_registry, outgoing, only_tracking=True)
    text = outgoing.raw.decode().replace("=\r\n", "")
    links = re.findall(r"https://click\.example\.com(/[a-z]{6}/[A-Za-z0-9]{16})", text)
    pixel = re.search(r"https://click\.example\.com(/img/[a-z]{6}/[A-Za-z0-9]{16})", text)[1]
    return outgoing, links, pixel


def test_tracking_pixel_and_click_are_recorded_and_announced(tracking_app, sent, dbsession):
    outgoing, links, pixel = sent
    image = tracking_app.get(pixel, headers=TRACK, status=200)
    assert image.content_type == "image/png"
    assert "no-store" in image.headers["Cache-Control"]
    assert image.body.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", image.body[16:24])
    assert (width, height) == (1, 1)
    idat = image.body[33 + 8 : 33 + 8 + struct.unpack(">I", image.body[33:37])[0]]
    assert zlib.decompress(idat) == b"\x00\x00\x00"  # one fully transparent pixel

    click = tracking_app.get(links[0], headers=TRACK, status=307)
    assert click.headers["Location"] == "https://shop.example.org/sale?a=1&b=2"
    assert click.text == "Redirected to: https://shop.example.org/sale?a=1&b=2"

    dbsession.rollback()  # a new snapshot (MariaDB reads repeatably)
    message = dbsession.get(Message, outgoing.id)
    assert message.loaded_at is not None and message.clicked_at is not None
    [load] = dbsession.scalars(select(Load).where(Load.message_id == outgoing.id)).all()
    assert (load.ip_address, load.user_agent) == ("198.51.100.7", "MailClient/1.0")
    [row] = dbsession.scalars(select(Click).where(Click.message_id == outgoing.id)).all()
    link = dbsession.get(Link, row.link_id)
    assert link.token == links[0].rsplit("/", 1)[1]
    assert (row.ip_address, row.user_agent) == ("198.51.100.7", "MailClient/1.0")

    (loaded, seen_loaded), (clicked, seen_clicked) = tracking_app.recorder.events
    # Each event fired after its transaction committed.
    assert seen_loaded["loads"] == 1 and seen_clicked["clicks"] == 1
    assert loaded.name == "MessageLoaded" and clicked.name == "MessageLinkClicked"
    assert loaded.server_id == clicked.server_id == outgoing.server_id
    assert set(loaded.payload) == {"message", "ip_address", "user_agent"}
    assert clicked.payload["url"] == "https://shop.example.org/sale?a=1&b=2"
    assert clicked.payload["token"] == link.token
    assert (clicked.payload["ip_address"], clicked.payload["user_agent"]) == (
        "198.51.100.7", "MailClient/1.0",
    )  # fmt: skip
    assert set(clicked.payload["message"]) == {
        "id", "token", "direction", "message_id", "to", "from", "subject", "timestamp",
        "spam_status", "tag",
    }  # fmt: skip
    assert clicked.payload["message"]["token"] == outgoing.token
    assert clicked.payload["message"]["direction"] == "outgoing"


def test_tracking_first_load_time_is_kept(tracking_app, sent, dbsession):
    outgoing, _links, pixel = sent
    tracking_app.get(pixel, headers=TRACK)
    dbsession.rollback()  # a new snapshot (MariaDB reads repeatably)
    first = dbsession.get(Message, outgoing.id).loaded_at
    tracking_app.get(pixel, headers=TRACK)
    dbsession.rollback()  # a new snapshot (MariaDB reads repeatably)
    assert dbsession.get(Message, outgoing.id).loaded_at == first
    assert len(dbsession.scalars(select(Load).where(Load.message_id == outgoing.id)).all()) == 2


def test_tracking_unknown_tokens_never_redirect(tracking_app, sent, dbsession, app_settings):
    from tests.fixtures.sending import make_mail_server

    outgoing, links, pixel = sent
    server_token, link_token = links[0].strip("/").split("/")
    unknown = tracking_app.get(f"/{server_token}/{'x' * 16}", headers=TRACK, status=404)
    assert unknown.text == "Link not found" and "Location" not in unknown.headers
    # Only case-exact tokens count.
    tracking_app.get(f"/{server_token}/{link_token.swapcase()}", headers=TRACK, status=404)
    bad_server = tracking_app.get(f"/zzzzzz/{link_token}", headers=TRACK, status=404)
    assert bad_server.text == "Invalid Server Token" and "Location" not in bad_server.headers
    # Another server's token with this server's link is not a way in either.
    other = make_mail_server(dbsession, app_settings, name="other", domain="other.example")
    tracking_app.get(f"/{other.token}/{link_token}", headers=TRACK, status=404)
    tracking_app.get(f"/img/zzzzzz/{outgoing.token}", headers=TRACK, status=404)
    # An unknown message still gets its pixel, but nothing is recorded.
    tracking_app.get(f"/img/{server_token}/{'y' * 16}", headers=TRACK, status=200)
    assert tracking_app.recorder.events == []
    dbsession.rollback()  # a new snapshot (MariaDB reads repeatably)
    assert dbsession.scalars(select(Click)).all() == []
    assert dbsession.scalars(select(Load)).all() == []


def test_tracking_other_paths_and_image_proxy(tracking_app, sent):
    _outgoing, _links, pixel = sent
    assert tracking_app.get("/", headers=TRACK).text == "Hello."
    assert tracking_app.get("/login", headers=TRACK).text == "Hello."
    proxied = tracking_app.get(pixel + "?src=https://example.org/a.png", headers=TRACK, status=400)
    assert proxied.text == "Invalid/missing source image"


def test_tracking_requests_without_the_header_reach_the_application(tracking_app, sent):
    _outgoing, links, pixel = sent
    for path in (links[0], pixel):
        response = tracking_app.get(path, status="*")
        assert response.status_int != 307 and response.content_type != "image/png"
        assert "Location" not in response.headers
    tracking_app.get(links[0], headers={"X-Postal-Track-Host": "0"}, status=404)
    assert tracking_app.recorder.events == []


def test_tracking_tween_runs_before_everything_else(web_config):
    names = [name for name, _factory in web_config.registry.getUtility(ITweens).implicit()]
    assert names[0] == "plugins.tracking.serving.tracking_tween_factory"


def test_tracking_client_ip_honours_only_trusted_proxies(tracking_app, sent, dbsession):
    networks = trusted_networks(["203.0.113.0/24", "not-an-address"])
    assert client_ip("198.51.100.7", "1.2.3.4", networks) == "198.51.100.7"
    assert client_ip("127.0.0.1", "1.2.3.4", networks) == "1.2.3.4"
    assert client_ip("fd00::1", "1.2.3.4, 203.0.113.9", networks) == "1.2.3.4"
    assert client_ip("127.0.0.1", "9.9.9.9, 8.8.8.8", networks) == "8.8.8.8"
    assert client_ip("127.0.0.1", None, networks) == "127.0.0.1"
    assert client_ip("", "1.2.3.4", networks) == "1.2.3.4"  # unix socket
    assert client_ip("::ffff:198.51.100.7", None, networks) == "198.51.100.7"

    _outgoing, links, _pixel = sent
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    headers = {**TRACK, "X-Forwarded-For": "192.0.2.44"}
    tracking_app.get(links[1], headers=headers, extra_environ=environ, status=307)
    dbsession.rollback()  # a new snapshot (MariaDB reads repeatably)
    [click] = dbsession.scalars(select(Click)).all()
    assert click.ip_address == "192.0.2.44"
