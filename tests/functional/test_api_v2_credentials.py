"""API v2 credentials: API and SMTP keys, SMTP-IP networks; every kind of bad request."""

from __future__ import annotations

import pytest


def error(response, code: str, field: str | None = None) -> dict:
    body = response.json["error"]
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


def credentials_of(server) -> str:
    return f"/api/v2/servers/{server['uuid']}/credentials"


@pytest.mark.parametrize("kind", ["API", "SMTP"])
def test_api_and_smtp_keys_are_generated(api, v2, kind):
    headers, _org, server = v2.tenant()
    response = api.post(credentials_of(server), {"type": kind, "name": "App"}, headers=headers)
    assert response.status_int == 201
    credential = response.json
    assert (credential["type"], credential["name"], credential["server"]) == (
        kind,
        "App",
        server["uuid"],
    )
    assert len(credential["key"]) == 24 and credential["key"].isalnum()
    assert credential["hold"] is False and credential["last_used_at"] is None
    other = v2.credential(headers, server, type=kind)
    assert other["key"] != credential["key"]


@pytest.mark.parametrize(
    ("key", "stored"),
    [
        ("192.0.2.7", "192.0.2.7/32"),
        ("192.0.2.7/24", "192.0.2.0/24"),
        (" 10.1.2.3/8 ", "10.0.0.0/8"),
        ("2001:DB8::1", "2001:db8::1/128"),
        ("2001:db8:0:0::/32", "2001:db8::/32"),
    ],
)
def test_smtp_ip_networks_are_normalised(api, v2, key, stored):
    headers, _org, server = v2.tenant()
    credential = v2.credential(headers, server, type="SMTP-IP", name="Office", key=key)
    assert credential["key"] == stored


def test_duplicate_smtp_ip_network_is_409(api, v2):
    headers, org, server = v2.tenant()
    v2.credential(headers, server, type="SMTP-IP", key="192.0.2.0/24")
    body = {"type": "SMTP-IP", "name": "Again", "key": "192.0.2.99/24"}
    error(api.post(credentials_of(server), body, headers=headers, status=409), "conflict", "key")
    # Another server may allow the same network.
    other = v2.server(headers, org, name="Other")
    assert v2.credential(headers, other, type="SMTP-IP", key="192.0.2.0/24")["key"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "App"}, "type"),
        ({"type": "POP3", "name": "App"}, "type"),
        ({"type": ["API"], "name": "App"}, "type"),
        ({"type": "API"}, "name"),
        ({"type": "API", "name": " "}, "name"),
        ({"type": "API", "name": "x" * 256}, "name"),
        ({"type": "API", "name": "App", "key": "mine"}, "key"),
        ({"type": "SMTP", "name": "App", "key": "mine"}, "key"),
        ({"type": "SMTP-IP", "name": "Office"}, "key"),
        ({"type": "SMTP-IP", "name": "Office", "key": "not-an-ip"}, "key"),
        ({"type": "SMTP-IP", "name": "Office", "key": "192.0.2.1/33"}, "key"),
        ({"type": "SMTP-IP", "name": "Office", "key": 19202}, "key"),
        ({"type": "API", "name": "App", "hold": "no"}, "hold"),
        ({"type": "API", "name": "App", "options": {}}, "options"),
    ],
)
def test_bad_credentials_are_422(api, v2, body, field):
    headers, _org, server = v2.tenant()
    response = api.post(credentials_of(server), body, headers=headers, status=422)
    error(response, "validation_failed", field)
    assert api.get(credentials_of(server), headers=headers).json["meta"]["total"] == 0


def test_invalid_json_is_400(api, v2):
    headers, _org, server = v2.tenant()
    error(api.post(credentials_of(server), body=b"[", headers=headers, status=400), "invalid_json")


def test_get_update_and_delete(api, v2):
    headers, _org, server = v2.tenant()
    credential = v2.credential(headers, server)
    path = f"/api/v2/credentials/{credential['uuid']}"
    assert api.get(path, headers=headers).json == credential
    updated = api.patch(path, {"name": "Renamed", "hold": True}, headers=headers).json
    assert (updated["name"], updated["hold"], updated["key"]) == (
        "Renamed",
        True,
        credential["key"],
    )
    error(api.patch(path, {"key": "new"}, headers=headers, status=422), "validation_failed", "key")
    error(api.patch(path, {"name": ""}, headers=headers, status=422), "validation_failed", "name")
    error(api.patch(path, {"type": "SMTP"}, headers=headers, status=422), "validation_failed")
    api.delete(path, headers=headers, status=204)
    error(api.get(path, headers=headers, status=404), "not_found")


def test_smtp_ip_networks_can_be_moved(api, v2):
    headers, _org, server = v2.tenant()
    office = v2.credential(headers, server, type="SMTP-IP", key="192.0.2.0/24")
    other = v2.credential(headers, server, type="SMTP-IP", key="198.51.100.0/24")
    path = f"/api/v2/credentials/{office['uuid']}"
    moved = api.patch(path, {"key": "203.0.113.9/24"}, headers=headers).json
    assert moved["key"] == "203.0.113.0/24"
    # Re-sending its own network is not a clash; taking another credential's is.
    assert api.patch(path, {"key": "203.0.113.0/24"}, headers=headers).json == moved
    clash = api.patch(path, {"key": other["key"]}, headers=headers, status=409)
    error(clash, "conflict", "key")
    error(api.patch(path, {"key": "nope"}, headers=headers, status=422), "validation_failed", "key")
    assert api.get(path, headers=headers).json == moved


def test_list_and_paginate(api, v2):
    headers, _org, server = v2.tenant()
    made = [v2.credential(headers, server, name=f"App {n}") for n in range(3)]
    page = api.get(f"{credentials_of(server)}?per_page=2&page=2", headers=headers).json
    assert page["data"] == made[2:]
    assert page["meta"] == {"page": 2, "per_page": 2, "total": 3}
    error(api.get(f"{credentials_of(server)}?page=-1", headers=headers, status=422),
          "validation_failed", "page")  # fmt: skip


def test_members_manage_credentials(api, v2):
    owner, org, server = v2.tenant()
    _member, member = v2.member(owner, org)
    credential = v2.credential(member, server)
    assert api.get(credentials_of(server), headers=owner).json["data"] == [credential]


def test_unknown_and_unauthenticated(api, v2):
    headers, _org, server = v2.tenant()
    missing = "/api/v2/credentials/00000000-0000-0000-0000-000000000000"
    error(api.get(missing, headers=headers, status=404), "not_found")
    error(api.patch(missing, {"name": "x"}, headers=headers, status=404), "not_found")
    error(api.delete(missing, headers=headers, status=404), "not_found")
    missing_server = "/api/v2/servers/00000000-0000-0000-0000-000000000000/credentials"
    error(api.get(missing_server, headers=headers, status=404), "not_found")
    error(api.get(credentials_of(server), status=401), "unauthenticated")
    body = {"type": "API", "name": "x"}
    error(api.post(credentials_of(server), body, status=401), "unauthenticated")


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"hold": True}), ("DELETE", None)]
)
def test_another_tenants_credential_is_404(api, v2, data, method, body):
    owner, _org, server = v2.tenant()
    credential = v2.credential(owner, server)
    _stranger, stranger = data.auth()
    path = f"/api/v2/credentials/{credential['uuid']}"
    error(api.request(method, path, json=body, headers=stranger, status=404), "not_found")
    assert api.get(path, headers=owner).json == credential


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("POST", {"type": "API", "name": "x"})]
)
def test_another_tenants_server_credentials_are_404(api, v2, data, method, body):
    owner, _org, server = v2.tenant()
    _stranger, stranger = data.auth()
    path = credentials_of(server)
    error(api.request(method, path, json=body, headers=stranger, status=404), "not_found")
    assert api.get(path, headers=owner).json["data"] == []


def test_wrong_method_is_405(testapp, v2):
    headers, _org, server = v2.tenant()
    response = testapp.delete(credentials_of(server), headers=headers, status=405)
    assert response.json["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET, POST"
