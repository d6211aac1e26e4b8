"""API v2: a server's routes, their rules and their forwarding addresses."""

from __future__ import annotations

import smtplib

import pytest
from sqlalchemy import select

from postal.models import (
    Domain,
    HTTPEndpoint,
    Message,
    Organization,
    Route,
    SMTPEndpoint,
    utcnow,
)  # fmt: skip


PUBLIC_URL = "https://93.184.215.14/inbound"


class Tenant:
    """A tenant's server with a verified domain, an unverified one and one of each endpoint."""

    def __init__(self, api, v2, admin_headers):
        self.api = api
        self.headers, self.organization, self.server = v2.tenant()
        self.domain = v2.domain(admin_headers, self.server, "in.example", verified=True)
        self.unverified = v2.domain(self.headers, self.server, "new.example")
        self.http = self.endpoint("http", {"name": "App", "url": PUBLIC_URL})
        self.http2 = self.endpoint("http", {"name": "App 2", "url": PUBLIC_URL})
        self.smtp = self.endpoint("smtp", {"name": "Relay", "hostname": "mx.example"})
        self.address = self.endpoint("address", {"address": "team@example.com"})

    def endpoint(self, kind, body) -> dict:
        path = f"/api/v2/servers/{self.server['uuid']}/{kind}-endpoints"
        created = self.api.post(path, body, headers=self.headers, status=201).json
        return {"type": created["type"], "uuid": created["uuid"]}

    @property
    def path(self) -> str:
        return f"/api/v2/servers/{self.server['uuid']}/routes"

    def create(self, status=201, **body):
        return self.api.post(self.path, body, headers=self.headers, status=status)


@pytest.fixture
def admin_headers(data):
    return data.auth(admin=True)[1]


@pytest.fixture
def tenant(api, v2, admin_headers) -> Tenant:
    return Tenant(api, v2, admin_headers)


def test_create_list_get_patch_delete(api, tenant):
    created = tenant.create(name="Support", domain=tenant.domain["uuid"], endpoint=tenant.http,
                            additional_endpoints=[tenant.smtp, tenant.address]).json  # fmt: skip
    assert created["name"] == "support" and created["description"] == "support@in.example"
    assert (created["mode"], created["spam_mode"]) == ("Endpoint", "Mark")
    assert created["endpoint"] == {**tenant.http, "name": "App"}
    assert [e["type"] for e in created["additional_endpoints"]] == [
        "SMTPEndpoint",
        "AddressEndpoint",
    ]
    assert created["additional_endpoints"][1]["name"] == "team@example.com"
    assert created["forwarding_address"] == f"{created['token']}@routes.postal.test"
    assert len(created["token"]) == 8
    listed = api.get(tenant.path, headers=tenant.headers).json
    assert listed["data"] == [created] and listed["meta"]["total"] == 1
    one = f"/api/v2/routes/{created['uuid']}"
    assert api.get(one, headers=tenant.headers).json == created
    changed = api.patch(one, {"spam_mode": "Quarantine", "endpoint": tenant.http2,
                              "additional_endpoints": []}, headers=tenant.headers).json  # fmt: skip
    assert (
        changed["spam_mode"] == "Quarantine"
        and changed["endpoint"]["uuid"] == (tenant.http2["uuid"])
    )
    assert changed["additional_endpoints"] == [] and changed["token"] == created["token"]
    # Leaving Endpoint mode lets the endpoint go.
    held = api.patch(one, {"mode": "Hold"}, headers=tenant.headers).json
    assert (held["mode"], held["endpoint"]) == ("Hold", None)
    api.delete(one, headers=tenant.headers, status=204)
    api.get(one, headers=tenant.headers, status=404)


@pytest.mark.parametrize("mode", ["Accept", "Hold", "Bounce", "Reject"])
def test_modes_without_an_endpoint(tenant, mode):
    route = tenant.create(name="*", domain=tenant.domain["uuid"], mode=mode,
                          spam_mode="Fail").json  # fmt: skip
    assert (route["mode"], route["endpoint"], route["spam_mode"]) == (mode, None, "Fail")


def _bad(tenant):
    domain, http, smtp, address = tenant.domain["uuid"], tenant.http, tenant.smtp, tenant.address
    return [
        ({"domain": domain, "endpoint": http}, "name"),
        ({"name": "Bad Name", "domain": domain, "endpoint": http}, "name"),
        ({"name": "a+b", "domain": domain, "endpoint": http}, "name"),
        ({"name": "a_b", "domain": domain, "endpoint": http}, "name"),
        ({"name": "", "domain": domain, "endpoint": http}, "name"),
        ({"name": "a", "endpoint": http}, "domain"),
        ({"name": "a", "domain": tenant.unverified["uuid"], "endpoint": http}, "domain"),
        ({"name": "a", "domain": "no-such-domain", "endpoint": http}, "domain"),
        ({"name": "a", "domain": domain}, "endpoint"),
        ({"name": "a", "domain": domain, "mode": "Forward", "endpoint": http}, "mode"),
        ({"name": "a", "domain": domain, "spam_mode": "Drop", "endpoint": http}, "spam_mode"),
        ({"name": "a", "domain": domain, "mode": "Accept", "endpoint": http}, "endpoint"),
        ({"name": "a", "domain": domain, "endpoint": {"type": "Webhook", "uuid": "x"}},
         "endpoint"),
        ({"name": "a", "domain": domain, "endpoint": {"type": "HTTPEndpoint", "uuid": "x"}},
         "endpoint"),
        ({"name": "a", "domain": domain, "endpoint": {**smtp, "type": "HTTPEndpoint"}},
         "endpoint"),
        ({"name": "a", "domain": domain, "endpoint": "uuid"}, "endpoint"),
        ({"name": "a", "domain": domain, "endpoint": {**http, "extra": 1}}, "endpoint"),
        ({"name": "a", "domain": domain, "endpoint": http, "additional_endpoints": [http]},
         "additional_endpoints"),
        ({"name": "a", "domain": domain, "endpoint": http,
          "additional_endpoints": [smtp, smtp]}, "additional_endpoints"),
        ({"name": "a", "domain": domain, "endpoint": http, "additional_endpoints": smtp},
         "additional_endpoints"),
        ({"name": "a", "domain": domain, "mode": "Accept", "additional_endpoints": [smtp]},
         "additional_endpoints"),
        ({"name": "*", "domain": domain, "endpoint": http, "additional_endpoints": [smtp]},
         "additional_endpoints"),
        ({"name": "*", "domain": domain, "endpoint": http, "additional_endpoints": [address]},
         "additional_endpoints"),
        ({"name": "__returnpath__", "endpoint": smtp}, "endpoint"),
        ({"name": "__returnpath__", "mode": "Accept"}, "endpoint"),
        ({"name": "__returnpath__", "domain": domain, "endpoint": http}, "domain"),
        ({"name": "a", "domain": domain, "endpoint": http, "colour": "red"}, "colour"),
        ({"name": 7, "domain": domain, "endpoint": http}, "name"),
    ]  # fmt: skip


def test_bad_routes_are_refused_and_nothing_is_stored(api, tenant):
    for body, field in _bad(tenant):
        response = tenant.create(status=422, **body)
        assert response.json["error"]["field"] == field, body
    assert api.get(tenant.path, headers=tenant.headers).json["meta"]["total"] == 0
    api.post(tenant.path, body=b"{", headers=tenant.headers, status=400)
    api.post(tenant.path, body=b'"x"', headers=tenant.headers, status=400)
    api.get(tenant.path + "?per_page=500", headers=tenant.headers, status=422)
    api.get(tenant.path, status=401)


def test_wildcard_route_may_add_http_endpoints(tenant):
    route = tenant.create(name="*", domain=tenant.domain["uuid"], endpoint=tenant.smtp,
                          additional_endpoints=[tenant.http]).json  # fmt: skip
    assert route["endpoint"]["type"] == "SMTPEndpoint"
    assert [e["uuid"] for e in route["additional_endpoints"]] == [tenant.http["uuid"]]


def test_name_and_domain_are_unique_across_the_installation(api, v2, tenant, admin_headers):
    tenant.create(name="support", domain=tenant.domain["uuid"], endpoint=tenant.http)
    clash = tenant.create(status=409, name="support", domain=tenant.domain["uuid"],
                          mode="Accept").json  # fmt: skip
    org, server = tenant.organization["permalink"], tenant.server["permalink"]
    assert clash["error"]["message"] == (
        f"support@in.example is configured on the {org}/{server} mail server."
    )
    # Another server with the same domain name (an admin may add one) still clashes.
    headers, _org, other = v2.tenant()
    domain = v2.domain(admin_headers, other, "in.example", verified=True)
    path = f"/api/v2/servers/{other['uuid']}/routes"
    body = {"name": "support", "domain": domain["uuid"], "mode": "Accept"}
    api.post(path, body, headers=headers, status=201)  # a different domain row: no clash
    second = tenant.create(name="sales", domain=tenant.domain["uuid"], mode="Accept").json
    one = f"/api/v2/routes/{second['uuid']}"
    api.patch(one, {"name": "support"}, headers=tenant.headers, status=409)
    assert api.patch(one, {"name": "sales"}, headers=tenant.headers).json["name"] == "sales"


def test_one_return_path_route_per_server(api, v2, tenant, admin_headers):
    first = tenant.create(name="__returnpath__", endpoint=tenant.http).json
    assert (first["domain"], first["description"]) == (None, "Return Path")
    again = tenant.create(status=409, name="__returnpath__", endpoint=tenant.http2)
    assert again.json["error"]["message"] == "This server already has a __returnpath__ route."
    one = f"/api/v2/routes/{first['uuid']}"
    api.patch(one, {"mode": "Accept"}, headers=tenant.headers, status=422)
    assert (
        api.patch(one, {"endpoint": tenant.http2}, headers=tenant.headers).json["endpoint"]["uuid"]
        == tenant.http2["uuid"]
    )
    # Unlike Postal, another server may have its own.
    other = Tenant(api, v2, admin_headers)
    other.domain = None
    assert other.create(name="__returnpath__", endpoint=other.http).status_int == 201


def test_organisation_domains_may_be_used(tenant, dbsession):
    organization = dbsession.scalar(
        select(Organization).where(Organization.uuid == tenant.organization["uuid"])
    )
    domain = Domain(name="org.example", organization_id=organization.id, verified_at=utcnow(),
                    dkim_private_key="unused")  # fmt: skip
    dbsession.add(domain)
    dbsession.commit()
    route = tenant.create(name="info", domain=domain.uuid, mode="Accept").json
    assert route["description"] == "info@org.example" and route["domain"] == domain.uuid


def test_endpoints_of_other_servers_are_refused(api, v2, tenant, admin_headers):
    other = Tenant(api, v2, admin_headers)
    for body in (
        {"name": "a", "domain": tenant.domain["uuid"], "endpoint": other.http},
        {"name": "a", "domain": tenant.domain["uuid"], "endpoint": tenant.http,
         "additional_endpoints": [other.smtp]},
        {"name": "a", "domain": other.domain["uuid"], "endpoint": tenant.http},
    ):  # fmt: skip
        tenant.create(status=422, **body)


def test_tenant_isolation(api, v2, tenant, data):
    route = tenant.create(name="a", domain=tenant.domain["uuid"], endpoint=tenant.http).json
    one = f"/api/v2/routes/{route['uuid']}"
    stranger, _org, _server = v2.tenant()
    _user, outsider = data.auth()  # a user in no organisation at all
    for headers in (stranger, outsider):
        api.get(tenant.path, headers=headers, status=404)
        api.post(tenant.path, {"name": "b", "mode": "Accept"}, headers=headers, status=404)
        api.get(one, headers=headers, status=404)
        api.patch(one, {"mode": "Reject"}, headers=headers, status=404)
        api.delete(one, headers=headers, status=404)
    assert api.get(one, headers=tenant.headers).json == route
    api.get("/api/v2/routes/no-such-route", headers=tenant.headers, status=404)
    api.get(one, status=401)


def test_smtp_mail_to_a_route_made_through_the_api(api, tenant, smtp_server, dbsession):
    """The real SMTP server accepts mail for a route created through the API, and stores one
    message per endpoint, at the route's address and at its forwarding address."""
    route = tenant.create(name="support", domain=tenant.domain["uuid"], endpoint=tenant.http,
                          additional_endpoints=[tenant.smtp]).json  # fmt: skip
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.sendmail("x@remote.test", ["support+urgent@in.example"],
                        "Subject: hi\r\n\r\nhello\r\n")  # fmt: skip
        client.sendmail("x@remote.test", [route["forwarding_address"]],
                        "Subject: again\r\n\r\nhello\r\n")  # fmt: skip
    dbsession.commit()  # a fresh snapshot of what the SMTP server committed
    dbsession.expire_all()
    stored = dbsession.scalars(select(Message).order_by(Message.id)).all()
    row = dbsession.scalar(select(Route).where(Route.uuid == route["uuid"]))
    http = dbsession.scalar(select(HTTPEndpoint.id).where(HTTPEndpoint.uuid == tenant.http["uuid"]))
    smtp = dbsession.scalar(select(SMTPEndpoint.id).where(SMTPEndpoint.uuid == tenant.smtp["uuid"]))
    assert [(m.scope, m.rcpt_to, m.route_id, m.endpoint_type, m.endpoint_id) for m in stored] == [
        ("incoming", "support+urgent@in.example", row.id, "HTTPEndpoint", http),
        ("incoming", "support+urgent@in.example", row.id, "SMTPEndpoint", smtp),
        ("incoming", "support@in.example", row.id, "HTTPEndpoint", http),
        ("incoming", "support@in.example", row.id, "SMTPEndpoint", smtp),
    ]
    # Switched to Reject through the API, the SMTP server refuses the address at RCPT.
    api.patch(f"/api/v2/routes/{route['uuid']}", {"mode": "Reject"}, headers=tenant.headers)
    with smtplib.SMTP("127.0.0.1", smtp_server.port, timeout=10) as client:
        client.ehlo()
        client.mail("x@remote.test")
        assert client.rcpt("support@in.example") == (
            550, b"Route does not accept incoming messages"
        )  # fmt: skip
