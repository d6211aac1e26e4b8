"""API v2 for IP pools: admins manage pools, addresses and assignments; organisation owners
manage their servers' pool and IP rules; everything is checked against the document."""

from __future__ import annotations


def put(api, path, json, **kwargs):
    return api.request("PUT", path, json=json, **kwargs)


def make_pool(api, admin, name="Main", **fields):
    pool = api.post("/api/v2/ip-pools", {"name": name, **fields}, headers=admin, status=201).json
    return pool


def test_admins_manage_pools_and_addresses(api, data):
    _, admin = data.auth(admin=True)
    pool = make_pool(api, admin)
    assert pool["addresses"] == [] and pool["default"] is False
    path = f"/api/v2/ip-pools/{pool['uuid']}"
    address = api.post(
        f"{path}/addresses",
        {"ipv4": "127.0.0.2", "ipv6": "::FFFF:7f00:2", "hostname": "mx2.postal.test"},
        headers=admin,
        status=201,
    ).json
    assert address == {
        "ipv4": "127.0.0.2",
        "ipv6": "::ffff:7f00:2",
        "hostname": "mx2.postal.test",
        "priority": 100,
    }
    api.patch(f"{path}/addresses/127.0.0.2", {"priority": 10}, headers=admin)
    shown = api.get(path, headers=admin).json
    assert shown["addresses"][0]["priority"] == 10
    # The same address twice, anywhere, is a conflict; bad input names its field.
    other = make_pool(api, admin, "Other")
    clash = api.post(
        f"/api/v2/ip-pools/{other['uuid']}/addresses",
        {"ipv4": "127.0.0.2", "hostname": "x.test"},
        headers=admin,
        status=409,
    )
    assert clash.json["error"]["field"] == "ipv4"
    for body, field in (
        ({"ipv4": "::1", "hostname": "x"}, "ipv4"),
        ({"ipv4": "127.0.0.9"}, "hostname"),
        ({"ipv4": "127.0.0.9", "hostname": "x", "priority": 101}, "priority"),
    ):
        error = api.post(f"{path}/addresses", body, headers=admin, status=422).json["error"]
        assert error["field"] == field
    api.patch(path, {"name": "Renamed", "default": True}, headers=admin)
    listed = api.get("/api/v2/ip-pools", headers=admin).json
    assert [p["name"] for p in listed["data"]] == ["Other", "Renamed"]
    api.delete(f"{path}/addresses/127.0.0.2", headers=admin, status=204)
    api.delete(f"{path}/addresses/127.0.0.2", headers=admin, status=404)
    api.delete(path, headers=admin, status=204)
    api.get(path, headers=admin, status=404)


def test_pools_are_for_admins_only(api, data, v2):
    _, admin = data.auth(admin=True)
    pool = make_pool(api, admin)
    headers, organization, _server = v2.tenant()
    api.get("/api/v2/ip-pools", headers=headers, status=403)
    api.post("/api/v2/ip-pools", {"name": "Mine"}, headers=headers, status=403)
    api.get(f"/api/v2/ip-pools/{pool['uuid']}", headers=headers, status=403)
    put(
        api,
        f"/api/v2/organizations/{organization['uuid']}/ip-pools",
        {"ip_pools": [pool["uuid"]]},
        headers=headers,
        status=403,
    )


def test_default_pools_go_to_new_organisations_and_assignments_are_admin_made(api, data, v2):
    _, admin = data.auth(admin=True)
    default = make_pool(api, admin, "Shared", default=True)
    extra = make_pool(api, admin, "Extra")
    headers, organization, _ = v2.tenant()
    path = f"/api/v2/organizations/{organization['uuid']}/ip-pools"
    assert api.get(path, headers=headers).json["data"] == [
        {"uuid": default["uuid"], "name": "Shared"}
    ]
    body = {"ip_pools": [extra["uuid"], default["uuid"]]}
    assigned = put(api, path, body, headers=admin).json["data"]
    assert [p["name"] for p in assigned] == ["Extra", "Shared"]
    error = put(api, path, {"ip_pools": ["nope"]}, headers=admin, status=422).json["error"]
    assert error["field"] == "ip_pools"


def test_owners_choose_their_server_pool_and_rules(api, data, v2):
    _, admin = data.auth(admin=True)
    assigned = make_pool(api, admin, "Assigned", default=True)
    foreign = make_pool(api, admin, "Foreign")
    headers, organization, server = v2.tenant()
    path = f"/api/v2/servers/{server['uuid']}/ip-pool"
    assert api.get(path, headers=headers).json == {"ip_pool": None}
    refused = put(api, path, {"ip_pool": foreign["uuid"]}, headers=headers, status=422)
    assert refused.json["error"]["field"] == "ip_pool"
    chosen = put(api, path, {"ip_pool": assigned["uuid"]}, headers=headers).json
    assert chosen["ip_pool"]["uuid"] == assigned["uuid"]
    assert put(api, path, {"ip_pool": None}, headers=headers).json == {"ip_pool": None}

    for owner_path in (
        f"/api/v2/servers/{server['uuid']}/ip-rules",
        f"/api/v2/organizations/{organization['uuid']}/ip-rules",
    ):
        rule = api.post(
            owner_path,
            {
                "ip_pool": assigned["uuid"],
                "from_text": "Example.com\n\n",
                "to_text": "vip@example.net",
            },
            headers=headers,
            status=201,
        ).json
        assert (rule["from_text"], rule["to_text"]) == ("example.com", "vip@example.net")
        api.post(owner_path, {"ip_pool": assigned["uuid"]}, headers=headers, status=422)
        api.post(
            owner_path,
            {"ip_pool": foreign["uuid"], "to_text": "a.test"},
            headers=headers,
            status=422,
        )
        listed = api.get(owner_path, headers=headers).json["data"]
        assert [r["uuid"] for r in listed] == [rule["uuid"]]
        rule_path = f"/api/v2/ip-rules/{rule['uuid']}"
        changed = api.patch(rule_path, {"from_text": ""}, headers=headers).json
        assert changed["from_text"] == "" and changed["to_text"] == "vip@example.net"
        api.delete(rule_path, headers=headers, status=204)
        api.get(rule_path, headers=headers, status=404)


def test_members_see_but_do_not_change_rules_and_strangers_see_nothing(api, data, v2):
    _, admin = data.auth(admin=True)
    pool = make_pool(api, admin, "Assigned", default=True)
    headers, organization, server = v2.tenant()
    rules = f"/api/v2/servers/{server['uuid']}/ip-rules"
    rule = api.post(
        rules, {"ip_pool": pool["uuid"], "to_text": "a.test"}, headers=headers, status=201
    ).json
    _, member = v2.member(headers, organization, role="member")
    api.get(rules, headers=member)
    api.post(rules, {"ip_pool": pool["uuid"], "to_text": "b.test"}, headers=member, status=403)
    api.delete(f"/api/v2/ip-rules/{rule['uuid']}", headers=member, status=403)
    _, stranger = data.auth()
    api.get(rules, headers=stranger, status=404)
    api.get(f"/api/v2/ip-rules/{rule['uuid']}", headers=stranger, status=404)
