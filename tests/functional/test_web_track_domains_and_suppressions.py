"""Web UI track domains (add, DNS check, switches, excluded click domains, delete) and the
suppression list (list, add, refresh, remove)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from postal.models import Domain, Suppression, TrackDomain, utcnow
from tests.fixtures.web_server import refused_without_token


@pytest.fixture
def web_settings(web_settings, dns_server):
    return {**web_settings, "dns.nameservers": [("127.0.0.1", dns_server.port)],
            "dns.track_domain": "track.postal.test"}  # fmt: skip


def fresh(dbsession, model, *conditions):
    dbsession.rollback()  # see the application's commits (MariaDB: repeatable read)
    return list(dbsession.scalars(select(model).where(*conditions)))


def add_domain(web, dbsession, name="example.com", verified=True) -> Domain:
    web.post(web.base + "/domains", {"name": name})
    if verified:
        dbsession.execute(update(Domain).where(Domain.name == name).values(verified_at=utcnow()))
        dbsession.commit()
    return fresh(dbsession, Domain, Domain.name == name)[0]


def test_track_domains(server_owner, dbsession, dns_server):
    web, path = server_owner, server_owner.base + "/track-domains"
    assert "Add and verify a domain first" in web.app.get(path).text
    domain = add_domain(web, dbsession)
    add_domain(web, dbsession, "unverified.example", verified=False)
    page = web.app.get(path).text
    assert "example.com</option>" in page and "unverified.example</option>" not in page

    refused_without_token(web, path, {"name": "track", "domain": domain.uuid})
    response = web.post(path, {"name": "click", "domain": domain.uuid})
    assert "DNS is Missing" in response.follow().text
    (track,) = fresh(dbsession, TrackDomain)
    assert (track.full_name, track.dns_status) == ("click.example.com", "Missing")
    assert track.ssl_enabled and track.track_clicks and track.track_loads
    assert "There is no record at click.example.com" in web.app.get(path).text

    for fields, words in (
        ({"name": "Not_valid", "domain": domain.uuid}, "single label"),
        ({"name": "other", "domain": domain.uuid}, "already has a track domain"),
        ({"name": "x", "domain": "no-such-uuid"}, "must be the uuid of a domain"),
    ):
        assert words in web.post(path, fields, status=200).text, words
    assert len(fresh(dbsession, TrackDomain)) == 1

    item = f"{path}/{track.uuid}"
    dns_server.add("click.example.com", "CNAME", "elsewhere.test.")
    assert "points to elsewhere.test" in web.post(item + "/check").follow().text
    refused_without_token(web, item + "/check")
    refused_without_token(web, item, {"track_clicks": "1"})
    web.post(
        item,
        {
            "track_loads": "1",
            "excluded_click_domains": "Shop.Example.com\n\nblog.example.com:8080\n",
        },
    )
    (track,) = fresh(dbsession, TrackDomain)
    assert (track.ssl_enabled, track.track_clicks, track.track_loads) == (False, False, True)
    assert track.excluded_click_domains == "shop.example.com\nblog.example.com:8080"
    bad = web.post(item, {"track_clicks": "1", "excluded_click_domains": "two words"})
    assert "must be host names" in bad.follow().text
    (track,) = fresh(dbsession, TrackDomain)
    assert track.track_clicks is False  # nothing saved from the refused form
    refused_without_token(web, item + "/delete")
    web.post(item + "/delete")
    assert fresh(dbsession, TrackDomain) == []


def test_track_domain_dns_ok(server_owner, dbsession, dns_server):
    web, path = server_owner, server_owner.base + "/track-domains"
    domain = add_domain(web, dbsession)
    dns_server.add("track.example.com", "CNAME", "track.postal.test.")
    web.post(path, {"name": "track", "domain": domain.uuid})
    (track,) = fresh(dbsession, TrackDomain)
    assert track.dns_status == "OK"
    assert "The CNAME record is correct" in web.post(f"{path}/{track.uuid}/check").follow().text


def test_suppressions(server_owner, dbsession):
    web, path, server = server_owner, server_owner.base + "/suppressions", server_owner.server
    assert "No addresses are suppressed" in web.app.get(path).text
    refused_without_token(web, path, {"address": "a@example.net", "days": "5"})
    web.post(path, {"address": "Bob@Example.net", "reason": "asked to stop", "days": "5"})
    (row,) = fresh(dbsession, Suppression)
    assert (row.address, row.reason, row.server_id) == (
        "bob@example.net",
        "asked to stop",
        server.id,
    )
    assert dt.timedelta(days=4, hours=23) < row.keep_until - utcnow() <= dt.timedelta(days=5)
    web.post(path, {"address": "bob@example.net", "days": "30"})  # refreshes the entry
    (row,) = fresh(dbsession, Suppression)
    assert row.reason == "added manually" and row.keep_until - utcnow() > dt.timedelta(days=29)
    for fields, words in (
        ({"address": "not-an-address", "days": "5"}, "must be an e-mail address"),
        ({"address": "a@example.net", "days": "0"}, "Days must be at least 1"),
        ({"address": "a@example.net", "days": "many"}, "Days must be a whole number"),
    ):
        assert words in web.post(path, fields, status=200).text, words
    expired = utcnow() - dt.timedelta(days=1)
    dbsession.add(
        Suppression(server_id=server.id, address="old@example.net",
                    reason="too many hard fails", keep_until=expired)
    )  # fmt: skip
    dbsession.commit()
    page = web.app.get(path).text
    assert "bob@example.net" in page and "too many hard fails" in page and "(expired)" in page
    refused_without_token(web, f"{path}/{row.uuid}/delete")
    web.post(f"{path}/{row.uuid}/delete")
    assert [r.address for r in fresh(dbsession, Suppression)] == ["old@example.net"]


def test_other_organisations_get_404(server_owner, stranger, dbsession):
    web, base, server = server_owner, server_owner.base, server_owner.server
    domain = add_domain(web, dbsession)
    track = TrackDomain(server_id=server.id, domain_id=domain.id, name="track")
    row = Suppression(server_id=server.id, address="x@example.net", reason="r")
    dbsession.add_all([track, row])
    dbsession.commit()
    other = stranger()
    for path in ("/track-domains", "/suppressions"):
        other.app.get(base + path, status=404)
    for path in (f"/track-domains/{track.uuid}", f"/track-domains/{track.uuid}/check",
                 f"/track-domains/{track.uuid}/delete", f"/suppressions/{row.uuid}/delete",
                 "/suppressions", "/track-domains"):  # fmt: skip
        other.post(
            base + path, {"address": "a@b.c", "days": "3", "domain": domain.uuid}, status=404
        )
    theirs = "/org/other/servers/theirs"
    other.post(f"{theirs}/track-domains/{track.uuid}/delete", status=404)
    other.post(f"{theirs}/suppressions/{row.uuid}/delete", status=404)
    # Nor can they build a track domain on acme's domain from their own server.
    page = other.post(f"{theirs}/track-domains", {"name": "t", "domain": domain.uuid}, status=200)
    assert "must be the uuid of a domain" in page.text
    assert len(fresh(dbsession, TrackDomain)) == 1 and len(fresh(dbsession, Suppression)) == 1
