"""The Routing tab: routes and HTTP, SMTP and address endpoints through the real forms."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from postal.models import (
    AdditionalRouteEndpoint,
    AddressEndpoint,
    Domain,
    HTTPEndpoint,
    Route,
    Server,
    SMTPEndpoint,
    utcnow,
)  # fmt: skip


BASE = "/org/acme/servers/main"
PUBLIC_URL = "https://93.184.215.14/inbound"


@pytest.fixture
def owner(browser, data, dbsession):
    """A signed-in owner of acme/main, which has the verified domain in.example."""
    user = data.user()
    browser.sign_in(user.email_address)
    browser.post("/org/new", {"name": "Acme"})
    browser.post("/org/acme/servers/new", {"name": "Main", "mode": "Live"})
    server = dbsession.scalar(select(Server).where(Server.permalink == "main"))
    domain = Domain(name="in.example", server_id=server.id, verified_at=utcnow(),
                    dkim_private_key="unused")  # fmt: skip
    dbsession.add(domain)
    dbsession.commit()
    browser.domain = domain
    return browser


def rows(dbsession, model):
    # A new transaction, so MariaDB's repeatable read shows what the app committed since.
    dbsession.commit()
    dbsession.expire_all()
    return dbsession.scalars(select(model).order_by(model.id)).all()


HTTP_FORM = {"name": "App", "url": PUBLIC_URL, "encoding": "FormData", "format": "Hash",
             "timeout": "10", "include_attachments": "1"}  # fmt: skip


def test_tabs_and_empty_pages(owner):
    page = owner.app.get(BASE)
    assert f'href="http://localhost{BASE}/routes"' in page.text and ">Routing<" in page.text
    for path, heading in [("/routes", "Routes"), ("/endpoints/http", "HTTP Endpoints"),
                          ("/endpoints/smtp", "SMTP Endpoints"),
                          ("/endpoints/address", "Address Endpoints")]:  # fmt: skip
        text = owner.app.get(BASE + path).text
        assert f"<h2>{heading}</h2>" in text and 'name="csrf_token"' in text
    owner.app.get(BASE + "/endpoints/ftp", status=404)


def test_http_endpoint_create_edit_delete(owner, dbsession):
    owner.post(BASE + "/endpoints/http", HTTP_FORM)
    (endpoint,) = rows(dbsession, HTTPEndpoint)
    assert (endpoint.encoding, endpoint.timeout, endpoint.include_attachments) == (
        "FormData", 10, True,
    )  # fmt: skip
    assert endpoint.strip_replies is False
    listing = owner.app.get(BASE + "/endpoints/http").text
    assert PUBLIC_URL in listing and "App" in listing
    one = f"{BASE}/endpoints/http/{endpoint.uuid}"
    assert 'value="10"' in owner.app.get(one).text
    owner.post(one, {**HTTP_FORM, "name": "Renamed", "strip_replies": "1", "timeout": "60"})
    (endpoint,) = rows(dbsession, HTTPEndpoint)
    assert (endpoint.name, endpoint.strip_replies, endpoint.timeout) == ("Renamed", True, 60)
    bad = owner.post(one, {**HTTP_FORM, "timeout": "61"}, status=200)
    assert "timeout must be a whole number of seconds from 5 to 60" in bad.text
    assert rows(dbsession, HTTPEndpoint)[0].timeout == 60
    owner.post(one + "/delete")
    assert rows(dbsession, HTTPEndpoint) == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "ftp://93.184.215.14/"}, "url must be an http:// or https:// URL"),
        ({"url": "http://127.0.0.1/"}, "a loopback address"),
        ({"name": ""}, "Give the endpoint a name."),
        ({"timeout": "abc"}, "Timeout must be a whole number."),
        ({"encoding": "XML"}, "encoding must be one of BodyAsJSON, FormData."),
    ],
)
def test_http_endpoint_errors_keep_the_input(owner, dbsession, fields, message):
    page = owner.post(BASE + "/endpoints/http", {**HTTP_FORM, **fields}, status=200)
    assert message in page.text and 'role="alert"' in page.text
    assert rows(dbsession, HTTPEndpoint) == []


def test_smtp_and_address_endpoints(owner, dbsession):
    owner.post(
        BASE + "/endpoints/smtp",
        {"name": "Relay", "hostname": "MX.Example", "port": "2525", "ssl_mode": "TLS"},
    )
    (smtp,) = rows(dbsession, SMTPEndpoint)
    assert (smtp.hostname, smtp.port, smtp.ssl_mode) == ("mx.example", 2525, "TLS")
    bad = owner.post(BASE + "/endpoints/smtp",
                     {"name": "X", "hostname": "mx", "port": "70000", "ssl_mode": "TLS"},
                     status=200)  # fmt: skip
    assert "port must be a whole number from 1 to 65535" in bad.text
    owner.post(BASE + "/endpoints/address", {"address": "team@example.com"})
    again = owner.post(BASE + "/endpoints/address", {"address": "TEAM@example.com"}, status=200)
    assert "already an address endpoint of this server" in again.text
    no_at = owner.post(BASE + "/endpoints/address", {"address": "team"}, status=200)
    assert "address must be an e-mail address" in no_at.text
    assert [a.address for a in rows(dbsession, AddressEndpoint)] == ["team@example.com"]


def test_route_create_edit_delete_and_forwarding_address(owner, dbsession):
    owner.post(BASE + "/endpoints/http", HTTP_FORM)
    owner.post(BASE + "/endpoints/smtp", {"name": "Relay", "hostname": "mx.example",
                                          "port": "25", "ssl_mode": "Auto"})  # fmt: skip
    (http,), (smtp,) = rows(dbsession, HTTPEndpoint), rows(dbsession, SMTPEndpoint)
    form = {"name": "Support", "domain": str(owner.domain.id),
            "target": f"HTTPEndpoint:{http.uuid}", "spam_mode": "Quarantine",
            "additional": f"SMTPEndpoint:{smtp.uuid}"}  # fmt: skip
    owner.post(BASE + "/routes", form)
    (route,) = rows(dbsession, Route)
    assert (route.name, route.mode, route.spam_mode, route.endpoint_id) == (
        "support", "Endpoint", "Quarantine", http.id,
    )  # fmt: skip
    assert [(e.endpoint_type, e.endpoint_id) for e in route.additional_endpoints] == [
        ("SMTPEndpoint", smtp.id)
    ]
    listing = owner.app.get(BASE + "/routes").text
    assert "support@in.example" in listing
    assert f"{route.token}@routes.postal.test" in listing
    one = f"{BASE}/routes/{route.uuid}"
    edit = owner.app.get(one).text
    assert f"{route.token}@routes.postal.test" in edit and "checked" in edit
    owner.post(one, {**form, "target": "Hold", "additional": []}, token_from=one)
    route = rows(dbsession, Route)[0]
    assert (route.mode, route.endpoint_type, route.additional_endpoints) == ("Hold", None, [])
    owner.post(one + "/delete")
    assert rows(dbsession, Route) == []


def test_route_errors(owner, dbsession):
    owner.post(BASE + "/endpoints/smtp", {"name": "Relay", "hostname": "mx.example",
                                          "port": "25", "ssl_mode": "Auto"})  # fmt: skip
    (smtp,) = rows(dbsession, SMTPEndpoint)
    domain = str(owner.domain.id)
    for form, message in [
        ({"name": "Bad Name", "domain": domain, "target": "Accept"}, "may contain only"),
        ({"name": "a", "domain": "", "target": "Accept"}, "Choose the domain"),
        ({"name": "a", "domain": domain, "target": ""}, "Choose what happens"),
        ({"name": "__returnpath__", "domain": "", "target": f"SMTPEndpoint:{smtp.uuid}"},
         "must be in Endpoint mode with an HTTP endpoint"),
        ({"name": "*", "domain": domain, "target": f"SMTPEndpoint:{smtp.uuid}",
          "additional": f"SMTPEndpoint:{smtp.uuid}"}, "already an endpoint of the route"),
        ({"name": "a", "domain": domain, "target": "Accept",
          "additional": f"SMTPEndpoint:{smtp.uuid}"}, "Only routes in Endpoint mode"),
        ({"name": "a", "domain": domain, "target": "HTTPEndpoint:nope"}, "of this server"),
        ({"name": "a", "domain": "999999", "target": "Accept"}, "domain must be a domain"),
        ({"name": "a", "domain": "abc", "target": "Accept"}, "domain must be a domain"),
        ({"name": "a", "domain": domain, "target": "Accept", "spam_mode": "Drop"},
         "spam_mode must be one of"),
    ]:  # fmt: skip
        page = owner.post(BASE + "/routes", {"spam_mode": "Mark", **form}, status=200)
        assert message in page.text, form
    assert rows(dbsession, Route) == []
    owner.post(BASE + "/routes", {"name": "a", "domain": domain, "target": "Accept",
                                  "spam_mode": "Mark"})  # fmt: skip
    clash = owner.post(BASE + "/routes", {"name": "a", "domain": domain, "target": "Reject",
                                          "spam_mode": "Mark"}, status=200)  # fmt: skip
    assert "a@in.example is configured on the acme/main mail server." in clash.text


def test_deleting_an_endpoint_rejects_its_routes(owner, dbsession):
    owner.post(BASE + "/endpoints/http", HTTP_FORM)
    owner.post(BASE + "/endpoints/address", {"address": "team@example.com"})
    (http,), (address,) = rows(dbsession, HTTPEndpoint), rows(dbsession, AddressEndpoint)
    owner.post(
        BASE + "/routes",
        {
            "name": "a",
            "domain": str(owner.domain.id),
            "target": f"HTTPEndpoint:{http.uuid}",
            "spam_mode": "Mark",
        },
    )
    owner.post(BASE + "/routes", {"name": "b", "domain": str(owner.domain.id),
                                  "target": f"HTTPEndpoint:{http.uuid}", "spam_mode": "Mark",
                                  "additional": f"AddressEndpoint:{address.uuid}"})  # fmt: skip
    assert "a@in.example" in owner.app.get(f"{BASE}/endpoints/http/{http.uuid}").text
    owner.post(f"{BASE}/endpoints/address/{address.uuid}/delete")
    assert rows(dbsession, AdditionalRouteEndpoint) == []
    response = owner.post(f"{BASE}/endpoints/http/{http.uuid}/delete")
    page = response.follow().text
    assert "Routes that used it now reject mail: a@in.example, b@in.example." in page
    assert [(r.name, r.mode, r.endpoint_id) for r in rows(dbsession, Route)] == [
        ("a", "Reject", None), ("b", "Reject", None),
    ]  # fmt: skip


def test_pages_need_access_and_csrf(owner, browser, data, dbsession):
    owner.post(BASE + "/endpoints/smtp", {"name": "Relay", "hostname": "mx.example",
                                          "port": "25", "ssl_mode": "Auto"})  # fmt: skip
    (smtp,) = rows(dbsession, SMTPEndpoint)
    # Without the CSRF token the form is refused and nothing changes.
    owner.app.post(f"{BASE}/endpoints/smtp/{smtp.uuid}/delete", status=400)
    assert len(rows(dbsession, SMTPEndpoint)) == 1
    stranger = data.user()
    owner.post("/logout", token_from="/settings")
    owner.sign_in(stranger.email_address)
    for path in ("/routes", "/endpoints/smtp", f"/endpoints/smtp/{smtp.uuid}"):
        owner.app.get(BASE + path, status=404)
    owner.post(f"{BASE}/endpoints/smtp/{smtp.uuid}/delete", status=404)
    assert len(rows(dbsession, SMTPEndpoint)) == 1
