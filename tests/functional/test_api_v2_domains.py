"""API v2 domains: DKIM keys, the records to publish, verification and DNS checks against a
real DNS server on loopback."""

from __future__ import annotations

import pytest
import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from postal import hookimpl
from postal.config import configure
from postal.models import Domain
from tests.fixtures.openapi import ApiClient


VERIFY_FAILED = (
    "We couldn't verify your domain. Please double check you've added the TXT record correctly."
)


def error(response, code: str, field: str | None = None) -> dict:
    body = response.json["error"]
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


def domains_of(server) -> str:
    return f"/api/v2/servers/{server['uuid']}/domains"


class EventRecorder:
    """A plugin that records each event with what another connection sees at that moment."""

    def __init__(self, engine):
        self.engine = engine
        self.events = []

    @hookimpl
    def postal_event(self, event):
        with Session(self.engine) as session:
            row = session.scalar(select(Domain).where(Domain.uuid == event.payload.get("uuid")))
            committed = row.spf_status if row is not None else None
        self.events.append((event, committed))


@pytest.fixture
def dns_api(app_settings, clean_tables, dns_server, openapi_document, dbengine):
    """An API client on an application whose resolver asks only ``dns_server``."""
    settings = dict(app_settings)
    settings["dns.nameservers"] = [("127.0.0.1", dns_server.port)]
    settings["dns.timeout"] = 2.0
    config = configure(settings, role="web")
    recorder = EventRecorder(dbengine)
    config.registry["postal.plugin_manager"].register(recorder, name="test-event-recorder")
    client = ApiClient(webtest.TestApp(config.make_wsgi_app()), openapi_document)
    client.events = recorder.events
    return client


# --- Creating ---------------------------------------------------------------------------


def test_a_new_domain_shows_every_record_to_publish(api, v2, data):
    headers, _org, server = v2.tenant()
    response = api.post(domains_of(server), {"name": "Example.COM."}, headers=headers)
    assert response.status_int == 201
    domain = response.json
    assert (domain["name"], domain["verified"], domain["verified_at"]) == (
        "example.com",
        False,
        None,
    )
    assert domain["server"] == server["uuid"] and domain["verification_method"] == "DNS"
    selector = domain["dkim_selector"]
    assert selector.startswith("postal-") and len(selector) == len("postal-") + 6
    records = domain["dns_records"]
    assert [r["purpose"] for r in records] == [
        "verification",
        "spf",
        "dkim",
        "return_path",
        "mx",
        "mx",
    ]
    verification, spf, dkim, return_path, mx1, mx2 = records
    assert verification["type"] == "TXT" and verification["name"] == "example.com"
    assert verification["value"].startswith("postal-verification ")
    assert len(verification["value"].split()[1]) == 32
    assert spf == {
        "purpose": "spf",
        "type": "TXT",
        "name": "example.com",
        "value": "v=spf1 a mx include:spf.postal.test ~all",
    }
    assert dkim["type"] == "TXT" and dkim["name"] == f"{selector}._domainkey.example.com"
    assert dkim["value"].startswith("v=DKIM1; t=s; h=sha256; p=") and dkim["value"].endswith(";")
    assert return_path == {
        "purpose": "return_path",
        "type": "CNAME",
        "name": "psrp.example.com",
        "value": "rp.postal.test",
    }
    assert mx1 == {
        "purpose": "mx",
        "type": "MX",
        "name": "example.com",
        "value": "mx1.postal.test",
        "priority": 10,
    }
    assert mx2["value"] == "mx2.postal.test"
    assert domain["dns_checks"]["spf"] == {"status": None, "error": None}
    assert domain["dns_ok"] is False and domain["dns_checked_at"] is None


def test_each_domain_gets_its_own_dkim_key(api, v2):
    headers, _org, server = v2.tenant()
    first = v2.domain(headers, server, "one.example")
    second = v2.domain(headers, server, "two.example")
    dkim = lambda d: next(r for r in d["dns_records"] if r["purpose"] == "dkim")  # noqa: E731
    assert dkim(first)["value"] != dkim(second)["value"]
    assert first["dkim_selector"] != second["dkim_selector"]


def test_admins_add_verified_domains(api, v2, data):
    _admin, admin = data.auth(admin=True)
    server = v2.server(admin, v2.organization(admin))
    domain = v2.domain(admin, server, verified=True)
    assert domain["verified"] is True and domain["verified_at"] is not None
    assert "verification" not in [r["purpose"] for r in domain["dns_records"]]
    assert {r["purpose"] for r in domain["dns_records"]} == {"spf", "dkim", "return_path", "mx"}


def test_non_admins_may_not_add_verified_domains(api, v2):
    headers, _org, server = v2.tenant()
    body = {"name": "example.com", "verified": True}
    error(api.post(domains_of(server), body, headers=headers, status=403), "forbidden", "verified")
    assert api.get(domains_of(server), headers=headers).json["data"] == []


def test_internationalised_names_are_stored_as_punycode(api, v2):
    headers, _org, server = v2.tenant()
    domain = v2.domain(headers, server, "Bücher.Example")
    assert domain["name"] == "xn--bcher-kva.example"


def test_duplicates_are_409_per_server(api, v2):
    headers, org, server = v2.tenant()
    v2.domain(headers, server, "example.com")
    again = api.post(domains_of(server), {"name": "EXAMPLE.com"}, headers=headers, status=409)
    error(again, "conflict", "name")
    other_server = v2.server(headers, org, name="Other")
    assert v2.domain(headers, other_server, "example.com")["name"] == "example.com"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 42}, "name"),
        ({"name": "localhost"}, "name"),
        ({"name": "-bad.example"}, "name"),
        ({"name": "a..example"}, "name"),
        ({"name": "under_score.example"}, "name"),
        ({"name": ("a" * 64) + ".example"}, "name"),
        ({"name": "example.com", "verified": "yes"}, "verified"),
        ({"name": "example.com", "dkim": "mine"}, "dkim"),
    ],
)
def test_bad_domains_are_422(api, v2, body, field):
    headers, _org, server = v2.tenant()
    response = api.post(domains_of(server), body, headers=headers, status=422)
    error(response, "validation_failed", field)


def test_invalid_json_is_400(api, v2):
    headers, _org, server = v2.tenant()
    response = api.post(domains_of(server), body=b"name=example.com", headers=headers, status=400)
    error(response, "invalid_json")


# --- Reading, listing, deleting ---------------------------------------------------------


def test_get_list_and_delete(api, v2):
    headers, _org, server = v2.tenant()
    for name in ["b.example", "a.example", "c.example"]:
        v2.domain(headers, server, name)
    page = api.get(f"{domains_of(server)}?per_page=2", headers=headers).json
    assert [d["name"] for d in page["data"]] == ["a.example", "b.example"]
    assert page["meta"] == {"page": 1, "per_page": 2, "total": 3}
    first = page["data"][0]
    path = f"/api/v2/domains/{first['uuid']}"
    assert api.get(path, headers=headers).json == first
    api.delete(path, headers=headers, status=204)
    error(api.get(path, headers=headers, status=404), "not_found")
    assert api.get(domains_of(server), headers=headers).json["meta"]["total"] == 2


def test_members_manage_domains(api, v2):
    owner, org, server = v2.tenant()
    _member, member = v2.member(owner, org)
    domain = v2.domain(member, server)
    assert api.get(f"/api/v2/domains/{domain['uuid']}", headers=owner).json == domain


def test_unknown_domain_and_unauthenticated(api, v2):
    headers, _org, server = v2.tenant()
    missing = "/api/v2/domains/00000000-0000-0000-0000-000000000000"
    for method in ("GET", "DELETE"):
        error(api.request(method, missing, headers=headers, status=404), "not_found")
    for action in ("verify", "check-dns"):
        error(api.post(f"{missing}/{action}", headers=headers, status=404), "not_found")
    error(api.get(domains_of(server), status=401), "unauthenticated")
    error(api.post(domains_of(server), {"name": "x.example"}, status=401), "unauthenticated")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("DELETE", ""), ("POST", "/verify"), ("POST", "/check-dns")],
)
def test_another_tenants_domain_is_404(api, v2, data, method, suffix):
    owner, _org, server = v2.tenant()
    domain = v2.domain(owner, server)
    _stranger, stranger = data.auth()
    path = f"/api/v2/domains/{domain['uuid']}{suffix}"
    error(api.request(method, path, headers=stranger, status=404), "not_found")
    assert api.get(f"/api/v2/domains/{domain['uuid']}", headers=owner).json == domain


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("POST", {"name": "x.example"})])
def test_another_tenants_server_domains_are_404(api, v2, data, method, body):
    owner, _org, server = v2.tenant()
    _stranger, stranger = data.auth()
    path = domains_of(server)
    error(api.request(method, path, json=body, headers=stranger, status=404), "not_found")
    assert api.get(path, headers=owner).json["data"] == []


def test_wrong_method_is_405(testapp, v2):
    headers, _org, server = v2.tenant()
    domain = v2.domain(headers, server)
    response = testapp.get(f"/api/v2/domains/{domain['uuid']}/verify", headers=headers, status=405)
    assert response.json["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "POST"


# --- Verification and DNS checks through real DNS ----------------------------------------


def test_verification_by_txt_record(dns_api, v2, dns_server):
    headers, _org, server = v2.tenant()
    domain = v2.domain(headers, server, "verify.example")
    verify = f"/api/v2/domains/{domain['uuid']}/verify"
    failed = dns_api.post(verify, headers=headers, status=422)
    assert error(failed, "verification_failed")["message"] == VERIFY_FAILED

    record = next(r for r in domain["dns_records"] if r["purpose"] == "verification")
    dns_server.add("verify.example", "TXT", "v=spf1 -all")
    dns_server.add("verify.example", "TXT", "postal-verification wrong-token")
    dns_api.post(verify, headers=headers, status=422)
    dns_server.add("verify.example", "TXT", record["value"])
    verified = dns_api.post(verify, headers=headers).json
    assert verified["verified"] is True and verified["verified_at"] is not None
    assert "verification" not in [r["purpose"] for r in verified["dns_records"]]
    assert dns_api.get(f"/api/v2/domains/{domain['uuid']}", headers=headers).json == verified
    # Verifying again is harmless, even once the record is gone.
    dns_server.clear()
    assert dns_api.post(verify, headers=headers).json == verified


def test_verification_needs_the_record_at_the_apex(dns_api, v2, dns_server):
    headers, _org, server = v2.tenant()
    domain = v2.domain(headers, server, "apex.example")
    record = next(r for r in domain["dns_records"] if r["purpose"] == "verification")
    dns_server.add("www.apex.example", "TXT", record["value"])
    dns_api.post(f"/api/v2/domains/{domain['uuid']}/verify", headers=headers, status=422)


def test_check_dns_stores_postal_texts_and_fires_dns_error_after_commit(dns_api, v2, data):
    _admin, admin = data.auth(admin=True)
    server = v2.server(admin, v2.organization(admin))
    domain = v2.domain(admin, server, "broken.example", verified=True)
    checked = dns_api.post(f"/api/v2/domains/{domain['uuid']}/check-dns", headers=admin).json
    selector = domain["dkim_selector"]
    assert checked["dns_checks"] == {
        "spf": {"status": "Missing", "error": "No SPF record exists for this domain"},
        "dkim": {
            "status": "Missing",
            "error": f"No TXT records were returned for {selector}._domainkey.broken.example",
        },
        "mx": {"status": "Missing", "error": "There are no MX records for broken.example"},
        "return_path": {
            "status": "Missing",
            "error": "There is no return path record at psrp.broken.example",
        },
    }
    assert checked["dns_ok"] is False and checked["dns_checked_at"] is not None
    assert dns_api.get(f"/api/v2/domains/{domain['uuid']}", headers=admin).json == checked

    [(event, committed_spf_status)] = dns_api.events
    assert event.name == "DomainDNSError"
    # The listener ran after commit: another connection already saw the stored statuses.
    assert committed_spf_status == "Missing"
    assert event.payload["uuid"] == domain["uuid"] and event.payload["domain"] == "broken.example"
    assert event.payload["server"]["uuid"] == server["uuid"]
    assert event.payload["spf_error"] == "No SPF record exists for this domain"


def test_check_dns_with_every_record_published(dns_api, v2, dns_server, data):
    _admin, admin = data.auth(admin=True)
    server = v2.server(admin, v2.organization(admin))
    domain = v2.domain(admin, server, "good.example", verified=True)
    for record in domain["dns_records"]:
        value = record["value"]
        if record["type"] == "MX":
            value = f"{record['priority']} {value}."
        elif record["type"] == "CNAME":
            value += "."
        dns_server.add(record["name"], record["type"], value)
    checked = dns_api.post(f"/api/v2/domains/{domain['uuid']}/check-dns", headers=admin).json
    assert {name: check["status"] for name, check in checked["dns_checks"].items()} == {
        "spf": "OK",
        "dkim": "OK",
        "mx": "OK",
        "return_path": "OK",
    }
    assert checked["dns_ok"] is True
    assert dns_api.events == []


def test_check_dns_reports_wrong_records(dns_api, v2, dns_server, data):
    headers, _org, server = v2.tenant()
    domain = v2.domain(headers, server, "wrong.example")
    dns_server.add("wrong.example", "TXT", "v=spf1 include:_spf.elsewhere.example ~all")
    dns_server.add("wrong.example", "MX", "10 mx1.postal.test.")
    dns_server.add("psrp.wrong.example", "CNAME", "elsewhere.example.")
    checked = dns_api.post(f"/api/v2/domains/{domain['uuid']}/check-dns", headers=headers).json
    checks = checked["dns_checks"]
    assert checks["spf"] == {
        "status": "Invalid",
        "error": "An SPF record exists but it doesn't include spf.postal.test",
    }
    assert checks["mx"] == {
        "status": "Invalid",
        "error": "MX record for mx2.postal.test are missing and are required.",
    }
    assert checks["return_path"]["error"] == (
        "There is a CNAME record at psrp.wrong.example but it points to elsewhere.example "
        "which is incorrect. It should point to rp.postal.test."
    )
    [(event, _seen)] = dns_api.events
    assert event.payload["return_path_status"] == "Invalid"
