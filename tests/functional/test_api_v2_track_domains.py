"""API v2: a server's track domains, with their CNAME checked against a real DNS server."""

from __future__ import annotations

import pytest
import webtest

from plugins.tracking import check_all_track_domains
from postal.config import configure
from tests.fixtures.openapi import ApiClient


@pytest.fixture
def dns_settings(app_settings, dns_server):
    settings = dict(app_settings)
    settings["dns.nameservers"] = [("127.0.0.1", dns_server.port)]
    settings["dns.timeout"] = 2.0
    return settings


@pytest.fixture
def track_api(dns_settings, clean_tables, openapi_document):
    """An API client on an application whose resolver asks only ``dns_server``."""
    config = configure(dns_settings, role="web")
    return ApiClient(webtest.TestApp(config.make_wsgi_app()), openapi_document)


@pytest.fixture
def tenant(v2, data):
    """(headers, server, verified domain) of a tenant; admins add verified domains."""
    _admin, admin_headers = data.auth(admin=True)
    headers, _org, server = v2.tenant()
    domain = v2.domain(admin_headers, server, "shop.example", verified=True)
    return headers, server, domain


def path(server) -> str:
    return f"/api/v2/servers/{server['uuid']}/track-domains"


def test_create_checks_the_cname_and_lists(track_api, tenant, dns_server):
    headers, server, domain = tenant
    dns_server.add("click.shop.example", "CNAME", "track.postal.test.")
    body = {"name": "click", "domain": domain["uuid"], "excluded_click_domains": ["Docs.Example"]}
    created = track_api.post(path(server), body, headers=headers, status=201).json
    assert created["full_name"] == "click.shop.example"
    assert created["dns_status"] == "OK" and created["dns_error"] is None
    assert created["dns_record"] == {
        "type": "CNAME", "name": "click.shop.example", "value": "track.postal.test",
    }  # fmt: skip
    assert (created["ssl_enabled"], created["track_clicks"], created["track_loads"]) == (
        True, True, True,
    )  # fmt: skip
    assert created["excluded_click_domains"] == ["docs.example"]
    assert created["domain"] == domain["uuid"] and created["server"] == server["uuid"]
    listed = track_api.get(path(server), headers=headers).json
    assert listed["data"] == [created] and listed["meta"]["total"] == 1


def test_missing_and_wrong_cnames(track_api, tenant, dns_server):
    headers, server, domain = tenant
    created = track_api.post(path(server), {"domain": domain["uuid"]}, headers=headers).json
    assert created["name"] == "track" and created["dns_status"] == "Missing"
    assert created["dns_error"] == "There is no record at track.shop.example"

    dns_server.add("track.shop.example", "CNAME", "elsewhere.example.")
    check = f"/api/v2/track-domains/{created['uuid']}/check-dns"
    checked = track_api.post(check, headers=headers).json
    assert checked["dns_status"] == "Invalid"
    assert checked["dns_error"] == (
        "There is a CNAME record at track.shop.example but it points to elsewhere.example "
        "which is incorrect. It should point to track.postal.test."
    )


def test_patch_get_and_delete(track_api, tenant):
    headers, server, domain = tenant
    created = track_api.post(path(server), {"domain": domain["uuid"]}, headers=headers).json
    one = f"/api/v2/track-domains/{created['uuid']}"
    changes = {
        "ssl_enabled": False,
        "track_loads": False,
        "excluded_click_domains": ["a.example:8080"],
    }
    patched = track_api.patch(one, changes, headers=headers).json
    assert (patched["ssl_enabled"], patched["track_clicks"], patched["track_loads"]) == (
        False, True, False,
    )  # fmt: skip
    assert patched["excluded_click_domains"] == ["a.example:8080"]
    assert track_api.get(one, headers=headers).json == patched
    track_api.delete(one, headers=headers, status=204)
    track_api.get(one, headers=headers, status=404)
    assert track_api.get(path(server), headers=headers).json["data"] == []


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "Two.Labels", "domain": "DOMAIN"}, "name"),
        ({"name": "-bad", "domain": "DOMAIN"}, "name"),
        ({"name": "track"}, "domain"),
        ({"domain": "DOMAIN", "excluded_click_domains": "a.example"}, "excluded_click_domains"),
        ({"domain": "DOMAIN", "track_clicks": "yes"}, "track_clicks"),
        ({"domain": "DOMAIN", "colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422(track_api, tenant, body, field):
    headers, server, domain = tenant
    body = {k: domain["uuid"] if v == "DOMAIN" else v for k, v in body.items()}
    response = track_api.post(path(server), body, headers=headers, status=422)
    assert response.json["error"]["field"] == field


def test_domain_must_be_the_servers_and_verified(track_api, tenant, v2, data):
    headers, server, _domain = tenant
    unverified = v2.domain(headers, server, "new.example")
    response = track_api.post(
        path(server), {"domain": unverified["uuid"]}, headers=headers, status=422
    )
    assert response.json["error"]["message"] == "new.example has not been verified yet."
    other_headers, _org, other_server = v2.tenant()
    _admin, admin_headers = data.auth(admin=True)
    foreign = v2.domain(admin_headers, other_server, "foreign.example", verified=True)
    track_api.post(path(server), {"domain": foreign["uuid"]}, headers=headers, status=422)


def test_one_track_domain_per_domain_and_server(track_api, tenant):
    headers, server, domain = tenant
    track_api.post(path(server), {"domain": domain["uuid"]}, headers=headers, status=201)
    body = {"name": "other", "domain": domain["uuid"]}
    conflict = track_api.post(path(server), body, headers=headers, status=409)
    assert conflict.json["error"]["code"] == "conflict"


def test_other_tenants_see_nothing(track_api, tenant, v2):
    headers, server, domain = tenant
    created = track_api.post(path(server), {"domain": domain["uuid"]}, headers=headers).json
    stranger, _org, _server = v2.tenant()
    track_api.get(path(server), headers=stranger, status=404)
    track_api.post(path(server), {"domain": domain["uuid"]}, headers=stranger, status=404)
    for method in ("get", "delete"):
        getattr(track_api, method)(
            f"/api/v2/track-domains/{created['uuid']}", headers=stranger, status=404
        )
    track_api.get(path(server), status=401)


def test_hourly_check_of_every_track_domain(track_api, tenant, dns_server, dns_settings):
    headers, server, domain = tenant
    created = track_api.post(path(server), {"domain": domain["uuid"]}, headers=headers).json
    assert created["dns_status"] == "Missing"
    dns_server.add("track.shop.example", "CNAME", "track.postal.test.")
    registry = configure(dns_settings, role="worker").registry
    assert check_all_track_domains(registry) == 1
    one = f"/api/v2/track-domains/{created['uuid']}"
    assert track_api.get(one, headers=headers).json["dns_status"] == "OK"
