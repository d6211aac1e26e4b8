"""Click and open tracking, outgoing side: ``postal_before_send`` rewrites links and adds the
open pixel, in a real unit of work on every database."""

from __future__ import annotations

import email
import re
from email.policy import default

import dkim
from sqlalchemy import select

from postal.dkim_keys import dkim_record
from postal.models import Link, Message, TrackDomain
from tests.fixtures.tracking import DKIM_KEY, before_send, html_message, store_outgoing


TRACKED = re.compile(r"https://click\.example\.com/([a-z]{6})/([A-Za-z0-9]{16})")


def html_of(raw: bytes) -> str:
    part = email.message_from_bytes(raw, policy=default).get_body(("html",))
    return part.get_content().replace("\r\n", "\n")


def text_of(raw: bytes) -> str:
    part = email.message_from_bytes(raw, policy=default).get_body(("plain",))
    return part.get_content().replace("\r\n", "\n")


def links_of(dbsession, message_id: int) -> dict[str, str]:
    dbsession.rollback()  # a new snapshot (MariaDB reads repeatably)
    rows = dbsession.scalars(select(Link).where(Link.message_id == message_id))
    return {row.token: row.url for row in rows}


def test_tracking_rewrite_html_links_and_pixel(dbsession, tracking_registry, tracked_server):
    outgoing = store_outgoing(dbsession, tracked_server.server, html_message())
    before_send(tracking_registry, outgoing)

    html = html_of(outgoing.raw)
    server_token, message_token = tracked_server.server.token, outgoing.token
    found = TRACKED.findall(html)
    assert [token for token, _link in found] == [server_token, server_token]
    links = links_of(dbsession, outgoing.id)
    # Stored as a browser follows them: the HTML entity is decoded.
    assert [links[link] for _server, link in found] == [
        "https://shop.example.org/sale?a=1&b=2",
        "http://blog.example.org/post",
    ]
    assert "shop.example.org" not in html and "Caf\u00e9 news" in html
    pixel = (
        f"<p class='ampimg' style='display:none;visibility:none;margin:0;padding:0;"
        f"line-height:0;'><img src='https://click.example.com/img/{server_token}/"
        f"{message_token}' alt=''></p></body>"
    )
    assert pixel in html
    # Plain-text links are left alone unless tracking.track_plain_text_links is on.
    assert text_of(outgoing.raw) == "Sale at https://shop.example.org/sale?a=1&b=2 today.\n"
    row = dbsession.get(Message, outgoing.id)
    assert (row.tracked_links, row.tracked_images, row.parsed) == (2, 1, True)

    # DKIM (trylast) signed the rewritten bytes.
    assert outgoing.raw.startswith(b"DKIM-Signature:")
    record = dkim_record(DKIM_KEY).encode()
    assert dkim.verify(outgoing.raw, dnsfunc=lambda name, timeout=5: record)


def test_tracking_rewrite_keeps_the_part_encoding(dbsession, tracking_registry, tracked_server):
    original = html_message()
    outgoing = store_outgoing(dbsession, tracked_server.server, original)
    before_send(tracking_registry, outgoing, only_tracking=True)
    parsed = email.message_from_bytes(outgoing.raw, policy=default)
    html_part = parsed.get_body(("html",))
    assert html_part["Content-Transfer-Encoding"] == "quoted-printable"
    assert html_part.get_content_charset() == "utf-8"
    assert max(len(line) for line in outgoing.raw.split(b"\r\n")) <= 78
    # Headers are kept byte for byte.
    assert outgoing.raw.split(b"\r\n\r\n")[0] == original.split(b"\r\n\r\n")[0]


def test_tracking_rewrite_notrack_links_are_cleaned(dbsession, tracking_registry, tracked_server):
    html = (
        '<html><body><a href="https+notrack://private.example.org/me">me</a>'
        "<a href='http+notrack://plain.example.org/'>plain</a></body></html>"
    )
    text = "See https+notrack://private.example.org/me\n"
    outgoing = store_outgoing(dbsession, tracked_server.server, html_message(html, text))
    before_send(tracking_registry, outgoing, only_tracking=True)
    new_html = html_of(outgoing.raw)
    assert 'href="https://private.example.org/me"' in new_html
    assert "href='http://plain.example.org/'" in new_html
    assert "+notrack" not in outgoing.raw.decode()
    assert text_of(outgoing.raw) == "See https://private.example.org/me\n"
    assert links_of(dbsession, outgoing.id) == {}
    assert dbsession.get(Message, outgoing.id).tracked_links == 0


def test_tracking_rewrite_honours_x_amp_skip(dbsession, tracking_registry, tracked_server):
    raw = html_message(X_AMP="skip")
    outgoing = store_outgoing(dbsession, tracked_server.server, raw)
    before_send(tracking_registry, outgoing, only_tracking=True)
    assert outgoing.raw == raw
    assert links_of(dbsession, outgoing.id) == {}
    assert dbsession.get(Message, outgoing.id).parsed is False


def test_tracking_rewrite_leaves_messages_without_html_byte_identical(
    dbsession, tracking_registry, tracked_server
):
    raw = html_message(html="", text="Visit https://shop.example.org/ now.\n")
    outgoing = store_outgoing(dbsession, tracked_server.server, raw)
    before_send(tracking_registry, outgoing, only_tracking=True)
    assert outgoing.raw == raw
    assert links_of(dbsession, outgoing.id) == {}


def test_tracking_rewrite_plain_text_links_when_enabled(dbsession, app_settings, tracked_server):
    from postal.config import configure

    settings = dict(app_settings, **{"tracking.track_plain_text_links": True})
    registry = configure(settings, role="worker").registry
    text = "Visit https://shop.example.org/a, or (https://blog.example.org/b).\n"
    outgoing = store_outgoing(dbsession, tracked_server.server, html_message("", text))
    before_send(registry, outgoing, only_tracking=True)
    new_text = text_of(outgoing.raw)
    tokens = [link for _server, link in TRACKED.findall(new_text)]
    # Sentence punctuation stays after the tracked URL.
    assert re.fullmatch(r"Visit \S+/[A-Za-z0-9]{16}, or \(\S+/[A-Za-z0-9]{16}\)\.\n", new_text)
    links = links_of(dbsession, outgoing.id)
    assert [links[t] for t in tokens] == [
        "https://shop.example.org/a",
        "https://blog.example.org/b",
    ]
    assert dbsession.get(Message, outgoing.id).tracked_images == 0


def test_tracking_rewrite_needs_a_track_domain_whose_dns_is_ok(
    dbsession, tracking_registry, tracked_server
):
    track_domain = dbsession.get(TrackDomain, tracked_server.track_domain_id)
    track_domain.dns_status = "Missing"
    dbsession.commit()
    raw = html_message()
    outgoing = store_outgoing(dbsession, tracked_server.server, raw)
    before_send(tracking_registry, outgoing, only_tracking=True)
    assert outgoing.raw == raw
    # Another sender domain of the same server is not tracked either.
    track_domain.dns_status = "OK"
    dbsession.commit()
    outgoing = store_outgoing(dbsession, tracked_server.server, raw)
    outgoing.sender_domain = "other.example"
    before_send(tracking_registry, outgoing, only_tracking=True)
    assert outgoing.raw == raw


def test_tracking_rewrite_switches_and_exclusions(dbsession, tracking_registry, tracked_server):
    track_domain = dbsession.get(TrackDomain, tracked_server.track_domain_id)
    track_domain.ssl_enabled = False
    track_domain.excluded_click_domains = "blog.example.org\nshop.example.org:8443"
    dbsession.commit()
    html = (
        '<html><body><a href="https://shop.example.org:8443/x">a</a>'
        '<a href="https://shop.example.org/y">b</a><a href="http://blog.example.org/">c</a>'
        "</body></html>"
    )
    outgoing = store_outgoing(dbsession, tracked_server.server, html_message(html))
    before_send(tracking_registry, outgoing, only_tracking=True)
    new_html = html_of(outgoing.raw)
    assert 'href="https://shop.example.org:8443/x"' in new_html
    assert 'href="http://blog.example.org/"' in new_html
    assert list(links_of(dbsession, outgoing.id).values()) == ["https://shop.example.org/y"]
    assert "src='http://click.example.com/img/" in new_html

    track_domain.track_clicks, track_domain.track_loads = False, False
    dbsession.commit()
    raw = html_message(html)
    outgoing = store_outgoing(dbsession, tracked_server.server, raw)
    before_send(tracking_registry, outgoing, only_tracking=True)
    assert outgoing.raw == raw


def test_tracking_rewrite_retry_keeps_the_same_links(dbsession, tracking_registry, tracked_server):
    raw = html_message()
    outgoing = store_outgoing(dbsession, tracked_server.server, raw)
    before_send(tracking_registry, outgoing, only_tracking=True)
    first = outgoing.raw
    outgoing.raw = raw
    before_send(tracking_registry, outgoing, only_tracking=True)
    assert outgoing.raw == first
    assert len(links_of(dbsession, outgoing.id)) == 2
