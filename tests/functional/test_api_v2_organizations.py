"""API v2 organisations and members: happy paths and every kind of bad request."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from postal.models import ApiToken, Domain, Organization, Server


ORGS = "/api/v2/organizations"


def error(response, status_code: str, field: str | None = None) -> dict:
    body = response.json["error"]
    assert body["code"] == status_code, body
    assert body["message"]
    if field is not None:
        assert body["field"] == field
    return body


# --- Authentication --------------------------------------------------------------------


def test_missing_token_is_401_with_a_challenge(api):
    response = api.get(ORGS, status=401)
    error(response, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="postal"'


@pytest.mark.parametrize(
    "header", ["Bearer pma_not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "pma_x"]
)
def test_invalid_token_is_401(api, header):
    error(api.get(ORGS, headers={"Authorization": header}, status=401), "unauthenticated")


def test_expired_token_is_401(api, data, dbsession):
    user, headers = data.auth()
    token = dbsession.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    token.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    dbsession.commit()
    error(api.get(ORGS, headers=headers, status=401), "unauthenticated")


# --- Create ------------------------------------------------------------------------------


def test_create_makes_the_caller_owner(api, data):
    user, headers = data.auth()
    response = api.post(ORGS, {"name": "Acme Inc", "time_zone": "Europe/London"}, headers=headers)
    assert response.status_int == 201
    org = response.json
    assert (org["name"], org["permalink"], org["time_zone"]) == (
        "Acme Inc",
        "acme-inc",
        "Europe/London",
    )
    assert org["suspended"] is False
    members = api.get(f"{ORGS}/{org['uuid']}/members", headers=headers).json["data"]
    assert [(m["user"]["uuid"], m["role"]) for m in members] == [(user.uuid, "owner")]


def test_generated_permalinks_avoid_taken_and_reserved_ones(api, data):
    _user, headers = data.auth()
    first = api.post(ORGS, {"name": "Acme"}, headers=headers).json
    second = api.post(ORGS, {"name": "ACME!"}, headers=headers).json
    reserved = api.post(ORGS, {"name": "Admin"}, headers=headers).json
    assert (first["permalink"], second["permalink"]) == ("acme", "acme-2")
    assert reserved["permalink"] == "admin-2"


def test_duplicate_permalink_is_409(api, data):
    _user, headers = data.auth()
    api.post(ORGS, {"name": "Acme", "permalink": "acme"}, headers=headers)
    response = api.post(ORGS, {"name": "Other", "permalink": "acme"}, headers=headers, status=409)
    error(response, "conflict", "permalink")


@pytest.mark.parametrize("permalink", ["admin", "org", "server", "new", "mail"])
def test_reserved_permalink_is_422(api, data, permalink):
    _user, headers = data.auth()
    body = {"name": "Acme", "permalink": permalink}
    response = api.post(ORGS, body, headers=headers, status=422)
    assert "reserved" in error(response, "validation_failed", "permalink")["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "Acme", "permalink": "Not Valid"}, "permalink"),
        ({"name": "Acme", "permalink": "-x"}, "permalink"),
        ({"name": "Acme", "colour": "red"}, "colour"),
        ({"name": "Acme", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"name": "Acme", "time_zone": 1}, "time_zone"),
    ],
)
def test_bad_fields_are_422_naming_the_field(api, data, body, field):
    _user, headers = data.auth()
    error(api.post(ORGS, body, headers=headers, status=422), "validation_failed", field)


@pytest.mark.parametrize("raw", [b"{not json", b'["a list"]', b'{"name": NaN}', b"\xff\xfe"])
def test_invalid_json_is_400(api, data, raw):
    _user, headers = data.auth()
    error(api.post(ORGS, body=raw, headers=headers, status=400), "invalid_json")


def test_a_failed_request_leaves_nothing_behind(api, data, dbsession):
    _user, headers = data.auth()
    api.post(ORGS, {"name": "Acme", "time_zone": "Nowhere/Nope"}, headers=headers, status=422)
    assert dbsession.scalar(select(func.count()).select_from(Organization)) == 0


# --- List ----------------------------------------------------------------------------------


def test_users_see_their_organizations_and_admins_all(api, v2, data):
    _alice, alice = data.auth()
    _bob, bob = data.auth()
    _admin, admin = data.auth(admin=True)
    v2.organization(alice, name="Alpha")
    v2.organization(bob, name="Beta")
    names = lambda headers: [o["name"] for o in api.get(ORGS, headers=headers).json["data"]]  # noqa: E731
    assert names(alice) == ["Alpha"]
    assert names(bob) == ["Beta"]
    assert names(admin) == ["Alpha", "Beta"]


def test_pagination(api, v2, data):
    _user, headers = data.auth()
    for name in ["A", "B", "C", "D", "E"]:
        v2.organization(headers, name=name)
    page = api.get(f"{ORGS}?per_page=2&page=2", headers=headers).json
    assert [o["name"] for o in page["data"]] == ["C", "D"]
    assert page["meta"] == {"page": 2, "per_page": 2, "total": 5}
    last = api.get(f"{ORGS}?per_page=2&page=3", headers=headers).json
    assert [o["name"] for o in last["data"]] == ["E"]
    beyond = api.get(f"{ORGS}?per_page=2&page=9", headers=headers).json
    assert beyond["data"] == [] and beyond["meta"]["total"] == 5
    assert api.get(ORGS, headers=headers).json["meta"] == {"page": 1, "per_page": 30, "total": 5}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=99999999999999999999", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=1.5", "per_page"),
    ],
)
def test_bad_paging_is_422(api, data, query, field):
    _user, headers = data.auth()
    response = api.get(f"{ORGS}?{query}", headers=headers, status=422)
    error(response, "validation_failed", field)


# --- Get, update, delete ------------------------------------------------------------------


def test_get_and_unknown_uuid(api, v2, data):
    _user, headers = data.auth()
    org = v2.organization(headers)
    assert api.get(f"{ORGS}/{org['uuid']}", headers=headers).json == org
    missing = api.get(f"{ORGS}/00000000-0000-0000-0000-000000000000", headers=headers, status=404)
    error(missing, "not_found")
    error(api.get(f"{ORGS}/not-a-uuid", headers=headers, status=404), "not_found")


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("PATCH", "", {"name": "Mine now"}),
        ("DELETE", "", None),
        ("GET", "/members", None),
        ("POST", "/members", {"email_address": "someone@example.com"}),
        ("DELETE", "/members/{owner}", None),
        ("GET", "/servers", None),
        ("POST", "/servers", {"name": "Sneaky"}),
    ],
)
def test_another_tenants_organization_is_404(api, v2, data, method, suffix, body):
    owner, owner_headers = data.auth()
    org = v2.organization(owner_headers)
    _stranger, stranger = data.auth()
    path = f"{ORGS}/{org['uuid']}{suffix.format(owner=owner.uuid)}"
    error(api.request(method, path, json=body, headers=stranger, status=404), "not_found")
    # Nothing changed for the owner.
    assert api.get(f"{ORGS}/{org['uuid']}", headers=owner_headers).json == org


def test_update(api, v2, data):
    _user, headers = data.auth()
    org = v2.organization(headers)
    body = {"name": "Acme Ltd", "time_zone": "America/New_York"}
    updated = api.patch(f"{ORGS}/{org['uuid']}", body, headers=headers).json
    assert (updated["name"], updated["time_zone"], updated["permalink"]) == (
        "Acme Ltd",
        "America/New_York",
        org["permalink"],
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"permalink": "new-one"}, "permalink"),
        ({"time_zone": "Nowhere"}, "time_zone"),
        ({"suspended": "yes"}, "suspended"),
    ],
)
def test_bad_update_is_422(api, v2, data, body, field):
    _user, _headers = data.auth(admin=True)
    org = v2.organization(_headers)
    path = f"{ORGS}/{org['uuid']}"
    error(api.patch(path, body, headers=_headers, status=422), "validation_failed", field)
    assert api.get(path, headers=_headers).json == org


def test_only_installation_admins_suspend(api, v2, data):
    _user, owner = data.auth()
    _admin, admin = data.auth(admin=True)
    org = v2.organization(owner)
    path = f"{ORGS}/{org['uuid']}"
    error(api.patch(path, {"suspended": True}, headers=owner, status=403), "forbidden")
    body = {"suspended": True, "suspension_reason": "Spam"}
    assert api.patch(path, body, headers=admin).json["suspended"] is True
    assert api.patch(path, {"suspended": False}, headers=admin).json["suspended"] is False


@pytest.mark.parametrize("role", ["member", "admin"])
def test_members_without_the_right_role_get_403(api, v2, data, role):
    _owner, owner = data.auth()
    org = v2.organization(owner)
    _member, member = v2.member(owner, org, role=role)
    path = f"{ORGS}/{org['uuid']}"
    assert api.get(path, headers=member).json == org
    error(api.delete(path, headers=member, status=403), "forbidden")
    if role == "member":
        error(api.patch(path, {"name": "X"}, headers=member, status=403), "forbidden")
        body = {"email_address": "x@example.com"}
        error(api.post(f"{path}/members", body, headers=member, status=403), "forbidden")
    else:
        assert api.patch(path, {"name": "X"}, headers=member).json["name"] == "X"


def test_delete_removes_servers_and_domains(api, v2, data, dbsession):
    _user, headers = data.auth()
    org = v2.organization(headers)
    server = v2.server(headers, org)
    v2.domain(headers, server)
    response = api.delete(f"{ORGS}/{org['uuid']}", headers=headers, status=204)
    assert response.body == b""
    api.get(f"{ORGS}/{org['uuid']}", headers=headers, status=404)
    api.get(f"/api/v2/servers/{server['uuid']}", headers=headers, status=404)
    for model in (Organization, Server, Domain):
        assert dbsession.scalar(select(func.count()).select_from(model)) == 0


# --- Members -----------------------------------------------------------------------------


def test_add_list_and_remove_members(api, v2, data):
    _owner, owner = data.auth()
    org = v2.organization(owner)
    member, member_headers = v2.member(owner, org, role="admin")
    path = f"{ORGS}/{org['uuid']}/members"
    listed = api.get(path, headers=member_headers).json
    assert [m["role"] for m in listed["data"]] == ["owner", "admin"]
    assert listed["data"][1]["user"]["email_address"] == member.email_address
    api.delete(f"{path}/{member.uuid}", headers=owner, status=204)
    error(api.get(path, headers=member_headers, status=404), "not_found")


def test_bad_member_requests(api, v2, data):
    owner_user, owner = data.auth()
    org = v2.organization(owner)
    path = f"{ORGS}/{org['uuid']}/members"
    other = data.user()
    unknown = {"email_address": "nobody@example.com"}
    error(api.post(path, unknown, headers=owner, status=422), "validation_failed", "email_address")
    invalid = {"email_address": "not-an-address"}
    error(api.post(path, invalid, headers=owner, status=422), "validation_failed", "email_address")
    bad_role = {"email_address": other.email_address, "role": "king"}
    error(api.post(path, bad_role, headers=owner, status=422), "validation_failed", "role")
    added = {"email_address": other.email_address.upper()}
    api.post(path, added, headers=owner, status=201)
    error(api.post(path, added, headers=owner, status=409), "conflict")
    error(api.delete(f"{path}/{owner_user.uuid}", headers=owner, status=409), "conflict")
    error(api.delete(f"{path}/{data.user().uuid}", headers=owner, status=404), "not_found")


# --- Methods and paths ----------------------------------------------------------------------


def test_wrong_method_is_405_with_allow(testapp, data):
    _user, headers = data.auth()
    response = testapp.put_json(ORGS, {"name": "x"}, headers=headers, status=405)
    assert response.json["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET, POST"


def test_unknown_path_is_404_json(testapp, data):
    _user, headers = data.auth()
    response = testapp.get("/api/v2/nothing-here", headers=headers, status=404)
    assert response.json["error"]["code"] == "not_found"
