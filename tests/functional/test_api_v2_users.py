"""API v2 users, the signed-in user and API tokens."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from postal.cli import cli


USERS = "/api/v2/users"
TOKENS = "/api/v2/tokens"


def error(response, code: str, field: str | None = None) -> dict:
    body = response.json["error"]
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


def test_me(api, data):
    user, headers = data.auth()
    me = api.get("/api/v2/me", headers=headers).json
    assert (me["uuid"], me["email_address"], me["admin"]) == (user.uuid, user.email_address, False)
    assert me["name"] == f"{user.first_name} {user.last_name}"
    assert api.get(f"{USERS}/{user.uuid}", headers=headers).json == me
    error(api.get("/api/v2/me", status=401), "unauthenticated")


def test_admins_create_list_and_delete_users(api, data):
    admin_user, admin = data.auth(admin=True)
    body = {
        "email_address": "New.Person@Example.com",
        "first_name": "New",
        "last_name": "Person",
        "password": "correct horse",
    }
    created = api.post(USERS, body, headers=admin, status=201).json
    assert (created["email_address"], created["name"], created["admin"]) == (
        "new.person@example.com",
        "New Person",
        False,
    )
    listed = api.get(f"{USERS}?per_page=1&page=2", headers=admin).json
    assert listed["data"] == [created]
    assert listed["meta"] == {"page": 2, "per_page": 1, "total": 2}
    assert api.get(f"{USERS}/{created['uuid']}", headers=admin).json == created
    api.delete(f"{USERS}/{created['uuid']}", headers=admin, status=204)
    error(api.get(f"{USERS}/{created['uuid']}", headers=admin, status=404), "not_found")
    error(api.delete(f"{USERS}/{admin_user.uuid}", headers=admin, status=403), "forbidden")


def test_non_admins_cannot_manage_users(api, data):
    _user, headers = data.auth()
    other = data.user()
    error(api.get(USERS, headers=headers, status=403), "forbidden")
    body = {"email_address": "x@example.com", "first_name": "X", "last_name": "Y"}
    error(api.post(USERS, body, headers=headers, status=403), "forbidden")
    error(api.delete(f"{USERS}/{other.uuid}", headers=headers, status=403), "forbidden")
    # Other users are invisible, not merely forbidden.
    error(api.get(f"{USERS}/{other.uuid}", headers=headers, status=404), "not_found")


VALID = {"email_address": "a@example.com", "first_name": "A", "last_name": "B"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email_address": None}, "email_address"),
        ({"email_address": "nope"}, "email_address"),
        ({"first_name": None}, "first_name"),
        ({"last_name": ""}, "last_name"),
        ({"password": "short"}, "password"),
        ({"password": 12345678}, "password"),
        ({"admin": 1}, "admin"),
        ({"role": "x"}, "role"),
    ],
)
def test_bad_users_are_422(api, data, changes, field):
    _admin, admin = data.auth(admin=True)
    body = {key: value for key, value in {**VALID, **changes}.items() if value is not None}
    error(api.post(USERS, body, headers=admin, status=422), "validation_failed", field)
    assert api.get(USERS, headers=admin).json["meta"]["total"] == 1


def test_taken_email_is_409(api, data):
    _admin, admin = data.auth(admin=True)
    existing = data.user()
    body = {"email_address": existing.email_address.upper(), "first_name": "A", "last_name": "B"}
    error(api.post(USERS, body, headers=admin, status=409), "conflict", "email_address")


def test_unknown_user_and_bad_json(api, data):
    _admin, admin = data.auth(admin=True)
    missing = f"{USERS}/00000000-0000-0000-0000-000000000000"
    error(api.get(missing, headers=admin, status=404), "not_found")
    error(api.delete(missing, headers=admin, status=404), "not_found")
    error(api.post(USERS, body=b'{"a": }', headers=admin, status=400), "invalid_json")


# --- API tokens ---------------------------------------------------------------------------


def test_tokens_create_list_use_and_revoke(api, data):
    user, headers = data.auth()
    created = api.post(TOKENS, {"name": "CI"}, headers=headers, status=201).json
    assert created["token"].startswith(created["prefix"]) and created["user"] == user.uuid
    new_headers = {"Authorization": f"Bearer {created['token']}"}
    assert api.get("/api/v2/me", headers=new_headers).json["uuid"] == user.uuid
    listed = api.get(TOKENS, headers=new_headers).json
    assert [t["name"] for t in listed["data"]] == ["test", "CI"]
    assert "token" not in listed["data"][1]
    assert listed["data"][1]["last_used_at"] is not None
    api.delete(f"{TOKENS}/{created['uuid']}", headers=headers, status=204)
    error(api.get("/api/v2/me", headers=new_headers, status=401), "unauthenticated")


def test_tokens_of_others(api, data):
    _alice, alice = data.auth()
    _bob, bob = data.auth()
    _admin, admin = data.auth(admin=True)
    token = api.post(TOKENS, {"name": "Alice's"}, headers=alice, status=201).json
    assert [t["name"] for t in api.get(TOKENS, headers=bob).json["data"]] == ["test"]
    error(api.delete(f"{TOKENS}/{token['uuid']}", headers=bob, status=404), "not_found")
    api.delete(f"{TOKENS}/{token['uuid']}", headers=admin, status=204)
    missing = f"{TOKENS}/00000000-0000-0000-0000-000000000000"
    error(api.delete(missing, headers=alice, status=404), "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": " "}, "name"),
        ({"name": 3}, "name"),
        ({"name": "a", "ttl": 5}, "ttl"),
    ],
)
def test_bad_tokens_are_422(api, data, body, field):
    _user, headers = data.auth()
    error(api.post(TOKENS, body, headers=headers, status=422), "validation_failed", field)


def test_wrong_method_is_405(testapp, data):
    _user, headers = data.auth()
    response = testapp.patch_json("/api/v2/me", {}, headers=headers, status=405)
    assert response.json["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"


# --- The acceptance flow, with a token from the CLI --------------------------------


def test_cli_token_creates_organisation_server_verified_domain_and_credential(
    api, data, tmp_path, database_url, app_settings
):
    """`postal create-api-token` -> an admin builds everything through API v2."""
    user = data.user(admin=True)
    ini = tmp_path / "postal.ini"
    ini.write_text(
        "[app:main]\nuse = egg:postal\n"
        f"database.url = {database_url}\n"
        f"postal.signing_key_path = {app_settings['postal.signing_key_path']}\n"
    )
    result = CliRunner().invoke(
        cli, ["create-api-token", "-c", str(ini), "--email", user.email_address, "--name", "cli"]
    )
    assert result.exit_code == 0, result.output
    headers = {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}

    org = api.post("/api/v2/organizations", {"name": "Acme"}, headers=headers, status=201).json
    servers = f"/api/v2/organizations/{org['uuid']}/servers"
    server = api.post(servers, {"name": "Mail", "mode": "Live"}, headers=headers, status=201).json
    domains = f"/api/v2/servers/{server['uuid']}/domains"
    body = {"name": "acme.example", "verified": True}
    domain = api.post(domains, body, headers=headers, status=201).json
    assert domain["verified"] is True
    purposes = {record["purpose"]: record for record in domain["dns_records"]}
    assert purposes["spf"]["value"] == "v=spf1 a mx include:spf.postal.test ~all"
    assert purposes["dkim"]["name"] == f"{domain['dkim_selector']}._domainkey.acme.example"
    credentials = f"/api/v2/servers/{server['uuid']}/credentials"
    credential = api.post(credentials, {"type": "API", "name": "App"}, headers=headers, status=201)
    assert len(credential.json["key"]) == 24
