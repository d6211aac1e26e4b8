"""The issue's acceptance flow through the real WSGI stack: a user with a CLI-style token
creates an organisation, a server, a verified domain and an API credential."""

from __future__ import annotations


def test_admin_creates_org_server_domain_and_credential(testapp, data):
    _admin, headers = data.auth(admin=True)
    org = testapp.post_json("/api/v2/organizations", {"name": "Acme Inc"}, headers=headers)
    assert org.status_int == 201
    assert org.json["permalink"] == "acme-inc"

    server = testapp.post_json(
        f"/api/v2/organizations/{org.json['uuid']}/servers",
        {"name": "Main", "mode": "Live"},
        headers=headers,
    )
    assert server.status_int == 201
    assert len(server.json["token"]) == 6

    domain = testapp.post_json(
        f"/api/v2/servers/{server.json['uuid']}/domains",
        {"name": "Example.COM", "verified": True},
        headers=headers,
    )
    assert domain.status_int == 201
    assert domain.json["name"] == "example.com"
    assert domain.json["verified"] is True
    records = {r["purpose"]: r for r in domain.json["dns_records"]}
    assert records["spf"] == {
        "purpose": "spf",
        "type": "TXT",
        "name": "example.com",
        "value": "v=spf1 a mx include:spf.postal.test ~all",
    }
    selector = domain.json["dkim_selector"]
    assert records["dkim"]["name"] == f"{selector}._domainkey.example.com"
    assert records["dkim"]["value"].startswith("v=DKIM1; t=s; h=sha256; p=")
    assert "verification" not in records

    credential = testapp.post_json(
        f"/api/v2/servers/{server.json['uuid']}/credentials",
        {"type": "API", "name": "App"},
        headers=headers,
    )
    assert credential.status_int == 201
    assert len(credential.json["key"]) == 24


def test_requests_without_a_token_are_refused(testapp):
    response = testapp.get("/api/v2/organizations", status=401)
    assert response.json["error"]["code"] == "unauthenticated"
