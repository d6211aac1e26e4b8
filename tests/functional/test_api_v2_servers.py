"""API v2 servers and their settings: happy paths and every kind of bad request."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from postal.models import Credential, Domain, Server


ORGS = "/api/v2/organizations"
SERVERS = "/api/v2/servers"


def error(response, code: str, field: str | None = None) -> dict:
    body = response.json["error"]
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


def servers_of(org) -> str:
    return f"{ORGS}/{org['uuid']}/servers"


def test_create_with_defaults(api, v2, data):
    _user, headers = data.auth()
    org = v2.organization(headers)
    response = api.post(servers_of(org), {"name": "Main Server"}, headers=headers)
    assert response.status_int == 201
    server = response.json
    assert server["permalink"] == "main-server"
    assert server["organization"] == {"uuid": org["uuid"], "permalink": org["permalink"]}
    assert server["mode"] == "Live"
    assert len(server["token"]) == 6 and server["token"].islower()
    assert (server["spam_threshold"], server["spam_failure_threshold"]) == (5.0, 20.0)
    assert (server["message_retention_days"], server["raw_message_retention_days"]) == (60, 30)
    assert server["raw_message_retention_size"] == 2048
    assert server["send_limit"] is None and server["outbound_spam_threshold"] is None
    assert server["allow_sender"] is False and server["suspended"] is False
    assert api.get(f"{SERVERS}/{server['uuid']}", headers=headers).json == server


def test_create_with_settings(api, v2, data):
    _user, headers = data.auth()
    org = v2.organization(headers)
    body = {
        "name": "Dev",
        "permalink": "dev",
        "mode": "Development",
        "spam_threshold": 3,
        "spam_failure_threshold": 10.5,
        "postmaster_address": "Postmaster@Example.com",
    }
    server = api.post(servers_of(org), body, headers=headers, status=201).json
    assert (server["permalink"], server["mode"]) == ("dev", "Development")
    assert (server["spam_threshold"], server["spam_failure_threshold"]) == (3.0, 10.5)
    assert server["postmaster_address"] == "postmaster@example.com"


def test_admins_set_advanced_settings(api, v2, data):
    _owner, owner = data.auth()
    _admin, admin = data.auth(admin=True)
    org = v2.organization(owner)
    body = {
        "name": "Big",
        "send_limit": 1000,
        "allow_sender": True,
        "privacy_mode": True,
        "log_smtp_data": True,
        "outbound_spam_threshold": 7.5,
        "message_retention_days": 7,
        "raw_message_retention_days": 3,
        "raw_message_retention_size": 100,
    }
    server = api.post(servers_of(org), body, headers=admin, status=201).json
    for key, value in body.items():
        assert server[key] == value, key
    path = f"{SERVERS}/{server['uuid']}"
    suspended = api.patch(path, {"suspended": True, "suspension_reason": "Abuse"}, headers=admin)
    assert (suspended.json["suspended"], suspended.json["suspension_reason"]) == (True, "Abuse")
    cleared = api.patch(path, {"send_limit": None, "suspended": False}, headers=admin).json
    assert cleared["send_limit"] is None and cleared["suspended"] is False


@pytest.mark.parametrize(
    "field",
    [
        "send_limit",
        "allow_sender",
        "privacy_mode",
        "log_smtp_data",
        "message_retention_days",
        "raw_message_retention_days",
        "raw_message_retention_size",
        "outbound_spam_threshold",
        "suspended",
    ],
)
def test_advanced_settings_are_403_for_owners(api, v2, data, field):
    _owner, owner = data.auth()
    org = v2.organization(owner)
    flags = {"allow_sender", "privacy_mode", "log_smtp_data", "suspended"}
    value = True if field in flags else 5
    create = api.post(servers_of(org), {"name": "S", field: value}, headers=owner, status=403)
    error(create, "forbidden", field)
    server = v2.server(owner, org)
    path = f"{SERVERS}/{server['uuid']}"
    error(api.patch(path, {field: value}, headers=owner, status=403), "forbidden", field)
    assert api.get(path, headers=owner).json == server


def test_generated_permalinks_skip_taken_and_reserved(api, v2, data):
    _user, headers = data.auth()
    org = v2.organization(headers)
    assert v2.server(headers, org, name="Main")["permalink"] == "main"
    assert v2.server(headers, org, name="main")["permalink"] == "main-2"
    assert v2.server(headers, org, name="Stats")["permalink"] == "stats-2"


def test_permalinks_are_unique_per_organization(api, v2, data):
    _user, headers = data.auth()
    first, second = v2.organization(headers), v2.organization(headers)
    v2.server(headers, first, permalink="mail")
    assert v2.server(headers, second, permalink="mail")["permalink"] == "mail"
    body = {"name": "Again", "permalink": "mail"}
    error(api.post(servers_of(first), body, headers=headers, status=409), "conflict", "permalink")


@pytest.mark.parametrize("permalink", ["new", "all", "search", "stats", "manage", "destroy"])
def test_reserved_permalinks_are_422(api, v2, data, permalink):
    _user, headers = data.auth()
    org = v2.organization(headers)
    body = {"name": "S", "permalink": permalink}
    response = api.post(servers_of(org), body, headers=headers, status=422)
    assert "reserved" in error(response, "validation_failed", "permalink")["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": ["x"]}, "name"),
        ({"name": "S", "permalink": "UPPER"}, "permalink"),
        ({"name": "S", "mode": "Test"}, "mode"),
        ({"name": "S", "spam_threshold": "5"}, "spam_threshold"),
        ({"name": "S", "spam_threshold": True}, "spam_threshold"),
        ({"name": "S", "spam_threshold": -1}, "spam_threshold"),
        ({"name": "S", "spam_threshold": 30}, "spam_failure_threshold"),
        ({"name": "S", "spam_failure_threshold": 1}, "spam_failure_threshold"),
        ({"name": "S", "postmaster_address": "nobody"}, "postmaster_address"),
        ({"name": "S", "token": "abcdef"}, "token"),
    ],
)
def test_bad_create_is_422(api, v2, data, body, field):
    _user, headers = data.auth()
    org = v2.organization(headers)
    error(api.post(servers_of(org), body, headers=headers, status=422), "validation_failed", field)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"send_limit": -1}, "send_limit"),
        ({"send_limit": 2**31}, "send_limit"),
        ({"send_limit": 1.5}, "send_limit"),
        ({"message_retention_days": 0}, "message_retention_days"),
        ({"raw_message_retention_days": 3651}, "raw_message_retention_days"),
        ({"raw_message_retention_size": 2**40}, "raw_message_retention_size"),
        ({"outbound_spam_threshold": "high"}, "outbound_spam_threshold"),
        ({"privacy_mode": "yes"}, "privacy_mode"),
    ],
)
def test_out_of_range_admin_settings_are_422(api, v2, data, body, field):
    _admin, admin = data.auth(admin=True)
    server = v2.server(admin, v2.organization(admin))
    path = f"{SERVERS}/{server['uuid']}"
    error(api.patch(path, body, headers=admin, status=422), "validation_failed", field)


def test_infinite_numbers_are_refused(api, v2, data):
    _user, headers = data.auth()
    server = v2.server(headers, v2.organization(headers))
    path = f"{SERVERS}/{server['uuid']}"
    huge = b'{"spam_failure_threshold": 1e999}'
    response = api.patch(path, body=huge, headers=headers, status=422)
    error(response, "validation_failed", "spam_failure_threshold")
    error(api.patch(path, body=b'{"spam_threshold": Infinity}', headers=headers, status=400),
          "invalid_json")  # fmt: skip


def test_update_is_all_or_nothing(api, v2, data):
    _user, headers = data.auth()
    server = v2.server(headers, v2.organization(headers))
    path = f"{SERVERS}/{server['uuid']}"
    body = {"name": "Renamed", "spam_threshold": 50}
    api.patch(path, body, headers=headers, status=422)
    assert api.get(path, headers=headers).json == server
    updated = api.patch(path, {"name": "Renamed", "mode": "Development"}, headers=headers).json
    assert (updated["name"], updated["mode"], updated["permalink"]) == (
        "Renamed",
        "Development",
        server["permalink"],
    )
    cleared = api.patch(path, {"postmaster_address": None}, headers=headers).json
    assert cleared["postmaster_address"] is None


def test_invalid_json_and_unknown_uuid(api, v2, data):
    _user, headers = data.auth()
    org = v2.organization(headers)
    error(api.post(servers_of(org), body=b"{", headers=headers, status=400), "invalid_json")
    missing = f"{SERVERS}/00000000-0000-0000-0000-000000000000"
    error(api.get(missing, headers=headers, status=404), "not_found")
    error(api.patch(missing, {"name": "x"}, headers=headers, status=404), "not_found")
    error(api.delete(missing, headers=headers, status=404), "not_found")
    error(api.get(f"{ORGS}/nope/servers", headers=headers, status=404), "not_found")


def test_unauthenticated(api, v2, data):
    _user, headers = data.auth()
    server = v2.server(headers, v2.organization(headers))
    error(api.get(f"{SERVERS}/{server['uuid']}", status=401), "unauthenticated")
    error(api.patch(f"{SERVERS}/{server['uuid']}", {"name": "x"}, status=401), "unauthenticated")


def test_members_use_servers_but_do_not_manage_them(api, v2, data):
    _owner, owner = data.auth()
    org = v2.organization(owner)
    server = v2.server(owner, org)
    _member, member = v2.member(owner, org)
    path = f"{SERVERS}/{server['uuid']}"
    assert api.get(path, headers=member).json == server
    assert api.get(servers_of(org), headers=member).json["data"] == [server]
    error(api.post(servers_of(org), {"name": "Mine"}, headers=member, status=403), "forbidden")
    error(api.patch(path, {"name": "Mine"}, headers=member, status=403), "forbidden")
    error(api.delete(path, headers=member, status=403), "forbidden")


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PATCH", {"name": "Mine"}), ("DELETE", None)]
)
def test_another_tenants_server_is_404(api, v2, data, method, body):
    owner, org, server = v2.tenant()
    _stranger, stranger = data.auth()
    v2.organization(stranger)  # a member of some other organisation
    path = f"{SERVERS}/{server['uuid']}"
    error(api.request(method, path, json=body, headers=stranger, status=404), "not_found")
    assert api.get(path, headers=owner).json == server


def test_list_and_paginate(api, v2, data):
    _user, headers = data.auth()
    org = v2.organization(headers)
    for name in ["Charlie", "Alpha", "Bravo"]:
        v2.server(headers, org, name=name)
    page = api.get(f"{servers_of(org)}?per_page=2", headers=headers).json
    assert [s["name"] for s in page["data"]] == ["Alpha", "Bravo"]
    assert page["meta"] == {"page": 1, "per_page": 2, "total": 3}
    page2 = api.get(f"{servers_of(org)}?per_page=2&page=2", headers=headers).json
    assert [s["name"] for s in page2["data"]] == ["Charlie"]
    bad = api.get(f"{servers_of(org)}?per_page=500", headers=headers, status=422)
    error(bad, "validation_failed", "per_page")


def test_delete_removes_domains_and_credentials(api, v2, data, dbsession):
    _user, headers = data.auth()
    org = v2.organization(headers)
    server = v2.server(headers, org)
    v2.domain(headers, server)
    v2.credential(headers, server)
    api.delete(f"{SERVERS}/{server['uuid']}", headers=headers, status=204)
    api.get(f"{SERVERS}/{server['uuid']}", headers=headers, status=404)
    assert api.get(servers_of(org), headers=headers).json["data"] == []
    for model in (Server, Domain, Credential):
        assert dbsession.scalar(select(func.count()).select_from(model)) == 0


def test_wrong_method_is_405(testapp, v2, data):
    _user, headers = data.auth()
    server = v2.server(headers, v2.organization(headers))
    response = testapp.post_json(f"{SERVERS}/{server['uuid']}", {}, headers=headers, status=405)
    assert response.json["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "DELETE, GET, PATCH"
