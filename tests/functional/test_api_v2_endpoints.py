"""API v2: a server's HTTP, SMTP and address endpoints (every response checked by ``api``)."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select

from postal.config import configure
from postal.models import AdditionalRouteEndpoint, Route
from tests.fixtures.api_v2 import V2
from tests.fixtures.openapi import ApiClient


PUBLIC_URL = "https://93.184.215.14/inbound"


@pytest.fixture
def tenant(v2):
    headers, _org, server = v2.tenant()
    return headers, server


def path(server, kind) -> str:
    return f"/api/v2/servers/{server['uuid']}/{kind}-endpoints"


def test_http_endpoint_defaults_list_get_patch(api, tenant):
    headers, server = tenant
    body = {"name": "App", "url": "https://user:secret@93.184.215.14/in"}
    created = api.post(path(server, "http"), body, headers=headers, status=201).json
    assert created["type"] == "HTTPEndpoint" and created["server"] == server["uuid"]
    assert (created["encoding"], created["format"], created["timeout"]) == ("BodyAsJSON", "Hash", 5)
    assert (created["strip_replies"], created["include_attachments"]) == (False, True)
    assert created["url"] == "https://user:secret@93.184.215.14/in"
    listed = api.get(path(server, "http"), headers=headers).json
    assert listed["data"] == [created] and listed["meta"]["total"] == 1
    one = f"/api/v2/http-endpoints/{created['uuid']}"
    assert api.get(one, headers=headers).json == created
    changes = {"name": "Renamed", "encoding": "FormData", "format": "RawMessage",
               "strip_replies": True, "include_attachments": False, "timeout": 60}  # fmt: skip
    changed = api.patch(one, changes, headers=headers).json
    assert {key: changed[key] for key in changes} == changes
    assert changed["url"] == created["url"]  # untouched fields stay


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": PUBLIC_URL}, "name"),
        ({"name": "A"}, "url"),
        ({"name": "A", "url": "ftp://93.184.215.14/"}, "url"),
        ({"name": "A", "url": "not a url"}, "url"),
        ({"name": "A", "url": "http://127.0.0.1:8080/"}, "url"),  # loopback: SSRF refused
        ({"name": "A", "url": "http://localhost/"}, "url"),
        ({"name": "A", "url": PUBLIC_URL, "encoding": "XML"}, "encoding"),
        ({"name": "A", "url": PUBLIC_URL, "format": "Text"}, "format"),
        ({"name": "A", "url": PUBLIC_URL, "timeout": 4}, "timeout"),
        ({"name": "A", "url": PUBLIC_URL, "timeout": 61}, "timeout"),
        ({"name": "A", "url": PUBLIC_URL, "timeout": "5"}, "timeout"),
        ({"name": "A", "url": PUBLIC_URL, "strip_replies": "yes"}, "strip_replies"),
        ({"name": 5, "url": PUBLIC_URL}, "name"),
        ({"name": "  ", "url": PUBLIC_URL}, "name"),
        ({"name": "A", "url": PUBLIC_URL, "colour": "red"}, "colour"),
    ],
)
def test_http_endpoint_bad_input(api, tenant, body, field):
    headers, server = tenant
    response = api.post(path(server, "http"), body, headers=headers, status=422)
    assert response.json["error"]["field"] == field
    assert api.get(path(server, "http"), headers=headers).json["meta"]["total"] == 0


def test_http_endpoint_allowed_private_destination(api, app_settings, openapi_document, data):
    settings = {**app_settings, "postal.allowed_request_destinations": ["127.0.0.1"]}
    app = webtest.TestApp(configure(settings, role="web").make_wsgi_app())
    client = ApiClient(app, openapi_document)
    headers, _org, server = V2(client, data).tenant()
    body = {"name": "Local", "url": "http://127.0.0.1:8080/hook"}
    created = client.post(path(server, "http"), body, headers=headers, status=201).json
    # Where loopback is not allowed, a kept URL is not checked again; a new one is.
    one = f"/api/v2/http-endpoints/{created['uuid']}"
    assert api.patch(one, {"name": "Renamed"}, headers=headers).json["url"] == body["url"]
    changed = api.patch(one, {"url": "http://127.0.0.1:8081/"}, headers=headers, status=422)
    assert "a loopback address" in changed.json["error"]["message"]


def test_smtp_endpoint_rules(api, tenant):
    headers, server = tenant
    body = {"name": "Relay", "hostname": "MX.Example.COM"}
    created = api.post(path(server, "smtp"), body, headers=headers, status=201).json
    assert (created["hostname"], created["port"], created["ssl_mode"]) == (
        "mx.example.com", 25, "Auto",
    )  # fmt: skip
    one = f"/api/v2/smtp-endpoints/{created['uuid']}"
    changed = api.patch(one, {"port": 2525, "ssl_mode": "STARTTLS"}, headers=headers).json
    assert (changed["port"], changed["ssl_mode"], changed["name"]) == (2525, "STARTTLS", "Relay")
    for bad, field in [
        ({"hostname": "mx example"}, "hostname"),
        ({"hostname": "mx_1.example"}, "hostname"),
        ({"port": 0}, "port"),
        ({"port": 65536}, "port"),
        ({"port": 25.5}, "port"),
        ({"ssl_mode": "SSL"}, "ssl_mode"),
        ({"ssl_mode": "STARTLS"}, "ssl_mode"),  # Postal's misspelling is not accepted
        ({"name": None}, "name"),
    ]:
        assert api.patch(one, bad, headers=headers, status=422).json["error"]["field"] == field
    assert api.get(one, headers=headers).json == changed
    missing = api.post(path(server, "smtp"), {"name": "X"}, headers=headers, status=422)
    assert missing.json["error"]["field"] == "hostname"


def test_address_endpoint_rules(api, tenant, v2):
    headers, server = tenant
    created = api.post(path(server, "address"), {"address": "Team@Example.com"},
                       headers=headers, status=201).json  # fmt: skip
    assert created["address"] == created["name"] == "Team@Example.com"
    again = api.post(path(server, "address"), {"address": "team@example.com"},
                     headers=headers, status=409)  # fmt: skip
    assert again.json["error"]["field"] == "address"
    for bad in ({"address": "nobody"}, {"address": "@example.com"}, {"address": "a b@c.d"}, {}):
        api.post(path(server, "address"), bad, headers=headers, status=422)
    api.post(path(server, "address"), {"name": "x", "address": "a@b.c"}, headers=headers,
             status=422)  # fmt: skip
    # The same address on another server is fine: uniqueness is per server.
    _org_headers, _org, other = v2.tenant()
    api.post(path(other, "address"), {"address": "team@example.com"}, headers=_org_headers,
             status=201)  # fmt: skip
    one = f"/api/v2/address-endpoints/{created['uuid']}"
    assert api.patch(one, {"address": "Team@example.com"}, headers=headers).json["address"] == (
        "Team@example.com"
    )  # its own address does not clash with itself


def test_bad_bodies(api, tenant):
    headers, server = tenant
    api.post(path(server, "http"), body=b"{nope", headers=headers, status=400)
    api.post(path(server, "smtp"), body=b"[]", headers=headers, status=400)
    api.get(path(server, "http") + "?page=0", headers=headers, status=422)
    api.get(path(server, "http"), status=401)


def test_delete_switches_routes_to_reject(api, tenant, v2, data, dbsession):
    headers, server = tenant
    _admin, admin_headers = data.auth(admin=True)
    domain = v2.domain(admin_headers, server, "in.example", verified=True)
    http = api.post(path(server, "http"), {"name": "A", "url": PUBLIC_URL}, headers=headers).json
    spare = api.post(path(server, "http"), {"name": "B", "url": PUBLIC_URL}, headers=headers).json
    routes = f"/api/v2/servers/{server['uuid']}/routes"
    ref = {"type": "HTTPEndpoint", "uuid": http["uuid"]}
    first = api.post(routes, {"name": "a", "domain": domain["uuid"], "endpoint": ref},
                     headers=headers).json  # fmt: skip
    second = api.post(routes, {"name": "b", "domain": domain["uuid"],
                               "endpoint": {"type": "HTTPEndpoint", "uuid": spare["uuid"]},
                               "additional_endpoints": [ref]}, headers=headers).json  # fmt: skip
    api.delete(f"/api/v2/http-endpoints/{http['uuid']}", headers=headers, status=204)
    api.get(f"/api/v2/http-endpoints/{http['uuid']}", headers=headers, status=404)
    first = api.get(f"/api/v2/routes/{first['uuid']}", headers=headers).json
    assert (first["mode"], first["endpoint"]) == ("Reject", None)
    second = api.get(f"/api/v2/routes/{second['uuid']}", headers=headers).json
    assert second["mode"] == "Endpoint" and second["additional_endpoints"] == []
    assert second["endpoint"]["uuid"] == spare["uuid"]
    assert dbsession.scalars(select(AdditionalRouteEndpoint)).all() == []
    assert len(dbsession.scalars(select(Route)).all()) == 2


@pytest.mark.parametrize("kind", ["http", "smtp", "address"])
def test_tenant_isolation(api, tenant, v2, kind):
    headers, server = tenant
    body = {"http": {"name": "A", "url": PUBLIC_URL},
            "smtp": {"name": "A", "hostname": "mx.example"},
            "address": {"address": "a@example.com"}}[kind]  # fmt: skip
    created = api.post(path(server, kind), body, headers=headers, status=201).json
    one = f"/api/v2/{kind}-endpoints/{created['uuid']}"
    stranger, _org, _server = v2.tenant()
    api.get(path(server, kind), headers=stranger, status=404)
    api.post(path(server, kind), body, headers=stranger, status=404)
    api.get(one, headers=stranger, status=404)
    api.patch(one, {}, headers=stranger, status=404)
    api.delete(one, headers=stranger, status=404)
    api.get(one, headers=headers, status=200)  # still there
    api.get(f"/api/v2/{kind}-endpoints/no-such-uuid", headers=headers, status=404)
    # Another kind's path does not find it either.
    other = "smtp" if kind != "smtp" else "http"
    api.get(f"/api/v2/{other}-endpoints/{created['uuid']}", headers=headers, status=404)


def test_members_may_manage_endpoints(api, tenant, v2):
    headers, server = tenant
    organization = api.get(f"/api/v2/servers/{server['uuid']}", headers=headers).json
    org = {"uuid": organization["organization"]["uuid"]}
    _user, member = v2.member(headers, org, role="member")
    created = api.post(path(server, "smtp"), {"name": "M", "hostname": "mx.example"},
                       headers=member, status=201).json  # fmt: skip
    api.delete(f"/api/v2/smtp-endpoints/{created['uuid']}", headers=member, status=204)
